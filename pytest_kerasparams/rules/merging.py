"""Merge layers: Concatenate and the element-wise merges (Add, Subtract, Multiply, Average, Maximum, Minimum)."""

from __future__ import annotations

from ..api import Dim, LayerCall, LayerResult, Rule, RuleError, Shape
from ..hookspecs import hookimpl
from ._common import format_shape


def _inputs(call: LayerCall) -> tuple[Shape, ...]:
    if len(call.input_shapes) < 2:
        raise RuleError(f"a merge layer should be called on a list of at least 2 inputs, "
                        f"got {len(call.input_shapes)}")
    return call.input_shapes


def _broadcast(a: Dim, b: Dim, shapes: tuple[Shape, ...]) -> Dim:
    if a is None or b is None:
        return a if b in (None, 1) else b if a in (None, 1) else a
    if a == b or b == 1:
        return a
    if a == 1:
        return b
    raise RuleError("inputs must have the same shape to be merged element-wise, got "
                    + ", ".join(format_shape(s) for s in shapes))


def elementwise(call: LayerCall) -> LayerResult:
    shapes = _inputs(call)
    rank = max(len(s) for s in shapes)
    if any(len(s) != rank for s in shapes):
        raise RuleError("inputs must have the same rank to be merged element-wise, got "
                        + ", ".join(format_shape(s) for s in shapes))
    out = list(shapes[0])
    for shape in shapes[1:]:
        out = [_broadcast(a, b, shapes) for a, b in zip(out, shape)]
    return LayerResult((tuple(out),))


def concatenate(call: LayerCall) -> LayerResult:
    shapes = _inputs(call)
    rank = len(shapes[0])
    axis = call.get("axis", -1)
    if not isinstance(axis, int) or not -rank <= axis < rank:
        raise RuleError(f"axis {axis!r} is out of range for inputs of rank {rank}")
    axis %= rank
    if any(len(s) != rank for s in shapes):
        raise RuleError("a Concatenate layer requires inputs with matching shapes except for the concatenation "
                        "axis; got " + ", ".join(format_shape(s) for s in shapes))
    out: list[Dim] = []
    for index in range(rank):
        dims = [s[index] for s in shapes]
        if index == axis:
            out.append(None if any(d is None for d in dims) else sum(d for d in dims if d is not None))
            continue
        known = {d for d in dims if d is not None}
        if len(known) > 1:
            raise RuleError("a Concatenate layer requires inputs with matching shapes except for the "
                            f"concatenation axis (axis {axis}); got " + ", ".join(format_shape(s) for s in shapes))
        out.append(known.pop() if known else None)
    return LayerResult((tuple(out),))


@hookimpl
def kerasparams_layer_rules() -> dict[str, Rule]:
    rules: dict[str, Rule] = {name: elementwise for name in
                              ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")}
    rules["Concatenate"] = concatenate
    return rules
