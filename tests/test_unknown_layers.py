"""A layer with no rule: fail (default), skip, or opaque with the shape Keras 3 recorded."""

from __future__ import annotations

import json

import pytest

from pytest_kerasparams.check import CheckOptions, check_model_file
from tests.keras_oracle import keras_module


def _keras3_model_with_custom_layer(tmp_path):
    """A Keras 3 file whose middle layer no rule knows: its output shape is recorded by the next layer."""
    keras = keras_module("keras3")
    inputs = keras.Input((10,), name="x")
    hidden = keras.layers.Dense(4, name="mystery")(keras.layers.Dense(6, name="first")(inputs))
    data = json.loads(keras.Model(inputs, keras.layers.Dense(2, name="last")(hidden)).to_json())
    mystery = next(layer for layer in data["config"]["layers"] if layer["name"] == "mystery")
    mystery["class_name"] = "MysteryLayer"  # now unknown to every rule
    mystery["module"] = "my_project.layers"
    path = tmp_path / "model.json"
    path.write_text(json.dumps(data))
    return path


def test_default_fails_with_the_class_and_module(tmp_path):
    check = check_model_file(_keras3_model_with_custom_layer(tmp_path))
    assert [p.kind for p in check.problems] == ["no-rule"]
    assert "MysteryLayer" in check.problems[0].message and "my_project.layers" in check.problems[0].message


def test_skip_mode_skips_with_the_reason(tmp_path):
    check = check_model_file(_keras3_model_with_custom_layer(tmp_path), CheckOptions(unknown_layers="skip"))
    assert check.problems == [] and "no rule for layer class MysteryLayer" in check.skipped


def test_opaque_mode_takes_the_recorded_shape(tmp_path):
    check = check_model_file(_keras3_model_with_custom_layer(tmp_path), CheckOptions(unknown_layers="opaque"))
    assert check.problems == []
    rows = {row.name: row for row in check.analysis.report.rows}
    # Keras recorded the mystery layer's output (None, 4) as the input of "last": 4 x 2 + 2 = 10.
    assert rows["mystery"].opaque and rows["mystery"].summary_output() == (None, 4)
    assert rows["last"].params == 10
    assert any("opaque" in note and "mystery" in note for note in check.notes)


def test_opaque_mode_without_a_recorded_shape_still_fails(tmp_path):
    config = {"class_name": "Sequential", "keras_version": "2.2.4-tf", "config": {"name": "s", "layers": [
        {"class_name": "Dense", "config": {"name": "d", "units": 3, "batch_input_shape": [None, 4]}},
        {"class_name": "MysteryLayer", "config": {"name": "m"}}]}}
    path = tmp_path / "model.json"
    path.write_text(json.dumps(config))
    check = check_model_file(path, CheckOptions(unknown_layers="opaque"))
    assert [p.kind for p in check.problems] == ["no-rule"]
    assert "only Keras 3 files record" in check.problems[0].message


@pytest.mark.parametrize("flag, outcome", [("fail", "failed"), ("skip", "skipped"), ("opaque", "passed")])
def test_pytest_option(pytester, tmp_path, flag, outcome):
    path = _keras3_model_with_custom_layer(tmp_path)
    target = pytester.mkdir("m") / "model.json"
    target.write_text(path.read_text())
    result = pytester.runpytest("m", "-p", "no:cacheprovider", f"--kerasparams-unknown-layers={flag}")
    result.assert_outcomes(**{outcome: 1})
