"""TF.js layers models: weightsManifest entries against the recomputed variables.

Manifests are made the way the TF.js converter makes them from a Keras 2
model: one entry per ``model.weights`` variable, named by its Keras name
without ``:0``, in shuffled order (the order is not guaranteed in real files).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from pytest_kerasparams.analysis import analyze_file
from pytest_kerasparams.check import check_model_file
from pytest_kerasparams.sources.manifest import read_manifest
from tests.keras_oracle import keras_module
from tests.summary_helpers import conv_model, functional_model, sequential_model

BUILDS = {"sequential": sequential_model, "functional": functional_model, "conv": conv_model}


def _manifest(model: Any, rename: Any = None, seed: int = 0) -> list[dict[str, Any]]:
    weights = [{"name": w.name.split(":")[0], "shape": [int(d) for d in w.shape], "dtype": "float32"}
               for w in model.weights]
    if rename is not None:
        for weight in weights:
            weight["name"] = rename(weight["name"])
    random.Random(seed).shuffle(weights)
    return [{"paths": ["group1-shard1of1.bin"], "weights": weights}]


def _write(tmp_path: Path, model: Any, manifest: Any) -> Path:
    document = {"format": "layers-model", "generatedBy": "keras v2.21.0", "convertedBy": "TensorFlow.js Converter",
                "modelTopology": {"keras_version": "2.21.0", "backend": "tensorflow",
                                  "model_config": json.loads(model.to_json())},
                "weightsManifest": manifest}
    path = tmp_path / "model.json"
    path.write_text(json.dumps(document, indent=2))
    return path


def _problems(path: Path) -> list[Any]:
    check = check_model_file(path)
    assert check.analysis is not None, [p.render() for p in check.problems]
    return check.problems


@pytest.mark.parametrize("build", sorted(BUILDS))
def test_converter_manifest_agrees(tmp_path: Path, build: str) -> None:
    keras = keras_module("tf_keras")
    model = BUILDS[build](keras)
    assert [p.render() for p in _problems(_write(tmp_path, model, _manifest(model)))] == []


def test_nested_model_weights_without_prefix(tmp_path: Path) -> None:
    keras = keras_module("tf_keras")
    model = functional_model(keras)
    manifest = _manifest(model)
    names = [w["name"] for w in manifest[0]["weights"]]
    inner = model.get_layer("inner").layers[-1].name
    assert f"{inner}/kernel" in names  # the nested model's name is not in the weight name
    assert _problems(_write(tmp_path, model, manifest)) == []


def test_keras22_style_names_without_cell_segment(tmp_path: Path) -> None:
    keras = keras_module("tf_keras")
    model = keras.Sequential([keras.Input((5, 3)),
                              keras.layers.Bidirectional(keras.layers.GRU(4, reset_after=False, return_sequences=True,
                                                                            name="gru_1"),
                                                         name="bidirectional_1"),
                              keras.layers.TimeDistributed(keras.layers.Dense(2), name="time_distributed")])
    manifest = _manifest(model, rename=lambda name: name.replace("/gru_cell", ""))
    names = {w["name"] for w in manifest[0]["weights"]}
    assert "bidirectional_1/forward_gru_1/kernel" in names
    assert "time_distributed/kernel" in names
    assert _problems(_write(tmp_path, model, manifest)) == []


def test_shape_mismatch_names_variable_gate_and_line(tmp_path: Path) -> None:
    keras = keras_module("tf_keras")
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(4, name="lstm")], name="m")
    manifest = _manifest(model)
    entry = next(w for w in manifest[0]["weights"] if w["name"] == "lstm/lstm_cell/kernel")
    entry["shape"] = [3, 12]
    path = _write(tmp_path, model, manifest)
    (problem,) = _problems(path)
    assert problem.kind == "manifest" and problem.layer == "lstm"
    assert problem.message == "weight lstm/lstm_cell/kernel: stored shape (3, 12), but the config gives (3, 16)"
    assert problem.line is not None
    assert '"lstm/lstm_cell/kernel"' in "".join(path.read_text().splitlines()[problem.line - 1:problem.line + 1])
    assert "output-gate columns of lstm's kernel are missing" in problem.explanation


def test_missing_and_unknown_entries(tmp_path: Path) -> None:
    keras = keras_module("tf_keras")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="dense")], name="m")
    manifest = _manifest(model)
    manifest[0]["weights"] = [w for w in manifest[0]["weights"] if not w["name"].endswith("bias")]
    manifest[0]["weights"].append({"name": "ghost/kernel", "shape": [1, 1], "dtype": "float32"})
    manifest[0]["weights"].append({"name": "dense/gamma", "shape": [3], "dtype": "float32"})
    messages = sorted(p.message for p in _problems(_write(tmp_path, model, manifest)))
    assert messages == ["weight dense/gamma (3,) matches no variable of layer dense (Dense)",
                        "weight ghost/kernel (1, 1) names no layer of the model",
                        "weightsManifest has no weight for dense's bias (3,)"]


@pytest.mark.parametrize("shape", [[3, "4"], "3x4", [3.5], None, [True, 2], [-1, 4]])
def test_shape_that_is_not_an_integer_list(tmp_path: Path, shape: Any) -> None:
    keras = keras_module("tf_keras")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="dense")], name="m")
    manifest = _manifest(model)
    kernel = next(w for w in manifest[0]["weights"] if w["name"] == "dense/kernel")
    kernel["shape"] = shape
    path = _write(tmp_path, model, manifest)
    problems = check_model_file(path).problems  # the schema may catch it first: either way, located
    assert problems and all(p.line is not None and p.file == str(path).replace("\\", "/") for p in problems)
    analysis = analyze_file(path, validate_schema=False)
    _, bad = read_manifest(analysis)
    assert len(bad) == 1 and "weight dense/kernel: shape" in bad[0].message
    assert "not a list of non-negative integers" in bad[0].message
    assert bad[0].line is not None and "shape" in path.read_text().splitlines()[bad[0].line - 1]


@pytest.mark.parametrize("manifest", [{"weights": []}, [{"paths": []}], [["x"]], [{"weights": [{"shape": [1]}]}]])
def test_malformed_manifest_is_a_problem_not_a_traceback(tmp_path: Path, manifest: Any) -> None:
    keras = keras_module("tf_keras")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="dense")], name="m")
    check = check_model_file(_write(tmp_path, model, manifest))
    assert check.problems and all(p.kind in ("manifest", "schema") for p in check.problems), \
        [p.render() for p in check.problems]
