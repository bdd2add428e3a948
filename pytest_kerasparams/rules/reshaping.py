"""Reshaping layers: Flatten, RepeatVector, Reshape, Permute, and cropping, zero padding and
upsampling in 1D/2D/3D. None of them own weights; the rules compute output shapes only.
"""

from __future__ import annotations

from math import prod
from typing import Any, Mapping

from ..api import Dim, LayerCall, LayerResult, Rule, RuleError
from ..hookspecs import hookimpl
from ._common import (format_shape, int_tuple, positive_int, size_of, spatial_join,
                      spatial_split)
from .convolutional import is_channels_first

KERAS1_PAD_KEYS = {1: (("left_pad", "right_pad"),),
                   2: (("top_pad", "bottom_pad"), ("left_pad", "right_pad"))}
"""Keras 1's dict form of ``padding`` for ZeroPadding1D/2D."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def flatten(call: LayerCall) -> LayerResult:
    """All non-batch dimensions multiplied; unknown if any is unknown (data_format only reorders)."""
    shape = call.input_shape
    if len(shape) < 2:
        return LayerResult(((shape[0], 1) if shape else (1,),))
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
    """Keras's ``compute_reshape_output_shape``: one ``-1`` is inferred when the input size is known."""
    shape = call.input_shape
    if not shape:
        raise RuleError("expects an input with a batch dimension, but got a scalar")
    target = call.get("target_shape")
    if not isinstance(target, list) or not all(d is None or _is_int(d) for d in target):
        raise RuleError(f"target_shape must be a list of integers, not {target!r}")
    if any(d is not None and d < -1 for d in target) or target.count(-1) > 1:
        raise RuleError(f"target_shape {target} may hold one -1 and otherwise non-negative sizes")
    size = size_of(shape[1:])
    if size is None or None in target:
        return LayerResult(((shape[0], *(None if d == -1 else d for d in target)),))
    known = prod(d for d in target if d is not None and d != -1)
    if -1 not in target:
        if size != known:
            raise RuleError(f"the total size must be unchanged: input {format_shape(shape)} holds {size:,} "
                            f"values but target_shape {format_shape(target)} holds {known:,}")
        return LayerResult(((shape[0], *target),))
    if known == 0 or size % known:
        raise RuleError(f"cannot reshape input {format_shape(shape)} of {size:,} values into target_shape "
                        f"{format_shape(target)}: {size:,} is not a multiple of {known:,}")
    out: list[Dim] = [size // known if d == -1 else d for d in target]
    return LayerResult(((shape[0], *out),), shape_notes=(f"-1 = {size:,} / {known:,} = {size // known:,}",))


def permute(call: LayerCall) -> LayerResult:
    shape = call.input_shape
    dims = call.get("dims")
    if not isinstance(dims, list) or not all(_is_int(d) for d in dims) or sorted(dims) != list(range(1, len(shape))):
        raise RuleError(f"dims {dims!r} must be a permutation of 1..{len(shape) - 1} for input {format_shape(shape)}")
    return LayerResult(((shape[0], *(shape[d] for d in dims)),))


def _pairs(config: Mapping[str, Any], key: str, rank: int) -> tuple[tuple[int, int], ...]:
    """``cropping``/``padding`` in any form Keras accepts, as one ``(before, after)`` pair per axis."""
    value = config.get(key, 1)
    if isinstance(value, Mapping) and rank in KERAS1_PAD_KEYS:
        try:
            pairs = tuple((value[a], value[b]) for a, b in KERAS1_PAD_KEYS[rank])
        except KeyError:
            raise RuleError(f"{key} {value!r} lacks one of {KERAS1_PAD_KEYS[rank]}") from None
    elif _is_int(value):
        pairs = ((value, value),) * rank
    elif isinstance(value, list) and rank == 1 and len(value) == 2:
        pairs = ((value[0], value[1]),)
    elif isinstance(value, list) and len(value) == rank:
        pairs = tuple((v, v) if _is_int(v) else tuple(v) if isinstance(v, list) and len(v) == 2 else (None, None)
                      for v in value)
    elif isinstance(value, list) and len(value) == 2 * rank:  # Keras 1: (top, bottom, left, right)
        pairs = tuple((value[2 * i], value[2 * i + 1]) for i in range(rank))
    else:
        pairs = ()
    if len(pairs) != rank or not all(_is_int(a) and _is_int(b) and a >= 0 and b >= 0 for a, b in pairs):
        raise RuleError(f"{key} must be a non-negative integer, or one or two per spatial axis "
                        f"({rank} axes), not {value!r}")
    return pairs


def _axis_name(rank: int, axis: int) -> str:
    return "steps" if rank == 1 else f"spatial dimension {axis + 1}"


def _split(call: LayerCall, rank: int) -> tuple[bool, Dim, tuple[Dim, ...], Dim]:
    """1D reshaping layers have no data_format: steps are always axis 1."""
    first = rank > 1 and is_channels_first(call.config)
    batch, spatial, channels = spatial_split(call.input_shape, rank, first)
    return first, batch, spatial, channels


def _cropping(rank: int) -> Rule:
    def rule(call: LayerCall) -> LayerResult:
        first, batch, spatial, channels = _split(call, rank)
        pairs = _pairs(call.config, "cropping", rank)
        out: list[Dim] = []
        notes: list[str] = []
        for axis, (length, (before, after)) in enumerate(zip(spatial, pairs)):
            if length is None:
                out.append(None)
                continue
            if before + after >= length:
                raise RuleError(f"cropping {before} + {after} from the {_axis_name(rank, axis)} of input "
                                f"{format_shape(call.input_shape)} leaves nothing (it has {length})")
            out.append(length - before - after)
            notes.append(f"{_axis_name(rank, axis)}: {length} - {before} - {after} = {out[-1]}")
        return LayerResult((spatial_join(batch, out, channels, first),), shape_notes=tuple(notes))
    return rule


def _zero_padding(rank: int) -> Rule:
    def rule(call: LayerCall) -> LayerResult:
        first, batch, spatial, channels = _split(call, rank)
        pairs = _pairs(call.config, "padding", rank)
        out: list[Dim] = []
        notes: list[str] = []
        for axis, (length, (before, after)) in enumerate(zip(spatial, pairs)):
            out.append(None if length is None else length + before + after)
            if length is not None:
                notes.append(f"{_axis_name(rank, axis)}: {length} + {before} + {after} = {out[-1]}")
        return LayerResult((spatial_join(batch, out, channels, first),), shape_notes=tuple(notes))
    return rule


def _up_sampling(rank: int) -> Rule:
    def rule(call: LayerCall) -> LayerResult:
        first, batch, spatial, channels = _split(call, rank)
        size = int_tuple(call.get("size", call.get("length", 2)), rank, "size")
        if min(size) < 1:
            raise RuleError(f"size must be positive, not {list(size)}")
        out = [None if length is None else length * factor for length, factor in zip(spatial, size)]
        notes = tuple(f"{_axis_name(rank, axis)}: {length} × {factor} = {length * factor}"
                      for axis, (length, factor) in enumerate(zip(spatial, size)) if length is not None)
        return LayerResult((spatial_join(batch, out, channels, first),), shape_notes=notes)
    return rule


@hookimpl
def kerasparams_layer_rules() -> dict[str, Rule]:
    rules: dict[str, Rule] = {"Flatten": flatten, "RepeatVector": repeat_vector, "Reshape": reshape,
                              "Permute": permute}
    for rank in (1, 2, 3):
        rules[f"Cropping{rank}D"] = _cropping(rank)
        rules[f"ZeroPadding{rank}D"] = _zero_padding(rank)
        rules[f"UpSampling{rank}D"] = _up_sampling(rank)
    return rules
