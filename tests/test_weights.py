"""Weight files beside a model: every stored shape against the recomputed variables.

Weight files are written by real Keras (Keras 3 and tf-keras, each of its
layouts); a mismatch is made by saving the weights of one model beside the
config of another.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pytest_kerasparams.check import check_model_file
from pytest_kerasparams.sources import weights as weights_module
from tests.keras_oracle import FLAVORS, keras_module
from tests.summary_helpers import conv_model, functional_model, sequential_model

h5py = pytest.importorskip("h5py")

BUILDS = {"sequential": sequential_model, "functional": functional_model, "conv": conv_model}
KINDS = ("weights.h5", "save_weights.h5", "whole.h5")


def _save(model: Any, folder: Path, kind: str) -> Path:
    """Save in one of Keras's layouts: Keras 3 ``.weights.h5``, Keras 2 weights-only, or a whole model."""
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "weights.h5":
        target = folder / "model.weights.h5"
        model.save_weights(target)
    elif kind == "save_weights.h5":
        target = folder / "model_weights.h5"
        model.save_weights(target)
    else:
        target = folder / "model.h5"
        model.save(target)
    return target


def _write(keras: ModuleType, model: Any, folder: Path) -> Path:
    path = folder / "model.json"
    path.write_text(model.to_json(), encoding="utf-8")
    return path


def _messages(path: Path) -> list[str]:
    check = check_model_file(path)
    assert check.analysis is not None, [p.render() for p in check.problems]
    return [p.render() for p in check.problems]


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("build", sorted(BUILDS))
@pytest.mark.parametrize("kind", KINDS)
def test_weights_written_by_keras_agree(tmp_path: Path, flavor: str, build: str, kind: str) -> None:
    keras = keras_module(flavor)
    if flavor == "keras3" and kind == "save_weights.h5":
        pytest.skip("Keras 3 save_weights only writes .weights.h5")
    model = BUILDS[build](keras)
    _save(model, tmp_path, kind)
    path = _write(keras, model, tmp_path)
    assert _messages(path) == []


@pytest.mark.parametrize("flavor", FLAVORS)
def test_lstm_units_mismatch_names_layer_variable_and_gates(tmp_path: Path, flavor: str) -> None:
    keras = keras_module(flavor)

    def build(units: int) -> Any:
        return keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(units, name="lstm")], name="m")

    _save(build(6), tmp_path, "weights.h5")
    path = _write(keras, build(8), tmp_path)
    check = check_model_file(path)
    kernel = [p for p in check.problems if "kernel is stored as (3, 24)" in p.message]
    assert len(kernel) == 1, [p.render() for p in check.problems]
    problem = kernel[0]
    assert problem.kind == "weights" and problem.layer == "lstm"
    assert problem.file.endswith("model.weights.h5")
    assert "(3, 32)" in problem.message
    assert "each of the 4 gate blocks" in problem.explanation and "forget gate" in problem.explanation


def test_gru_weights_beside_lstm_config_name_the_missing_gate(tmp_path: Path) -> None:
    keras = keras_module("tf_keras")
    gru = keras.Sequential([keras.Input((5, 3)), keras.layers.GRU(4, reset_after=False, name="rnn")])
    lstm = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(4, name="rnn")])
    _save(gru, tmp_path, "whole.h5")
    path = _write(keras, lstm, tmp_path)
    problems = check_model_file(path).problems
    text = "\n".join(p.render() for p in problems)
    assert "the output-gate columns of rnn's kernel are missing" in text, text


@pytest.mark.parametrize("flavor", FLAVORS)
def test_missing_bias_has_a_likely_cause(tmp_path: Path, flavor: str) -> None:
    keras = keras_module(flavor)

    def build(bias: bool) -> Any:
        return keras.Sequential([keras.Input((7,)), keras.layers.Dense(5, use_bias=bias, name="head")])

    _save(build(False), tmp_path, "weights.h5")
    path = _write(keras, build(True), tmp_path)
    (problem,) = check_model_file(path).problems
    assert problem.layer == "head" and "stores 1 variable(s), but the config gives 2" in problem.message
    assert "likely cause: the stored layer has no bias" in problem.explanation


def test_extra_and_missing_layers(tmp_path: Path) -> None:
    keras = keras_module("tf_keras")
    saved = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="a"), keras.layers.Dense(2, name="b")])
    config = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="a"), keras.layers.Dense(2, name="c")])
    _save(saved, tmp_path, "whole.h5")
    path = _write(keras, config, tmp_path)
    messages = [p.message for p in check_model_file(path).problems]
    assert any("stores weights for b, which names no layer" in m for m in messages), messages
    assert any("stores no weights for layer c (Dense)" in m for m in messages), messages


def test_weights_only_file_with_other_names_is_matched_by_position(tmp_path: Path) -> None:
    keras = keras_module("tf_keras")
    saved = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="x1"), keras.layers.Dense(2, name="x2")])
    config = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="a"), keras.layers.Dense(2, name="b")])
    _save(saved, tmp_path, "save_weights.h5")
    assert _messages(_write(keras, config, tmp_path)) == []


def test_only_metadata_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keras = keras_module("keras3")
    model = sequential_model(keras)
    _save(model, tmp_path, "weights.h5")
    _save(model, tmp_path / "whole", "whole.h5")
    (tmp_path / "whole" / "model.json").write_text(model.to_json())

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("tensor data was read")

    monkeypatch.setattr(h5py.Dataset, "__getitem__", refuse)
    monkeypatch.setattr(h5py.Dataset, "read_direct", refuse)
    assert _messages(_write(keras, model, tmp_path)) == []
    assert _messages(tmp_path / "whole" / "model.json") == []


# --- bad input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncated", "garbage", "truncated-header"])
def test_corrupt_weight_file_is_one_problem_naming_the_file(tmp_path: Path, damage: str) -> None:
    keras = keras_module("keras3")
    model = conv_model(keras)
    target = _save(model, tmp_path, "weights.h5")
    if damage == "truncated":
        data = target.read_bytes()
        target.write_bytes(data[: len(data) // 3])
    elif damage == "garbage":
        target.write_bytes(b"this is not hdf5 at all" * 10)
    else:
        target.write_bytes(target.read_bytes()[:100])
    path = _write(keras, model, tmp_path)
    check = check_model_file(path)
    assert len(check.problems) == 1, [p.render() for p in check.problems]
    (problem,) = check.problems
    assert problem.kind == "weights" and problem.file.endswith("model.weights.h5")


def test_weight_name_that_is_a_group_is_a_problem(tmp_path: Path) -> None:
    keras = keras_module("tf_keras")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="dense")])
    with h5py.File(tmp_path / "model.h5", "w") as handle:
        handle.attrs["layer_names"] = [b"dense"]
        group = handle.create_group("dense")
        group.attrs["weight_names"] = [b"dense/kernel:0"]
        group.create_group("dense/kernel:0")
    (problem,) = check_model_file(_write(keras, model, tmp_path)).problems
    assert problem.file.endswith("model.h5") and "not a dataset" in problem.message


def test_hdf5_data_file_that_holds_no_weights_is_skipped_with_a_note(tmp_path: Path) -> None:
    keras = keras_module("keras3")
    model = conv_model(keras)
    with h5py.File(tmp_path / "training_data.h5", "w") as handle:
        handle.create_dataset("images", shape=(4, 28, 28, 3), dtype="f4")
    check = check_model_file(_write(keras, model, tmp_path))
    assert check.problems == []
    assert check.notes == [f"{check.path.rsplit('/', 1)[0]}/training_data.h5 not checked: it holds no Keras "
                           "weights (no layer_names attribute and no layers group)"]


def test_without_h5py_the_check_is_skipped_with_a_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keras = keras_module("keras3")
    model = conv_model(keras)
    _save(model, tmp_path, "weights.h5")
    path = _write(keras, model, tmp_path)
    monkeypatch.setattr(weights_module, "h5py_available", lambda: False)
    check = check_model_file(path)
    assert check.problems == []
    assert check.notes and "h5py is not installed" in check.notes[0] and "model.weights.h5" in check.notes[0]


def test_weight_files_named_after_the_model_are_preferred(tmp_path: Path) -> None:
    for name in ("encoder.json", "encoder.h5", "encoder.weights.h5", "decoder.h5", "other_architecture.json",
                 "other.hdf5"):
        (tmp_path / name).write_text("")
    found = weights_module.weight_files_beside(tmp_path / "encoder.json")
    assert [p.name for p in found] == ["encoder.h5", "encoder.weights.h5"]
    assert [p.name for p in weights_module.weight_files_beside(tmp_path / "other_architecture.json")] == \
        ["other.hdf5"]
    assert len(weights_module.weight_files_beside(tmp_path / "model.json")) == 4


def test_snake_case_matches_keras3_group_names() -> None:
    keras = keras_module("keras3")
    from keras.src.utils import naming  # the function Keras 3 names weight groups with

    for name in ("Conv2D", "BatchNormalization", "LSTM", "GRU", "TimeDistributed", "Conv1DTranspose",
                 "SeparableConv2D", "PReLU", "Functional", "MultiHeadAttention"):
        assert weights_module.snake_case(name) == naming.to_snake_case(name)
    _ = keras
