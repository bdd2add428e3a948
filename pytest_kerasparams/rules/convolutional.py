"""Convolutions: Conv1D/2D/3D with strides, dilation, groups and either data format."""

from __future__ import annotations

from ..api import LayerCall, LayerResult, Rule, RuleError, Variable, formula
from ..hookspecs import hookimpl
from ._common import (channels_first, conv_output_length, format_shape, int_tuple, positive_int,
                      spatial_join, spatial_split, use_bias)


WINDOW_LABELS = {1: ("kernel",), 2: ("kernel rows", "kernel columns"),
                 3: ("kernel depth", "kernel rows", "kernel columns")}


def _conv(rank: int) -> Rule:
    def rule(call: LayerCall) -> LayerResult:
        config = call.config
        first = channels_first(config)
        batch, spatial, channels = spatial_split(call.input_shape, rank, first)
        if channels is None:
            raise RuleError(f"the channel dimension of input {format_shape(call.input_shape)} must be defined")
        filters = positive_int(config, "filters", "nb_filter")
        kernel = int_tuple(config.get("kernel_size"), rank, "kernel_size")
        strides = int_tuple(config.get("strides", 1), rank, "strides")
        dilation = int_tuple(config.get("dilation_rate", 1), rank, "dilation_rate")
        groups = positive_int(config, "groups", default=1)
        if channels % groups or filters % groups:
            raise RuleError(f"groups={groups} must divide both the input channels ({channels}) "
                            f"and filters ({filters})")
        padding = str(config.get("padding", "valid")).lower()
        if padding == "causal" and rank != 1:
            raise RuleError("causal padding is only for Conv1D")
        out_spatial, notes = [], []
        for axis, length in enumerate(spatial):
            out, note = conv_output_length(length, kernel[axis], strides[axis], padding, dilation[axis],
                                           f"spatial dimension {axis + 1}" if rank > 1 else "steps")
            out_spatial.append(out)
            notes.append(note)
        per_group = channels // groups
        bias = use_bias(config)
        variables = [Variable("kernel", kernel + (per_group, filters))]
        if bias:
            variables.append(Variable("bias", (filters,)))
        window = list(zip(kernel, WINDOW_LABELS[rank]))
        channel_label = "input channels" if groups == 1 else f"input channels per group ({channels} / {groups})"
        return LayerResult(
            output_shapes=(spatial_join(batch, out_spatial, filters, first),),
            variables=tuple(variables),
            formulas=(formula(window + [(per_group, channel_label)], [(1 if bias else 0, "bias")],
                              times=[(filters, "filters")], label="per filter"),),
            shape_notes=tuple(notes),
        )
    return rule


@hookimpl
def kerasparams_layer_rules() -> dict[str, Rule]:
    return {"Conv1D": _conv(1), "Conv2D": _conv(2), "Conv3D": _conv(3),
            "Convolution1D": _conv(1), "Convolution2D": _conv(2), "Convolution3D": _conv(3)}

