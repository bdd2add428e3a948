"""Normalization layers: Batch, Layer, Group, Unit, RMS and Spectral normalization."""

from __future__ import annotations

from math import prod
from typing import Any

from ..api import LayerCall, LayerResult, Rule, RuleError, Shape, Variable, formula
from ..hookspecs import hookimpl
from ._common import format_shape


def _axes(value: Any, shape: Shape) -> list[int]:
    """Axes as given (an int or a list), checked against the input's rank; may be negative."""
    axes = value if isinstance(value, list) else [value]
    if not axes:
        raise RuleError(f"axis {value!r} names no axis of input {format_shape(shape)}")
    for axis in axes:
        if not isinstance(axis, int) or isinstance(axis, bool) or not -len(shape) <= axis < len(shape):
            raise RuleError(f"axis {value!r} is out of range for input {format_shape(shape)}")
    return list(axes)


def _dim(shape: Shape, axis: int) -> int:
    dim = shape[axis]
    if dim is None:
        raise RuleError(f"axis {axis} of input {format_shape(shape)} must be defined to build weights")
    return dim


def _flag(call: LayerCall, key: str, default: bool = True) -> bool:
    return call.get(key, default) is not False if default else bool(call.get(key, default))


def batch_normalization(call: LayerCall) -> LayerResult:
    """gamma and beta (trainable), moving mean and variance (not); renorm adds three more statistics.

    tf-keras with several axes (or a virtual batch) keeps a full-rank parameter shape with 1s elsewhere.
    """
    shape = call.input_shape
    virtual = call.get("virtual_batch_size")
    axis = call.get("axis", -1)
    if virtual is not None and isinstance(axis, list) and all(isinstance(a, int) and not isinstance(a, bool) and a > 0 for a in axis):
        # tf-keras shifts its axes by one for the virtual batch axis when built, and saves them shifted.
        axis = [a - 1 for a in axis]
    axes = sorted({a % len(shape) for a in _axes(axis, shape)})
    dims = {a: _dim(shape, a) for a in axes}
    if len(axes) == 1 and virtual is None:
        param: tuple[int, ...] = (dims[axes[0]],)
    else:
        param = tuple(dims.get(i, 1) for i in range(len(shape)))
        if virtual is not None:
            param = param[:1] + (1,) + param[1:]
    size = prod(param)
    trainable = [Variable(n, param) for n, on in (("gamma", _flag(call, "scale")), ("beta", _flag(call, "center")))
                 if on]
    statistics = ["moving_mean", "moving_variance"]
    renorm = _flag(call, "renorm", False)
    if renorm:
        statistics += ["moving_stddev", "renorm_mean", "renorm_stddev"]
    variables = trainable + [Variable(n, param, trainable=False) for n in statistics]
    formulas = []
    if trainable:
        formulas.append(formula([(len(trainable), "trainable vectors (" + ", ".join(v.name for v in trainable) + ")")],
                                times=[(size, "channels")], label="trainable"))
    formulas.append(formula([(2, "moving statistics (mean, variance)")], times=[(size, "channels")],
                            label="non-trainable", trainable=False))
    if renorm:
        formulas.append(formula([(3, "renorm statistics (moving stddev, renorm mean, renorm stddev)")],
                                times=[(size, "channels")], label="renorm", trainable=False))
    return LayerResult((shape,), tuple(variables), tuple(formulas))


def _listed_axes_shape(call: LayerCall, shape: Shape) -> tuple[int, ...]:
    """Keras 3 sorts the axes as given (negatives first); tf-keras keeps the order given."""
    axes = _axes(call.get("axis", -1), shape)
    ordered = sorted(axes) if call.flavor == "keras3" else [a % len(shape) for a in axes]
    return tuple(_dim(shape, a) for a in ordered)


def layer_normalization(call: LayerCall) -> LayerResult:
    """gamma and beta over the normalized axes; Keras 3's rms_scaling keeps gamma only."""
    shape = call.input_shape
    param = _listed_axes_shape(call, shape)
    rms = _flag(call, "rms_scaling", False)
    names = [n for n, on in (("gamma", _flag(call, "scale") or rms), ("beta", _flag(call, "center") and not rms))
             if on]
    variables = tuple(Variable(n, param) for n in names)
    formulas = (formula([(len(names), "vectors (" + ", ".join(names) + ")")],
                        times=[(prod(param), "normalized values")]),) if names else ()
    return LayerResult((shape,), variables, formulas)


def rms_normalization(call: LayerCall) -> LayerResult:
    """One ``scale`` vector over the normalized axes."""
    shape = call.input_shape
    param = _listed_axes_shape(call, shape)
    return LayerResult((shape,), (Variable("scale", param),),
                       (formula([(prod(param), "normalized values")], label="scale"),))


def group_normalization(call: LayerCall) -> LayerResult:
    """gamma and beta per channel; the channels must split evenly into ``groups``."""
    shape = call.input_shape
    axis = _axes(call.get("axis", -1), shape)
    if len(axis) != 1:
        raise RuleError(f"axis must be a single integer, not {call.get('axis')!r}")
    channels = _dim(shape, axis[0])
    groups = call.get("groups", 32)
    if not isinstance(groups, int) or isinstance(groups, bool) or groups == 0 or groups < -1:
        raise RuleError(f"groups must be a positive integer or -1, not {groups!r}")
    groups = channels if groups == -1 else groups
    if channels < groups:
        raise RuleError(f"Number of groups ({groups}) cannot be more than the number of channels ({channels}).")
    if channels % groups:
        raise RuleError(f"Number of groups ({groups}) must be a multiple of the number of channels ({channels}).")
    names = [n for n, on in (("gamma", _flag(call, "scale")), ("beta", _flag(call, "center"))) if on]
    formulas = (formula([(len(names), "vectors (" + ", ".join(names) + ")")], times=[(channels, "channels")]),) \
        if names else ()
    return LayerResult((shape,), tuple(Variable(n, (channels,)) for n in names), formulas)


def unit_normalization(call: LayerCall) -> LayerResult:
    return LayerResult((call.input_shape,))


def spectral_normalization(call: LayerCall) -> LayerResult:
    """The wrapped layer's weights plus a non-trainable ``vector_u`` of shape (1, kernel's last dimension).

    Keras lists the kernel first (the wrapper tracks it as its own), then ``vector_u``, then the rest.
    """
    layer = call.get("layer")
    if not isinstance(layer, dict) or not isinstance(layer.get("class_name"), str):
        raise RuleError("has no wrapped layer with a class_name")
    inner = call.inner(layer, call.input_shapes)
    kernels = [v for v in inner.variables if v.name.rsplit("/", 1)[-1] in ("kernel", "embeddings")]
    if not kernels:
        raise RuleError(f"{layer['class_name']} object has no attribute 'kernel' nor 'embeddings'")
    width = kernels[0].shape[-1] if kernels[0].shape else 1
    vector = Variable("vector_u", (1, width), trainable=False)
    variables = (kernels[0], vector) + tuple(v for v in inner.variables if v is not kernels[0])
    formulas = inner.formulas + (formula([(width, "kernel output columns")], label="power-iteration vector u",
                                         trainable=False),)
    return LayerResult(inner.output_shapes, variables, formulas, inner.shape_notes, {"layer": inner})


@hookimpl
def kerasparams_layer_rules() -> dict[str, Rule]:
    return {"BatchNormalization": batch_normalization, "SyncBatchNormalization": batch_normalization,
            "LayerNormalization": layer_normalization,
            "GroupNormalization": group_normalization, "UnitNormalization": unit_normalization,
            "RMSNormalization": rms_normalization, "SpectralNormalization": spectral_normalization}
