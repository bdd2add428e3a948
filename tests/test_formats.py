"""Every Keras config format, read correctly.

Each format has a fixture in ``tests/fixtures/formats`` (see the README there). Where Keras
can load a fixture, the expected figures come from loading it with Keras at test time;
Keras 1 files cannot be loaded by any installed Keras, so their figures are worked out by hand.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from pytest_kerasparams.analysis import analyze_text
from pytest_kerasparams.graph import read_model
from pytest_kerasparams.problems import InputError
from tests.keras_oracle import FLAVORS, engine_rows, keras_module, keras_rows

FIXTURES = Path(__file__).parent / "fixtures" / "formats"

LOADABLE = {
    # fixture: (the Keras that loads it, the flavor our reader must detect)
    "keras2_1_sequential.json": ("tf_keras", "keras2"),
    "keras2_2_4_functional.json": ("tf_keras", "keras2"),
    "tf_keras_2_4_dict_outputs.json": ("tf_keras", "keras2"),
    "tf_keras_2_15_shared_nested.json": ("tf_keras", "tf-keras"),
    "keras3_shared_nested.json": ("keras3", "keras3"),
    "keras3_0_string_dtypes.json": ("keras3", "keras3"),
    "tfjs_converted.json": ("tf_keras", "tfjs"),
    "tfjs_js_saved.json": ("tf_keras", "tfjs"),
    "tfjs_teachable_machine.json": ("tf_keras", "tfjs"),
}


def _model_config(data: dict) -> dict:
    """What Keras's ``model_from_json`` takes: the config inside a TF.js wrapper, if any."""
    topology = data.get("modelTopology", data)
    return topology.get("model_config", topology)


def _output_shapes(model) -> list[tuple[int | None, ...]]:
    return [tuple(None if d is None else int(d) for d in t.shape) for t in model.outputs]


def _assert_rows_agree(text: str, model, flavor: str):
    expected = keras_rows(model, flavor)
    actual, analysis = engine_rows(text)
    assert [r["name"] for r in actual] == [r["name"] for r in expected]
    for got, want in zip(actual, expected):
        assert got == want, f"layer {want['name']}: engine {got} != keras {want}"
    assert analysis.report.total == model.count_params()
    assert list(analysis.report.output_shapes) == _output_shapes(model)
    return analysis


def test_every_fixture_is_covered():
    assert {p.name for p in FIXTURES.glob("*.json")} == set(LOADABLE) | {"keras1_sequential.json"}


@pytest.mark.parametrize("name", sorted(LOADABLE))
def test_fixture_agrees_with_keras_loading_it(name):
    loader, detected = LOADABLE[name]
    keras = keras_module(loader)
    # Keras names unnamed models from a per-process counter; start it afresh as a new process would.
    keras.backend.clear_session()
    text = (FIXTURES / name).read_text(encoding="utf-8")
    model = keras.models.model_from_json(json.dumps(_model_config(json.loads(text))))
    analysis = _assert_rows_agree(text, model, loader)
    assert analysis.model.flavor == detected


def _layers(config: dict) -> list:
    inner = config["config"]
    return inner if isinstance(inner, list) else inner["layers"]


def test_fixtures_exercise_their_format():
    """Guard the fixtures themselves: each keeps the trait that makes its format distinct."""
    def load(name: str) -> dict:
        return json.loads((FIXTURES / name).read_text(encoding="utf-8"))

    old = load("keras2_1_sequential.json")
    assert isinstance(old["config"], list) and "batch_input_shape" in old["config"][0]["config"]
    assert any(layer["class_name"] == "Sequential" and isinstance(layer["config"], list) for layer in old["config"])
    functional = load("keras2_2_4_functional.json")["config"]
    assert isinstance(functional["layers"][2]["inbound_nodes"][0][0], list)
    assert ["encoder", 2, 0] in functional["output_layers"]
    assert isinstance(load("tf_keras_2_4_dict_outputs.json")["config"]["output_layers"], dict)
    assert all({"module", "registered_name", "build_config"} <= set(layer)
               for layer in _layers(load("tf_keras_2_15_shared_nested.json"))[2:])
    keras3 = load("keras3_shared_nested.json")
    nested = [layer for layer in _layers(keras3) if layer["class_name"] == "Functional"][0]
    assert nested["config"]["input_layers"] == ["inner_in", 0, 0]
    assert isinstance(_layers(keras3)[2]["inbound_nodes"][0], dict)
    assert "batch_shape" in _layers(keras3)[0]["config"]
    shared = [layer for layer in _layers(keras3) if layer["name"] == "shared"][0]
    assert shared["config"]["dtype"]["class_name"] == "DTypePolicy"
    assert "DTypePolicy" not in (FIXTURES / "keras3_0_string_dtypes.json").read_text(encoding="utf-8")
    converted = load("tfjs_converted.json")
    assert "model_config" in converted["modelTopology"] and converted["weightsManifest"]
    assert load("tfjs_js_saved.json")["modelTopology"]["class_name"] == "Sequential"


def test_keras1_sequential_by_hand():
    """Keras 1.2.2 (nb_filter, border_mode, output_dim, dim_ordering "tf"); no installed Keras reads it.

    conv 5x5x1 -> 6 filters: 5*5*1*6 + 6 = 156, 28 - 5 + 1 = 24; pool 2: 12; flatten 12*12*6 = 864;
    dense 864 -> 10: 864*10 + 10 = 8650.
    """
    text = (FIXTURES / "keras1_sequential.json").read_text(encoding="utf-8")
    analysis = analyze_text(text, "keras1.json")
    assert analysis.model.flavor == "keras1"
    rows = [(r.name, r.summary_output(), r.params) for r in analysis.report.rows]
    assert rows == [
        ("convolution2d_1", (None, 24, 24, 6), 156),
        ("maxpooling2d_1", (None, 12, 12, 6), 0),
        ("flatten_1", (None, 864), 0),
        ("dense_1", (None, 10), 8650),
    ]
    assert analysis.report.total == 8806


def _small_functional(keras):
    layers = keras.layers
    inputs = keras.Input((10, 3), name="signal")
    x = layers.Conv1D(4, 3, name="conv")(inputs)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.LSTM(5, name="lstm")(x)
    return keras.Model(inputs, layers.Dense(2, name="out")(x), name="small")


def _small_sequential(keras):
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, name="d1"),
                             keras.layers.Dropout(0.1, name="drop"), keras.layers.Dense(1, name="d2")],
                            name="small_seq")


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("build", [_small_functional, _small_sequential], ids=["functional", "sequential"])
def test_keras_archive_config_json(tmp_path, build, flavor):
    """A ``.keras`` archive (written by keras.saving) holds config.json: read it as Keras wrote it."""
    keras = keras_module(flavor)
    model = build(keras)
    archive = tmp_path / "model.keras"
    keras.saving.save_model(model, str(archive))
    with zipfile.ZipFile(archive) as zipped:
        text = zipped.read("config.json").decode("utf-8")
    config = json.loads(text)
    assert {"module", "class_name", "config", "build_config"} <= set(config)
    assert "keras_version" not in config  # so the era must be told from the layers
    analysis = _assert_rows_agree(text, model, flavor)
    assert analysis.model.flavor == ("keras3" if flavor == "keras3" else "tf-keras")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_model_to_json_single_input_is_flat_in_keras3(flavor):
    """Keras 3 writes a lone input as ``[name, 0, 0]``; tf-keras as ``[[name, 0, 0]]``: both read."""
    keras = keras_module(flavor)
    model = _small_functional(keras)
    text = model.to_json()
    inputs = json.loads(text)["config"]["input_layers"]
    assert (inputs == ["signal", 0, 0]) == (flavor == "keras3")
    assert [ref.layer for ref in read_model(json.loads(text)).inputs] == ["signal"]
    _assert_rows_agree(text, model, flavor)


def test_tfjs_converted_wrapper_matches_its_bare_config():
    """The TF.js wrapper changes nothing: same figures as the bare config inside it."""
    text = (FIXTURES / "tfjs_converted.json").read_text(encoding="utf-8")
    wrapped = analyze_text(text, "model.json").report
    bare = analyze_text(json.dumps(_model_config(json.loads(text))), "bare.json").report
    assert [(r.name, r.output_shapes, r.params) for r in wrapped.rows] == \
        [(r.name, r.output_shapes, r.params) for r in bare.rows]


def test_tf_keras_op_layer_nodes():
    """tf.keras writes a TFOpLambda's lone input unwrapped, with tensors among its kwargs."""
    tf_keras = keras_module("tf_keras")
    inputs = tf_keras.Input((4,), name="x")
    dense = tf_keras.layers.Dense(4, name="dense")(inputs)
    model = tf_keras.Model(inputs, [dense + inputs, dense * 2.0])
    config = json.loads(model.to_json())
    add = [layer for layer in config["config"]["layers"] if layer["class_name"] == "TFOpLambda"][0]
    assert add["inbound_nodes"][0][0] == "dense"
    spec = read_model(config).layer(add["name"])
    assert spec is not None
    assert [(ref.layer, ref.node, ref.tensor) for ref in spec.calls[0].inputs] == [("dense", 0, 0), ("x", 0, 0)]
    assert spec.calls[0].input_names == ("inputs", "y")


def test_keras1_layer_without_rule_says_keras1():
    config = {"class_name": "Model", "keras_version": "1.2.2", "config": {
        "name": "model_1",
        "layers": [
            {"name": "a", "class_name": "InputLayer", "inbound_nodes": [],
             "config": {"name": "a", "batch_input_shape": [None, 3], "input_dtype": "float32"}},
            {"name": "b", "class_name": "InputLayer", "inbound_nodes": [],
             "config": {"name": "b", "batch_input_shape": [None, 3], "input_dtype": "float32"}},
            {"name": "merge_1", "class_name": "Merge", "inbound_nodes": [[["a", 0, 0], ["b", 0, 0]]],
             "config": {"name": "merge_1", "mode": "concat", "concat_axis": -1}}],
        "input_layers": [["a", 0, 0], ["b", 0, 0]], "output_layers": [["merge_1", 0, 0]]}}
    try:
        analysis = analyze_text(json.dumps(config), "k1.json")
    except InputError as error:
        assert error.problem.kind == "no-rule"
        assert error.problem.message.startswith("no rule for layer class Merge in this Keras 1 file")
    else:  # a Merge rule has landed: Keras 1 concatenates (None, 3) and (None, 3)
        assert analysis.report.output_shapes == ((None, 6),)
