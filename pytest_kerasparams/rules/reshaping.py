"""Reshaping layers: Flatten, RepeatVector, Reshape, Permute."""

from __future__ import annotations

from math import prod

from ..api import LayerCall, LayerResult, Rule, RuleError
from ..hookspecs import hookimpl
from ._common import format_shape, positive_int, size_of


def flatten(call: LayerCall) -> LayerResult:
    shape = call.input_shape
    if len(shape) < 2:
        return LayerResult(((shape[0], 1) if shape else (1,),))
    if call.get("data_format") == "channels_first" and len(shape) > 2:
        shape = (shape[0],) + shape[2:] + (shape[1],)
    flat = size_of(shape[1:])
    note = " × ".join("None" if d is None else str(d) for d in shape[1:]) + f" = {flat}"
    return LayerResult(((shape[0], flat),), shape_notes=(note,))


def repeat_vector(call: LayerCall) -> LayerResult:
    shape = call.input_shape
    if len(shape) != 2:
        raise RuleError(f"expects input of rank 2 (batch, features), but got shape {format_shape(shape)}")
    times = positive_int(call.config, "n")
    return LayerResult(((shape[0], times, shape[1]),))


def reshape(call: LayerCall) -> LayerResult:
    shape = call.input_shape
    target = call.get("target_shape")
    if not isinstance(target, list) or not all(isinstance(d, int) and not isinstance(d, bool) for d in target):
        raise RuleError(f"target_shape must be a list of integers, not {target!r}")
    unknown = [i for i, d in enumerate(target) if d == -1]
    if len(unknown) > 1 or any(d < -1 or d == 0 for d in target):
        raise RuleError(f"target_shape {target} may hold one -1 and otherwise positive sizes")
    size = size_of(shape[1:])
    known = prod(d for d in target if d != -1)
    out: list[int | None] = list(target)
    if unknown:
        if size is None:
            out[unknown[0]] = None
        elif size % known:
            raise RuleError(f"cannot reshape input {format_shape(shape)} of size {size} into {tuple(target)}")
        else:
            out[unknown[0]] = size // known
    elif size is not None and size != known:
        raise RuleError(f"total size of new array must be unchanged: input {format_shape(shape)} has {size} "
                        f"values, target_shape {tuple(target)} has {known}")
    return LayerResult(((shape[0], *out),))


def permute(call: LayerCall) -> LayerResult:
    shape = call.input_shape
    dims = call.get("dims")
    if not isinstance(dims, list) or sorted(dims) != list(range(1, len(shape))):
        raise RuleError(f"dims {dims!r} must be a permutation of 1..{len(shape) - 1} for input {format_shape(shape)}")
    return LayerResult(((shape[0], *(shape[d] for d in dims)),))


@hookimpl
def kerasparams_layer_rules() -> dict[str, Rule]:
    return {"Flatten": flatten, "RepeatVector": repeat_vector, "Reshape": reshape, "Permute": permute}
