"""Merge layers: Concatenate, Dot and the element-wise merges (Add, Subtract, Multiply, Average, Maximum, Minimum).

Keras 3 computes merged shapes itself, and an unknown size wins over a
known one; tf-keras and older Keras report what TensorFlow's static shape
inference gives, where a known size wins. Both are followed, by flavor.
"""

from __future__ import annotations

from typing import Any

from ..api import Dim, LayerCall, LayerResult, Rule, RuleError, Shape
from ..hookspecs import hookimpl
from ._common import format_shape


def _listing(shapes: tuple[Shape, ...]) -> str:
    return "[" + ", ".join(format_shape(s) for s in shapes) + "]"


def _inputs(call: LayerCall, minimum: int) -> tuple[Shape, ...]:
    if len(call.input_shapes) < minimum:
        raise RuleError(f"a merge layer should be called on a list of at least {minimum} inputs, "
                        f"got {len(call.input_shapes)}")
    if any(len(s) < 1 for s in call.input_shapes):
        raise RuleError(f"cannot merge scalar inputs: {_listing(call.input_shapes)}")
    return call.input_shapes


def _broadcast_pair(first: Shape, second: Shape, keras3: bool) -> Shape:
    """Right-aligned broadcasting of two shapes without their batch axis, as the flavor does it."""
    if len(first) < len(second):
        first, second = second, first
    if not second:
        return first
    out: list[Dim] = list(first[:len(first) - len(second)])
    for a, b in zip(first[len(first) - len(second):], second):
        if a is None or b is None:
            out.append(None if keras3 or (a in (None, 1) and b in (None, 1)) else a if b is None else b)
        elif a == 1 or b == 1:
            out.append(b if a == 1 else a)
        elif a != b:
            raise RuleError(f"Inputs have incompatible shapes. Received shapes {format_shape(first)} and "
                            f"{format_shape(second)}")
        else:
            out.append(a)
    return tuple(out)


def elementwise(call: LayerCall) -> LayerResult:
    """Inputs broadcast against each other (batch axis aside); ranks may differ."""
    keras3 = call.flavor == "keras3"
    shapes = _inputs(call, 1 if keras3 else 2)
    if call.class_name == "Subtract" and len(shapes) != 2:
        raise RuleError(f"A `Subtract` layer should be called on exactly 2 inputs, got {len(shapes)}")
    out = shapes[0][1:]
    for shape in shapes[1:]:
        out = _broadcast_pair(out, shape[1:], keras3)
    batches = {s[0] for s in shapes} - {None}
    if len(batches) > 1:
        raise RuleError(f"Cannot merge tensors with different batch sizes. Received tensors with shapes "
                        f"{_listing(shapes)}")
    return LayerResult(((batches.pop() if batches else None, *out),))


def concatenate(call: LayerCall) -> LayerResult:
    """Sizes along ``axis`` add up; every other axis must match (an unknown size matches anything)."""
    keras3 = call.flavor == "keras3"
    shapes = _inputs(call, 1)
    rank = len(shapes[0])
    axis = call.get("axis", -1)
    if not isinstance(axis, int) or isinstance(axis, bool) or not -rank <= axis < rank:
        raise RuleError(f"axis {axis!r} is out of range for inputs of rank {rank}")
    axis %= rank
    mismatch = RuleError("A `Concatenate` layer requires inputs with matching shapes except for the "
                         f"concatenation axis. Received: input_shape={_listing(shapes)}")
    if any(len(s) != rank for s in shapes):
        raise mismatch
    out: list[Dim] = []
    for index in range(rank):
        dims = [s[index] for s in shapes]
        if index == axis:
            out.append(None if any(d is None for d in dims) else sum(d for d in dims if d is not None))
            continue
        known = {d for d in dims if d is not None}
        if len(known) > 1:
            raise mismatch
        out.append(dims[0] if keras3 else known.pop() if known else None)
    return LayerResult((tuple(out),))


def _dot_axes(value: Any, first: Shape, second: Shape) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            return value % len(first), value % len(second)
        return value, value
    if isinstance(value, list) and len(value) == 2 and all(
            isinstance(a, int) and not isinstance(a, bool) for a in value):
        return value[0], value[1]
    raise RuleError(f"axes must be an integer or a list of 2 integers, not {value!r}")


def dot(call: LayerCall) -> LayerResult:
    """Sums over one axis of each input: the rest of the first, then the rest of the second (batch aside)."""
    if len(call.input_shapes) != 2:
        raise RuleError(f"A `Dot` layer should be called on a list of 2 inputs, got {len(call.input_shapes)}")
    first, second = call.input_shapes
    a, b = _dot_axes(call.get("axes"), first, second)
    for axis, shape in ((a, first), (b, second)):
        if not -len(shape) <= axis < len(shape) or len(shape) < 2:
            raise RuleError(f"axis {axis} is out of range for input {format_shape(shape)}")
    if first[a] != second[b]:
        raise RuleError(f"Incompatible input shapes: axis values {first[a]} (at axis {a % len(first)}) != "
                        f"{second[b]} (at axis {b % len(second)}). Full input shapes: {format_shape(first)}, "
                        f"{format_shape(second)}")
    left = [d for i, d in enumerate(first) if i != a % len(first)]
    right = [d for i, d in enumerate(second) if i != b % len(second)][1:]
    out = left + right
    if len(out) == 1:
        out.append(1)
    return LayerResult((tuple(out),), shape_notes=(
        f"{format_shape(first)} · {format_shape(second)} over axes ({a}, {b}) = {format_shape(out)}",))


@hookimpl
def kerasparams_layer_rules() -> dict[str, Rule]:
    rules: dict[str, Rule] = {name: elementwise for name in
                              ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")}
    rules.update({"Concatenate": concatenate, "Dot": dot})
    return rules
