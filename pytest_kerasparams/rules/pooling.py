"""Pooling: max and average windows in 1D/2D/3D, and global pooling with keepdims."""

from __future__ import annotations

from ..api import LayerCall, LayerResult, Rule
from ..hookspecs import hookimpl
from ._common import channels_first, conv_output_length, int_tuple, spatial_join, spatial_split


def _pool(rank: int) -> Rule:
    def rule(call: LayerCall) -> LayerResult:
        config = call.config
        first = channels_first(config)
        batch, spatial, channels = spatial_split(call.input_shape, rank, first)
        pool = int_tuple(config.get("pool_size", config.get("pool_length", 2)), rank, "pool_size")
        strides_value = config.get("strides", config.get("stride"))
        strides = pool if strides_value is None else int_tuple(strides_value, rank, "strides")
        padding = str(config.get("padding", config.get("border_mode", "valid"))).lower()
        out_spatial, notes = [], []
        for axis, length in enumerate(spatial):
            out, note = conv_output_length(length, pool[axis], strides[axis], padding, 1,
                                           f"spatial dimension {axis + 1}" if rank > 1 else "steps")
            out_spatial.append(out)
            notes.append(note)
        return LayerResult(output_shapes=(spatial_join(batch, out_spatial, channels, first),),
                           shape_notes=tuple(notes))
    return rule


def _global_pool(rank: int) -> Rule:
    def rule(call: LayerCall) -> LayerResult:
        first = channels_first(call.config)
        batch, spatial, channels = spatial_split(call.input_shape, rank, first)
        if call.get("keepdims", False):
            return LayerResult((spatial_join(batch, [1] * len(spatial), channels, first),))
        return LayerResult(((batch, channels),))
    return rule


@hookimpl
def kerasparams_layer_rules() -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for rank in (1, 2, 3):
        for kind in ("Max", "Average"):
            rules[f"{kind}Pooling{rank}D"] = _pool(rank)
            rules[f"{kind}Pool{rank}D"] = _pool(rank)
            rules[f"Global{kind}Pooling{rank}D"] = _global_pool(rank)
            rules[f"Global{kind}Pool{rank}D"] = _global_pool(rank)
    return rules
