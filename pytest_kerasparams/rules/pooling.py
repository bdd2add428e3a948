"""Pooling: max and average windows in 1D/2D/3D, global pooling with keepdims, adaptive pooling.

None of these own weights; the rules only compute output shapes, with the
window arithmetic as shape notes.
"""

from __future__ import annotations

from ..api import LayerCall, LayerResult, Rule, RuleError
from ..hookspecs import hookimpl
from ._common import conv_output_length, format_shape, int_tuple, spatial_join, spatial_split
from .convolutional import is_channels_first


def _pool(rank: int) -> Rule:
    def rule(call: LayerCall) -> LayerResult:
        config = call.config
        first = is_channels_first(config)
        batch, spatial, channels = spatial_split(call.input_shape, rank, first)
        pool = int_tuple(config.get("pool_size", config.get("pool_length", 2)), rank, "pool_size")
        strides_value = config.get("strides", config.get("stride"))
        strides = pool if strides_value is None else int_tuple(strides_value, rank, "strides")
        if min(pool) < 1 or min(strides) < 1:
            raise RuleError(f"pool_size {list(pool)} and strides {list(strides)} must be positive")
        padding = config.get("padding", config.get("border_mode", "valid"))
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
            raise RuleError(f"padding must be 'valid' or 'same', not {padding!r}")
        out_spatial, notes = [], []
        for axis, length in enumerate(spatial):
            try:
                out, note = conv_output_length(length, pool[axis], strides[axis], padding.lower(), 1,
                                               f"spatial dimension {axis + 1}" if rank > 1 else "steps")
            except RuleError as error:
                raise RuleError(f"input shape {format_shape(call.input_shape)} with pool_size {list(pool)}: "
                                f"{error}") from None
            out_spatial.append(out)
            notes.append(note)
        return LayerResult(output_shapes=(spatial_join(batch, out_spatial, channels, first),),
                           shape_notes=tuple(notes))
    return rule


def _global_pool(rank: int) -> Rule:
    def rule(call: LayerCall) -> LayerResult:
        first = is_channels_first(call.config)
        batch, spatial, channels = spatial_split(call.input_shape, rank, first)
        if call.get("keepdims", False):
            return LayerResult((spatial_join(batch, [1] * len(spatial), channels, first),))
        return LayerResult(((batch, channels),))
    return rule


def _adaptive_pool(rank: int) -> Rule:
    """Keras 3's adaptive pooling: the output's spatial size is ``output_size``, whatever the input."""
    def rule(call: LayerCall) -> LayerResult:
        first = is_channels_first(call.config)
        batch, _, channels = spatial_split(call.input_shape, rank, first)
        size = int_tuple(call.get("output_size"), rank, "output_size")
        if min(size) < 1:
            raise RuleError(f"output_size must be positive, not {list(size)}")
        return LayerResult((spatial_join(batch, size, channels, first),))
    return rule


@hookimpl
def kerasparams_layer_rules() -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for rank in (1, 2, 3):
        pool, global_pool, adaptive = _pool(rank), _global_pool(rank), _adaptive_pool(rank)
        for kind, short in (("Max", "Max"), ("Average", "Avg")):
            for name in (f"{kind}Pooling{rank}D", f"{kind}Pool{rank}D", f"{short}Pool{rank}D"):
                rules[name] = pool
            for name in (f"Global{kind}Pooling{rank}D", f"Global{kind}Pool{rank}D", f"Global{short}Pool{rank}D"):
                rules[name] = global_pool
            rules[f"Adaptive{kind}Pooling{rank}D"] = adaptive
    return rules
