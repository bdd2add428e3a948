"""Normalization layers: BatchNormalization (with renorm) and LayerNormalization."""

from __future__ import annotations

from typing import Any

from ..api import LayerCall, LayerResult, Rule, RuleError, Shape, Variable, formula
from ..hookspecs import hookimpl
from ._common import format_shape


def _axes(value: Any, shape: Shape) -> list[int]:
    axes = value if isinstance(value, list) else [value]
    out = []
    for axis in axes:
        if not isinstance(axis, int) or isinstance(axis, bool) or not -len(shape) <= axis < len(shape):
            raise RuleError(f"axis {value!r} is out of range for input {format_shape(shape)}")
        out.append(axis % len(shape))
    return out


def _param_shape(shape: Shape, axes: list[int]) -> tuple[int, ...]:
    dims = []
    for axis in sorted(axes):
        if shape[axis] is None:
            raise RuleError(f"axis {axis} of input {format_shape(shape)} must be defined to build weights")
        dims.append(shape[axis])
    return tuple(dims)


def batch_normalization(call: LayerCall) -> LayerResult:
    shape = call.input_shape
    axes = _axes(call.get("axis", -1), shape)
    param = _param_shape(shape, axes)
    size = 1
    for d in param:
        size *= d
    variables = []
    if call.get("scale", True) is not False:
        variables.append(Variable("gamma", param))
    if call.get("center", True) is not False:
        variables.append(Variable("beta", param))
    variables += [Variable("moving_mean", param, trainable=False),
                  Variable("moving_variance", param, trainable=False)]
    if call.get("renorm", False):
        variables += [Variable("renorm_mean", param, trainable=False),
                      Variable("renorm_stddev", param, trainable=False),
                      Variable("renorm_stddev_weight", (), trainable=False)]
    trainable = sum(1 for v in variables if v.trainable)
    formulas = [formula([(trainable, "trainable vectors (gamma, beta)")], times=[(size, "channels")],
                        label="trainable")] if trainable else []
    formulas.append(formula([(2, "moving statistics (mean, variance)")], times=[(size, "channels")],
                            label="non-trainable", trainable=False))
    if call.get("renorm", False):
        formulas.append(formula([(2, "renorm statistics")], times=[(size, "channels")],
                                label="renorm", trainable=False))
        formulas.append(formula([(1, "renorm stddev weight")], label="renorm", trainable=False))
    return LayerResult((shape,), tuple(variables), tuple(formulas))


def layer_normalization(call: LayerCall) -> LayerResult:
    shape = call.input_shape
    param = _param_shape(shape, _axes(call.get("axis", -1), shape))
    size = 1
    for d in param:
        size *= d
    variables = []
    if call.get("scale", True) is not False:
        variables.append(Variable("gamma", param))
    if call.get("center", True) is not False:
        variables.append(Variable("beta", param))
    formulas = (formula([(len(variables), "vectors (gamma, beta)")], times=[(size, "normalized values")]),) \
        if variables else ()
    return LayerResult((shape,), tuple(variables), formulas)


@hookimpl
def kerasparams_layer_rules() -> dict[str, Rule]:
    return {"BatchNormalization": batch_normalization, "LayerNormalization": layer_normalization}
