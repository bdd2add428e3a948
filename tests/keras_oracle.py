"""Differential testing against real Keras: build, serialize, recompute, compare layer by layer.

Every expected figure in the differential tests comes from Keras itself,
through this module; nothing here knows a formula.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any, Callable

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

FLAVORS = ("keras3", "tf_keras")


def keras_module(flavor: str) -> ModuleType:
    """Keras 3 (``keras``) or Keras 2 (``tf_keras``); skip if it is not installed."""
    if flavor == "keras3":
        return pytest.importorskip("keras")
    return pytest.importorskip("tf_keras")


def _shape(shape: Any) -> tuple[int | None, ...]:
    return tuple(None if d is None else int(d) for d in shape)


def _first_node_outputs(layer: Any, flavor: str) -> Any:
    """Output shape(s) of the layer's first call: one shape, or a list for several outputs."""
    if flavor == "keras3":
        node = layer._inbound_nodes[0]  # Keras offers no public per-node accessor
        tensors = node.output_tensors
        shapes = [_shape(t.shape) for t in tensors]
    else:
        try:
            out = layer.get_output_shape_at(0)
        except Exception:
            out = layer.output_shape
        several = isinstance(out, (list, tuple)) and bool(out) and isinstance(out[0], (list, tuple))
        shapes = [_shape(s) for s in out] if several else [_shape(out)]
    return shapes[0] if len(shapes) == 1 else shapes


def _count(weights: Any) -> int:
    total = 0
    for weight in weights:
        size = 1
        for dim in weight.shape:
            size *= int(dim)
        total += size
    return total


def keras_rows(model: Any, flavor: str) -> list[dict[str, Any]]:
    """What Keras reports for each layer ``model.summary()`` lists."""
    rows = []
    for layer in model.layers:
        rows.append({
            "name": layer.name,
            "class_name": layer.__class__.__name__,
            "output_shape": _first_node_outputs(layer, flavor),
            "params": layer.count_params() if layer.weights else 0,
            "trainable": _count(layer.trainable_weights),
            "non_trainable": _count(layer.non_trainable_weights),
        })
    return rows


def engine_rows(json_text: str, rules: Any = None) -> tuple[list[dict[str, Any]], Any]:
    """The same figures from pytest-kerasparams, with no TensorFlow involved."""
    from pytest_kerasparams.analysis import analyze_text

    analysis = analyze_text(json_text, "model.json", rules)
    rows = []
    for report in analysis.report.rows:
        output = report.summary_output()
        rows.append({
            "name": report.name,
            "class_name": report.class_name,
            "output_shape": output,
            "params": report.params,
            "trainable": report.trainable_params,
            "non_trainable": report.non_trainable_params,
        })
    return rows, analysis


def assert_agrees_with_keras(build: Callable[[ModuleType], Any], flavor: str, rules: Any = None) -> Any:
    """Build a model with real Keras, serialize it, and compare every layer's figures."""
    keras = keras_module(flavor)
    model = build(keras)
    expected = keras_rows(model, flavor)
    actual, analysis = engine_rows(model.to_json(), rules)
    assert [r["name"] for r in actual] == [r["name"] for r in expected]
    for got, want in zip(actual, expected):
        assert got == want, f"layer {want['name']} ({want['class_name']}): engine {got} != keras {want}"
    assert analysis.report.total == model.count_params()
    return analysis


def short_name(name: str) -> str:
    """A weight's own name: ``dense/kernel:0`` -> ``kernel``."""
    return name.split(":")[0].rsplit("/", 1)[-1]


def keras_variables(layer: Any) -> list[tuple[str, tuple[int, ...], bool]]:
    """``(name, shape, trainable)`` of each weight in ``layer.weights`` order.

    Trainable means listed in ``trainable_weights``: tf-keras leaves ``variable.trainable``
    True on a frozen layer.
    """
    trainable = {id(w) for w in layer.trainable_weights}
    return [(short_name(w.name), tuple(int(d) for d in w.shape), id(w) in trainable) for w in layer.weights]


def assert_variables_agree(build: Callable[[ModuleType], Any], flavor: str, *names: str) -> Any:
    """The shape/count comparison, plus variable names, shapes and order for the named layers."""
    keras = keras_module(flavor)
    model = build(keras)
    analysis = assert_agrees_with_keras(lambda _: model, flavor)
    for name in names:
        report = analysis.report.find(name)
        assert report is not None, name
        ours = [(short_name(v.name), v.shape, v.trainable) for v in report.variables]
        assert ours == keras_variables(model.get_layer(name)), name
        assert report.result is not None
        assert sum(f.value for f in report.result.formulas) == report.params, name
    return analysis


def engine_error(json_text: str) -> str:
    """The message of the problem the engine reports for a config it must refuse."""
    from pytest_kerasparams.analysis import analyze_text
    from pytest_kerasparams.problems import InputError

    with pytest.raises(InputError) as caught:
        analyze_text(json_text, "model.json")
    return str(caught.value.problem.message)
