"""The --oracle cross-check builds with real Keras and catches a wrong rule."""

from __future__ import annotations

import json

import pytest

from pytest_kerasparams import LayerResult, Variable
from pytest_kerasparams.analysis import analyze_text
from pytest_kerasparams.oracle import cross_check
from pytest_kerasparams.registry import default_rule_table
from tests.keras_oracle import keras_module


def _model_json(flavor: str) -> str:
    keras = keras_module(flavor)
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(4, name="dense")])
    return model.to_json()


def _dense_without_bias(call):
    """A deliberately wrong rule: it forgets the bias."""
    units = call.get("units")
    return LayerResult(((None, units),), (Variable("kernel", (call.input_shape[-1], units)),))


class WrongPlugin:
    @staticmethod
    def kerasparams_layer_rules():
        return {"Dense": _dense_without_bias}


@pytest.mark.parametrize("flavor", ["keras3", "tf_keras"])
def test_oracle_agrees_with_built_in_rules(flavor):
    assert cross_check(analyze_text(_model_json(flavor))) == []


@pytest.mark.parametrize("flavor", ["keras3", "tf_keras"])
def test_oracle_finds_a_wrong_rule_and_explains(flavor):
    table = default_rule_table().extended([("wrong_plugin", WrongPlugin())])
    problems = cross_check(analyze_text(_model_json(flavor), rules=table))
    assert len(problems) == 1
    problem = problems[0]
    assert "wrong_plugin" in problem.message and "dense" in problem.message
    # Keras: 10 inputs x 4 units + 4 biases = 44; the wrong rule says 40.
    assert "params: Keras 44, rule 40" in problem.explanation


def test_oracle_refuses_lambda_without_running_it(tmp_path):
    marker = tmp_path / "ran"
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"name": "i", "batch_input_shape": [None, 3]}},
        {"class_name": "Lambda", "config": {"name": "evil", "function": ["payload", None, None],
                                            "function_type": "lambda", "output_shape": [3]}}]},
              "keras_version": "2.2.4-tf"}
    text = json.dumps(config)
    # The static checker needs a rule for Lambda's declared shape; the refusal happens before Keras loads.
    from pytest_kerasparams.oracle import unsafe_reasons

    reasons = unsafe_reasons(config, {})
    assert reasons and "Lambda" in reasons[0]
    assert not marker.exists()
    _ = text
