"""Likely causes: each known cause, with the stored figure printed by real Keras for a differing model."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import pytest

from pytest_kerasparams.analysis import analyze_text
from pytest_kerasparams.check import check_model_file
from pytest_kerasparams.diagnosis import diagnose_count
from tests.keras_oracle import FLAVORS, keras_module
from tests.summary_helpers import capture_summary

Build = Callable[[ModuleType], Any]


def _explanations(tmp_path: Path, keras: ModuleType, stored: Any, config: Any) -> str:
    """The summary of ``stored`` (printed by Keras) beside the config of ``config``; all explanations."""
    (tmp_path / "model.json").write_text(config.to_json())
    (tmp_path / "summary.txt").write_text(capture_summary(stored))
    check = check_model_file(tmp_path / "model.json")
    assert check.problems, "the two models were meant to differ"
    return "\n".join(p.render() for p in check.problems)


def _seq(keras: ModuleType, shape: tuple[int, ...], *layers: Any, name: str = "m") -> Any:
    return keras.Sequential([keras.Input(shape), *layers], name=name)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_missing_bias(tmp_path: Path, flavor: str) -> None:
    keras = keras_module(flavor)
    stored = _seq(keras, (10,), keras.layers.Dense(4, use_bias=False, name="head"))
    config = _seq(keras, (10,), keras.layers.Dense(4, name="head"))
    text = _explanations(tmp_path, keras, stored, config)
    assert "likely cause: the stored layer has no bias (4 parameters: bias (4,))" in text


@pytest.mark.parametrize("flavor", FLAVORS)
def test_bias_the_config_lacks(tmp_path: Path, flavor: str) -> None:
    keras = keras_module(flavor)
    stored = _seq(keras, (8, 8, 3), keras.layers.Conv2D(6, 3, name="conv"))
    config = _seq(keras, (8, 8, 3), keras.layers.Conv2D(6, 3, use_bias=False, name="conv"))
    text = _explanations(tmp_path, keras, stored, config)
    assert "likely cause: the stored layer has a bias of 6 that the config lacks" in text


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("stored_reset_after", [True, False])
def test_gru_reset_after(tmp_path: Path, flavor: str, stored_reset_after: bool) -> None:
    keras = keras_module(flavor)
    stored = _seq(keras, (5, 3), keras.layers.GRU(4, reset_after=stored_reset_after, name="gru"))
    config = _seq(keras, (5, 3), keras.layers.GRU(4, reset_after=not stored_reset_after, name="gru"))
    text = _explanations(tmp_path, keras, stored, config)
    assert f"likely cause: the stored GRU has reset_after={stored_reset_after}" in text


def test_cudnn_lstm_double_bias() -> None:
    keras = keras_module("tf_keras")
    cudnn = pytest.importorskip("tf_keras.src.layers.rnn.cudnn_lstm")
    layer = cudnn.CuDNNLSTM(4)
    layer.build((None, 5, 3))  # building creates the weights; running it would need a GPU
    stored = layer.count_params()
    config = _seq(keras, (5, 3), keras.layers.LSTM(4, name="lstm"))
    report = analyze_text(config.to_json()).report.find("lstm")
    assert report is not None
    causes = diagnose_count(report, stored)
    assert any("CuDNNLSTM, which keeps two bias vectors" in c for c in causes), causes


@pytest.mark.parametrize("flavor", FLAVORS)
def test_bidirectional_doubles(tmp_path: Path, flavor: str) -> None:
    keras = keras_module(flavor)
    stored = _seq(keras, (5, 3), keras.layers.Bidirectional(keras.layers.LSTM(4), name="rnn"))
    config = _seq(keras, (5, 3), keras.layers.Bidirectional(keras.layers.LSTM(4), name="rnn"))
    plain = _seq(keras, (5, 3), keras.layers.LSTM(4, name="rnn"))
    report = analyze_text(plain.to_json()).report.find("rnn")
    assert report is not None
    causes = diagnose_count(report, stored.layers[-1].count_params())
    assert any("wrapped in Bidirectional" in c for c in causes), causes
    wrapped = analyze_text(config.to_json()).report.find("rnn")
    assert wrapped is not None
    causes = diagnose_count(wrapped, plain.layers[-1].count_params())
    assert any("one direction only" in c for c in causes), causes


@pytest.mark.parametrize("flavor", FLAVORS)
def test_return_sequences(tmp_path: Path, flavor: str) -> None:
    keras = keras_module(flavor)
    stored = _seq(keras, (7, 3), keras.layers.LSTM(4, return_sequences=True, name="rnn"))
    config = _seq(keras, (7, 3), keras.layers.LSTM(4, name="rnn"))
    text = _explanations(tmp_path, keras, stored, config)
    assert "likely cause: the stored layer returned the whole sequence (return_sequences=True); " \
           "the config has return_sequences=False" in text


@pytest.mark.parametrize("flavor", FLAVORS)
def test_off_by_one_input_dimension(tmp_path: Path, flavor: str) -> None:
    keras = keras_module(flavor)
    stored = _seq(keras, (11,), keras.layers.Dense(4, name="head"))
    config = _seq(keras, (10,), keras.layers.Dense(4, name="head"))
    text = _explanations(tmp_path, keras, stored, config)
    assert "likely cause: the stored layer was built for an input dimension of 11 instead of 10" in text


@pytest.mark.parametrize("flavor", FLAVORS)
def test_off_by_one_vocabulary(tmp_path: Path, flavor: str) -> None:
    keras = keras_module(flavor)
    stored = _seq(keras, (6,), keras.layers.Embedding(100, 8, name="embed"))
    config = _seq(keras, (6,), keras.layers.Embedding(101, 8, name="embed"))
    text = _explanations(tmp_path, keras, stored, config)
    assert "built for an input_dim (vocabulary size) of 100 instead of 101" in text


@pytest.mark.parametrize("flavor", FLAVORS)
def test_trainable_flags(tmp_path: Path, flavor: str) -> None:
    keras = keras_module(flavor)
    frozen = keras.layers.Dense(4, name="body")
    frozen.trainable = False
    stored = _seq(keras, (10,), frozen, keras.layers.Dense(2, name="head"))
    config = _seq(keras, (10,), keras.layers.Dense(4, name="body"), keras.layers.Dense(2, name="head"))
    text = _explanations(tmp_path, keras, stored, config)
    assert "likely cause: trainable flags differ: the stored figures count body (44) as non-trainable" in text


def test_no_cause_is_invented() -> None:
    keras = keras_module("keras3")
    config = _seq(keras, (10,), keras.layers.Dense(4, name="head"))
    report = analyze_text(config.to_json()).report.find("head")
    assert report is not None
    assert diagnose_count(report, report.params + 7) == []
    assert diagnose_count(report, report.params) == []
