"""Property-based: mutated configs of every supported layer never crash the checker (issue 9).

Small valid models are built by hand (one per layer family, plus functional,
Keras 3, Keras 1, TF.js and nested-model layouts), then mutated: values turned
into wrong types, negatives, zeros, huge numbers and nulls; keys deleted;
structure swapped; class names exchanged; the text itself cut and corrupted.
Whatever comes out, :func:`check_model_file` must return problems (or none),
each a :class:`Problem` with a message and no traceback, and never raise.

The mutation machinery is shared with ``benchmarks/fuzz_mutations.py``, which
runs it 10,000+ times with a seed.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pytest_kerasparams.check import ModelCheck, check_model_file
from pytest_kerasparams.problems import Problem

REPO = Path(__file__).resolve().parents[1]

Json = Any
Path_ = tuple["str | int", ...]

# (class_name, config, batch input shape): one small valid layer of every family.
LAYERS: list[tuple[str, dict[str, Any], list[int | None]]] = [
    ("Dense", {"units": 4}, [None, 3]),
    ("Dense", {"units": 2, "use_bias": False, "activation": "relu"}, [None, 5, 3]),
    ("EinsumDense", {"equation": "ab,bc->ac", "output_shape": [4], "bias_axes": "c"}, [None, 3]),
    ("Embedding", {"input_dim": 10, "output_dim": 4}, [None, 5]),
    ("Activation", {"activation": "relu"}, [None, 3]),
    ("Dropout", {"rate": 0.5}, [None, 3]),
    ("Flatten", {}, [None, 2, 3]),
    ("Reshape", {"target_shape": [3, 2]}, [None, 6]),
    ("Permute", {"dims": [2, 1]}, [None, 2, 3]),
    ("RepeatVector", {"n": 3}, [None, 4]),
    ("Lambda", {"output_shape": [4], "function": ["4wEAAAAAAAAA", None, None], "function_type": "lambda"},
     [None, 4]),
    ("Masking", {"mask_value": 0.0}, [None, 3, 2]),
    ("LeakyReLU", {"alpha": 0.3}, [None, 3]),
    ("PReLU", {"shared_axes": None}, [None, 3]),
    ("ELU", {}, [None, 3]),
    ("ReLU", {}, [None, 3]),
    ("Softmax", {"axis": -1}, [None, 3]),
    ("Conv1D", {"filters": 2, "kernel_size": 3, "dilation_rate": 1}, [None, 8, 3]),
    ("Conv2D", {"filters": 2, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same", "groups": 1},
     [None, 8, 8, 3]),
    ("Conv3D", {"filters": 2, "kernel_size": 2}, [None, 4, 4, 4, 1]),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": None}, [None, 4, 4, 3]),
    ("Conv1DTranspose", {"filters": 2, "kernel_size": 3}, [None, 4, 3]),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 2}, [None, 3, 3, 3, 1]),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 3, "depth_multiplier": 1}, [None, 8, 8, 3]),
    ("SeparableConv1D", {"filters": 4, "kernel_size": 3}, [None, 8, 3]),
    ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2}, [None, 8, 8, 3]),
    ("DepthwiseConv1D", {"kernel_size": 3}, [None, 8, 3]),
    ("LocallyConnected1D", {"filters": 2, "kernel_size": 3}, [None, 8, 3]),
    ("LocallyConnected2D", {"filters": 2, "kernel_size": 3}, [None, 6, 6, 3]),
    ("MaxPooling1D", {"pool_size": 2}, [None, 8, 3]),
    ("MaxPooling2D", {"pool_size": [2, 2], "strides": None, "padding": "valid"}, [None, 8, 8, 3]),
    ("AveragePooling3D", {"pool_size": 2}, [None, 4, 4, 4, 1]),
    ("GlobalAveragePooling2D", {"keepdims": False}, [None, 4, 4, 3]),
    ("GlobalMaxPooling1D", {}, [None, 4, 3]),
    ("AdaptiveAveragePooling2D", {"output_size": [2, 2]}, [None, 8, 8, 3]),
    ("UpSampling2D", {"size": [2, 2]}, [None, 4, 4, 3]),
    ("UpSampling1D", {"size": 2}, [None, 4, 3]),
    ("ZeroPadding2D", {"padding": [[1, 1], [2, 2]]}, [None, 4, 4, 3]),
    ("Cropping1D", {"cropping": [1, 1]}, [None, 6, 3]),
    ("Cropping2D", {"cropping": [[1, 1], [1, 1]]}, [None, 6, 6, 3]),
    ("SimpleRNN", {"units": 4}, [None, 5, 3]),
    ("LSTM", {"units": 4, "return_sequences": True, "return_state": False}, [None, 5, 3]),
    ("GRU", {"units": 4, "reset_after": True}, [None, 5, 3]),
    ("ConvLSTM2D", {"filters": 2, "kernel_size": 3}, [None, 3, 6, 6, 1]),
    ("ConvLSTM1D", {"filters": 2, "kernel_size": 3}, [None, 3, 6, 1]),
    ("Bidirectional", {"layer": {"class_name": "LSTM", "config": {"name": "lstm", "units": 3, "go_backwards": False}},
                       "merge_mode": "concat"}, [None, 5, 3]),
    ("TimeDistributed", {"layer": {"class_name": "Dense", "config": {"name": "inner", "units": 3}}}, [None, 5, 4]),
    ("RNN", {"cell": {"class_name": "LSTMCell", "config": {"name": "cell", "units": 3}}}, [None, 5, 2]),
    ("BatchNormalization", {"axis": -1, "center": True, "scale": True}, [None, 4, 3]),
    ("LayerNormalization", {"axis": -1}, [None, 3]),
    ("GroupNormalization", {"groups": 2}, [None, 4, 4]),
    ("UnitNormalization", {}, [None, 3]),
    ("RMSNormalization", {}, [None, 3]),
    ("SpectralNormalization", {"layer": {"class_name": "Dense", "config": {"name": "inner", "units": 3}}},
     [None, 4]),
    ("GaussianNoise", {"stddev": 0.1}, [None, 3]),
    ("SpatialDropout2D", {"rate": 0.1}, [None, 4, 4, 3]),
    ("ActivityRegularization", {}, [None, 3]),
    ("Identity", {}, [None, 3]),
    ("TFOpLambda", {"function": "nn.relu"}, [None, 3]),
]


def sequential(class_name: str, config: dict[str, Any], shape: list[int | None]) -> Json:
    return {"class_name": "Sequential", "config": {"name": "seq", "layers": [
        {"class_name": "InputLayer", "config": {"name": "input", "batch_input_shape": shape}},
        {"class_name": class_name, "config": {"name": "layer", **config}}]}}


def _merge_functional(merge: str, extra: dict[str, Any]) -> Json:
    """tf.keras layout: list nodes ``[[name, node, tensor, kwargs], ...]``."""
    def dense(name: str) -> Json:
        return {"class_name": "Dense", "name": name, "config": {"name": name, "units": 4},
                "inbound_nodes": [[["in", 0, 0, {}]]]}
    return {"class_name": "Functional", "keras_version": "2.15.0", "backend": "tensorflow", "config": {
        "name": "f", "layers": [
            {"class_name": "InputLayer", "name": "in", "config": {"name": "in", "batch_input_shape": [None, 3]},
             "inbound_nodes": []},
            dense("a"), dense("b"),
            {"class_name": merge, "name": "m", "config": {"name": "m", **extra},
             "inbound_nodes": [[["a", 0, 0, {}], ["b", 0, 0, {}]]]}],
        "input_layers": [["in", 0, 0]], "output_layers": [["m", 0, 0]]}}


def _keras3_functional() -> Json:
    """Keras 3 layout: dict nodes with ``__keras_tensor__`` references, a shared layer and two outputs."""
    def tensor(layer: str, node: int = 0) -> Json:
        return {"class_name": "__keras_tensor__", "config": {"shape": [None, 4], "dtype": "float32",
                                                             "keras_history": [layer, node, 0]}}
    return {"module": "keras.src.models.functional", "class_name": "Functional", "registered_name": "Functional",
            "config": {"name": "k3", "trainable": True, "layers": [
                {"module": "keras.layers", "class_name": "InputLayer", "name": "in",
                 "config": {"batch_shape": [None, 4], "dtype": "float32", "name": "in"}, "inbound_nodes": []},
                {"module": "keras.layers", "class_name": "Dense", "name": "shared",
                 "config": {"name": "shared", "units": 4, "activation": "relu"},
                 "build_config": {"input_shape": [None, 4]},
                 "inbound_nodes": [{"args": [tensor("in")], "kwargs": {}},
                                   {"args": [tensor("shared", 0)], "kwargs": {"training": False}}]},
                {"module": "keras.layers", "class_name": "Concatenate", "name": "cat",
                 "config": {"name": "cat", "axis": -1},
                 "inbound_nodes": [{"args": [[tensor("shared", 0), tensor("shared", 1)]], "kwargs": {}}]}],
                "input_layers": [["in", 0, 0]], "output_layers": [["cat", 0, 0], ["shared", 1, 0]]}}


def _nested() -> Json:
    inner = sequential("Dense", {"units": 3}, [None, 4])
    inner["config"]["name"] = "inner"
    return {"class_name": "Sequential", "config": {"name": "outer", "layers": [
        {"class_name": "InputLayer", "config": {"name": "x", "batch_input_shape": [None, 4]}},
        inner, {"class_name": "Dense", "config": {"name": "head", "units": 2}}]}}


def _keras1() -> Json:
    return {"class_name": "Sequential", "keras_version": "1.2.2", "config": [
        {"class_name": "Dense", "config": {"name": "d1", "output_dim": 4, "input_dim": 3, "batch_input_shape":
                                           [None, 3]}},
        {"class_name": "Dense", "config": {"name": "d2", "output_dim": 2}}]}


def _tfjs() -> Json:
    return {"format": "layers-model", "generatedBy": "keras v2.15.0", "convertedBy": "TensorFlow.js Converter",
            "modelTopology": {"keras_version": "2.15.0", "backend": "tensorflow",
                              "model_config": sequential("Dense", {"units": 4}, [None, 3])},
            "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": [
                {"name": "layer/kernel", "shape": [3, 4], "dtype": "float32"},
                {"name": "layer/bias", "shape": [4], "dtype": "float32"}]}]}


FUNCTIONAL: dict[str, Json] = {
    **{f"functional-{m}": _merge_functional(m, extra) for m, extra in (
        ("Add", {}), ("Subtract", {}), ("Multiply", {}), ("Average", {}), ("Maximum", {}), ("Minimum", {}),
        ("Concatenate", {"axis": -1}), ("Dot", {"axes": 1}))},
    "keras3-functional": _keras3_functional(),
    "nested-sequential": _nested(),
    "keras1-list-config": _keras1(),
    "tfjs-layers-model": _tfjs(),
}

BASES: dict[str, Json] = {f"{name}-{i}": sequential(name, config, shape)
                          for i, (name, config, shape) in enumerate(LAYERS)} | FUNCTIONAL


def rule_names() -> list[str]:
    from pytest_kerasparams.registry import default_rule_table

    return sorted(default_rule_table().rules)


# --------------------------------------------------------------------------- mutations

ODD_VALUES: list[Json] = [
    None, True, False, "", "x", "None", "same", "relu", "channels_first", 0, 1, -1, 2, 3, -7, 10**6, -(10**6),
    2**31, 2**64, 10**100, -(10**100), 0.0, 0.5, -0.5, 1.5, 2.0, 1e308, -1e308, 1e-300, [], [None], [0], [-1],
    [1, 2], [1, 2, 3, 4, 5, 6], [[1, 2], [3, 4]], [[]], {}, {"a": 1}, {"class_name": "Dense", "config": {}},
    {"class_name": "__keras_tensor__", "config": {"keras_history": ["layer", 0, 0]}}, ["input", 0, 0],
    ["layer", 5, 9], "\u0000", "\u202e\u001b[31m", "x" * 300,
]


def _paths(value: Json, prefix: Path_ = ()) -> Iterator[Path_]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, prefix + (index,))


def _get(value: Json, path: Path_) -> Json:
    for part in path:
        value = value[part]
    return value


def _set(root: Json, path: Path_, new: Json) -> Json:
    new = copy.deepcopy(new)  # never alias ODD_VALUES or another part of the tree (no shared state, no cycles)
    if not path:
        return new
    _get(root, path[:-1])[path[-1]] = new
    return root


def _tweak_number(rnd: random.Random, value: Json) -> Json:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return rnd.choice(ODD_VALUES)
    return rnd.choice([value + 1, value - 1, -value, 0, value * 1000, value * 10**30, float(value), str(value),
                       [value], value / 3 if value else 0.5])


def _swap_structure(rnd: random.Random, value: Json) -> Json:
    if isinstance(value, dict):
        return rnd.choice([list(value.values()), list(value.keys()), [value], {}])
    if isinstance(value, list):
        return rnd.choice([{str(i): v for i, v in enumerate(value)}, value[::-1], value[:1], value[1:],
                           value + value, [value], value[0] if value else None])
    return rnd.choice([[value], {"value": value}])


def mutate_once(root: Json, rnd: random.Random, names: list[str]) -> Json:
    paths = list(_paths(root))
    path = rnd.choice(paths[1:] or paths)
    value = _get(root, path)
    parent = _get(root, path[:-1]) if path else None
    kind = rnd.randrange(8)
    if kind == 0:
        return _set(root, path, rnd.choice(ODD_VALUES))
    if kind == 1:
        return _set(root, path, _tweak_number(rnd, value))
    if kind == 2 and parent is not None:  # delete
        del parent[path[-1]]
        return root
    if kind == 3:
        return _set(root, path, _swap_structure(rnd, value))
    if kind == 4:  # another layer class on the same config
        classes = [p for p in paths if p and p[-1] == "class_name"]
        if classes:
            return _set(root, rnd.choice(classes), rnd.choice(names))
    if kind == 5 and isinstance(parent, list) and len(parent) > 0:  # duplicate a sibling (same names twice)
        parent.insert(rnd.randrange(len(parent) + 1), copy.deepcopy(rnd.choice(parent)))
        return root
    if kind == 6:  # a string from elsewhere in the document (names become dangling references)
        strings = [_get(root, p) for p in paths if isinstance(_get(root, p), str)]
        if strings:
            return _set(root, path, rnd.choice(strings) + rnd.choice(["", "_", "_missing"]))
    if kind == 7 and isinstance(parent, dict):  # an extra key Keras does not know
        parent[rnd.choice(["extra", "dtype", "trainable", "batch_shape", "input_shape", "data_format",
                           "padding", "axis", "axes", "inbound_nodes", "layers"])] = copy.deepcopy(
            rnd.choice(ODD_VALUES))
        return root
    return _set(root, path, rnd.choice(ODD_VALUES))


def mutate(base: Json, rnd: random.Random, names: list[str], count: int) -> Json:
    root = copy.deepcopy(base)
    for _ in range(count):
        root = mutate_once(root, rnd, names)
    return root


def mutate_text(text: str, rnd: random.Random) -> str:
    """Corrupt the JSON text itself: cut it, splice junk, flip characters."""
    cut = rnd.randrange(len(text) + 1)
    junk = rnd.choice(["", "{", "}", "[", "]", ",", ":", '"', "\\", "NaN", "-Infinity", "1e999", "\ud800",
                       "\\ud800", "\u00e9", "\x00", "\n", "0" * 1200, '"a": 1, "a": 2', "//", "null"])
    kind = rnd.randrange(4)
    if kind == 0:
        return text[:cut]
    if kind == 1:
        return text[:cut] + junk + text[cut:]
    if kind == 2:
        return text[:cut] + junk + text[cut + rnd.randrange(1, 20):]
    return text.replace(rnd.choice(['"', ":", ",", "[", "]", "{", "}"]), junk, rnd.randrange(1, 4))


# --------------------------------------------------------------------------- the property

def internal_errors(check: ModelCheck) -> list[str]:
    """What in one outcome is a crash rather than a finding: empty messages, tracebacks, rule bugs."""
    errors = []
    for problem in check.problems:
        if not isinstance(problem, Problem):
            errors.append(f"not a Problem: {problem!r}")
            continue
        rendered = problem.render()
        json.dumps(problem.as_json())
        if not problem.message.strip():
            errors.append(f"empty message: {problem!r}")
        if "Traceback" in rendered:
            errors.append(f"traceback: {rendered}")
        if problem.kind == "plugin" and ("a built-in rule" in problem.message
                                         or "'kerasparams.builtin'" in problem.message):
            errors.append(f"built-in rule crashed: {problem.message}")
    if check.analysis is not None:
        from pytest_kerasparams.cli import _summary_json, _summary_text
        from pytest_kerasparams.explain import explain_model

        explain_model(check.analysis.report)
        _summary_text(check.analysis)
        json.dumps(_summary_json(check.path, check.analysis))
    return errors


def run_check(path: Path, data: Json | str | bytes) -> tuple[ModelCheck | None, list[str]]:
    """Write one mutated input and check it; an escaping exception is itself an internal error."""
    if isinstance(data, bytes):
        path.write_bytes(data)
    elif isinstance(data, str):
        path.write_bytes(data.encode("utf-8", "surrogatepass"))
    else:
        path.write_text(json.dumps(data), encoding="utf-8")
    try:
        check = check_model_file(path)
        errors = internal_errors(check)
    except BaseException as error:  # noqa: B036 - the point is to catch everything, even RecursionError
        if isinstance(error, KeyboardInterrupt):
            raise
        return None, [f"check_model_file: {type(error).__name__} escaped at {_where(error)}: {error}"]
    return check, errors


def _where(error: BaseException) -> str:
    """The innermost frame of the package where an exception escaped: the place to fix."""
    import traceback

    frames = [f for f in traceback.extract_tb(error.__traceback__) if "pytest_kerasparams" in f.filename]
    last = frames[-1] if frames else None
    return f"{Path(last.filename).name}:{last.lineno} ({last.name})" if last else "?"


def run_without_schema(path: Path) -> list[str]:
    """The file just written, analysed with the schema switched off: wrong types the schema would stop
    first then reach the graph reader and every rule, which must refuse them themselves (RuleError)."""
    from pytest_kerasparams.analysis import analyze_document
    from pytest_kerasparams.jsonfile import read_json
    from pytest_kerasparams.problems import InputError

    try:
        analysis = analyze_document(read_json(path), validate_schema=False)
    except InputError as error:
        return internal_errors(ModelCheck(str(path), problems=[error.problem]))
    except BaseException as error:  # noqa: B036
        if isinstance(error, KeyboardInterrupt):
            raise
        return [f"analyze_document(validate_schema=False): {type(error).__name__} escaped at {_where(error)}: "
                f"{error}"]
    return internal_errors(ModelCheck(str(path), analysis=analysis))


FUZZ = settings(max_examples=200, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mutations") / "model.json"


@pytest.mark.parametrize("name", sorted(BASES))
def test_bases_are_valid(name: str, model_path: Path) -> None:
    """The corpus itself checks clean: mutations start from real, computable models."""
    check, errors = run_check(model_path, BASES[name])
    assert check is not None and not errors
    assert check.problems == [] and check.analysis is not None, [p.render() for p in check.problems]


def _property(model_path: Path, data: Json | str) -> None:
    _, errors = run_check(model_path, data)
    assert not errors, errors


GRAPH_UNHASHABLE = ("graph.py (formats helper): `class_name in MODEL_CLASSES` raises TypeError when class_name "
                    "is a list or object (graph.py _read_model_object and _has_dict_nodes); reachable with "
                    "validate_schema=False. Fix: test isinstance(class_name, str) first")


@settings(FUZZ, phases=[Phase.explicit, Phase.reuse, Phase.generate])  # no shrinking while it is known to fail
@given(base=st.sampled_from(sorted(BASES)), rnd=st.randoms(use_true_random=False), count=st.integers(1, 3))
def test_mutations_without_schema_never_crash(model_path: Path, base: str, rnd: random.Random,
                                              count: int) -> None:
    """The schema is not the only guard: the graph reader and the rules refuse bad values themselves."""
    run_check(model_path, mutate(BASES[base], rnd, rule_names(), count))
    errors = run_without_schema(model_path)
    assert not errors, errors


def test_einsum_dense_negative_output_shape(model_path: Path) -> None:
    model = sequential("EinsumDense", {"equation": "ab,bc->ac", "output_shape": [-4], "bias_axes": "c"}, [None, 3])
    check, errors = run_check(model_path, model)
    assert not errors and check is not None and check.problems[0].kind == "shape"


def test_wrapper_around_broken_nested_model(model_path: Path) -> None:
    model = sequential("TimeDistributed", {"layer": {"class_name": "Sequential", "config": {"name": "inner"}}},
                       [None, 5, 3])
    run_check(model_path, model)
    assert run_without_schema(model_path) == []


@pytest.mark.parametrize("model", [
    {"class_name": {}, "config": {"name": "m", "layers": []}},
    {"class_name": "Sequential", "config": {"layers": [{"class_name": [], "config": {}}]}},
], ids=["top-level", "layer"])
def test_unhashable_class_name_without_schema(model_path: Path, model: Json) -> None:
    run_check(model_path, model)
    assert run_without_schema(model_path) == []


SEQUENTIAL_NAMES = sorted(name for name in BASES if name not in FUNCTIONAL)


@FUZZ
@given(base=st.sampled_from(SEQUENTIAL_NAMES), rnd=st.randoms(use_true_random=False), count=st.integers(1, 3))
def test_mutated_layer_configs_never_crash(model_path: Path, base: str, rnd: random.Random, count: int) -> None:
    _property(model_path, mutate(BASES[base], rnd, rule_names(), count))


@FUZZ
@given(base=st.sampled_from(sorted(FUNCTIONAL)), rnd=st.randoms(use_true_random=False), count=st.integers(1, 3))
def test_mutated_graphs_never_crash(model_path: Path, base: str, rnd: random.Random, count: int) -> None:
    _property(model_path, mutate(FUNCTIONAL[base], rnd, rule_names(), count))


@FUZZ
@given(base=st.sampled_from(sorted(BASES)), class_name=st.sampled_from(rule_names() + ["Sequential", "Functional",
                                                                                        "Model", "InputLayer"]))
def test_any_rule_on_any_config_never_crashes(model_path: Path, base: str, class_name: str) -> None:
    """Every rule meets every other layer's config (and its input shape)."""
    model = copy.deepcopy(BASES[base])
    config = model["modelTopology"]["model_config"]["config"] if "modelTopology" in model else model["config"]
    layers = config["layers"] if isinstance(config, dict) else config
    layers[-1]["class_name"] = class_name
    _property(model_path, model)


@FUZZ
@given(base=st.sampled_from(sorted(BASES)), rnd=st.randoms(use_true_random=False), indent=st.sampled_from([None, 1]))
def test_corrupted_text_never_crashes(model_path: Path, base: str, rnd: random.Random, indent: int | None) -> None:
    _property(model_path, mutate_text(json.dumps(BASES[base], indent=indent), rnd))


@FUZZ
@given(data=st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                         | st.text(max_size=8),
                         lambda children: st.lists(children, max_size=4)
                         | st.dictionaries(st.sampled_from(["class_name", "config", "layers", "name", "units",
                                                            "inbound_nodes", "input_layers", "output_layers",
                                                            "batch_input_shape", "modelTopology", "model_config",
                                                            "keras_history", "args", "kwargs", "layer"]),
                                           children, max_size=5), max_leaves=30))
def test_arbitrary_json_never_crashes(model_path: Path, data: Json) -> None:
    """Structures that only use Keras's key names, in any arrangement."""
    if isinstance(data, dict):
        data.setdefault("class_name", "Sequential")
        data.setdefault("config", {"layers": []})
    _property(model_path, data)


@pytest.mark.parametrize("raw", [b"\xff\xfe{}", b"{\"class_name\": \"Sequential\", \"config\": \xe9}",
                                 "\ufeff".encode() + b"{}", b"", b"   \n", b"\x00" * 10])
def test_raw_bytes(model_path: Path, raw: bytes) -> None:
    check, errors = run_check(model_path, raw)
    assert not errors and check is not None

