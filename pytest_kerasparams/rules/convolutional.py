"""Convolutions: plain, transposed, separable, depthwise and locally connected, in 1D/2D/3D.

Every rule reads its settings through :func:`_read_conv` (so Keras 1 names
such as ``nb_filter``, ``border_mode`` and ``subsample`` work everywhere) and
states its parameter count per filter: ``(window × input channels + 1 bias)
× filters``.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any, Mapping, Sequence

from ..api import Dim, Formula, LayerCall, LayerResult, Rule, RuleError, Shape, Variable, formula
from ..hookspecs import hookimpl
from ._common import (channels_first, conv_output_length, format_shape, int_tuple, positive_int,
                      spatial_join, spatial_split, use_bias)

WINDOW_LABELS = {1: ("kernel",), 2: ("kernel rows", "kernel columns"),
                 3: ("kernel depth", "kernel rows", "kernel columns")}

KERAS1_KERNEL_KEYS = {1: ("filter_length",), 2: ("nb_row", "nb_col"),
                      3: ("kernel_dim1", "kernel_dim2", "kernel_dim3")}
"""Keras 1 spelled the kernel size as one key per axis."""


@dataclass(frozen=True)
class ConvSettings:
    """The settings all convolution-like layers share, read once and checked."""

    rank: int
    first: bool
    batch: Dim
    spatial: tuple[Dim, ...]
    channels: int
    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: str
    bias: bool

    @property
    def window(self) -> int:
        return prod(self.kernel)

    def window_factors(self) -> list[tuple[int, str]]:
        """The kernel's axes as labelled factors: ``3 kernel rows × 3 kernel columns``."""
        return list(zip(self.kernel, WINDOW_LABELS[self.rank]))

    def output(self, spatial: Sequence[Dim], channels: Dim) -> Shape:
        return spatial_join(self.batch, spatial, channels, self.first)


def is_channels_first(config: Mapping[str, Any]) -> bool:
    """``data_format``, or Keras 1's ``dim_ordering`` (``th`` is channels first)."""
    ordering = config.get("dim_ordering")
    if "data_format" not in config and ordering is not None:
        if ordering not in ("th", "tf", "default"):
            raise RuleError(f"dim_ordering must be 'th' or 'tf', not {ordering!r}")
        return ordering == "th"
    return channels_first(config)


def _kernel_size(config: Mapping[str, Any], rank: int) -> tuple[int, ...]:
    if "kernel_size" in config:
        kernel = int_tuple(config["kernel_size"], rank, "kernel_size")
    elif all(key in config for key in KERAS1_KERNEL_KEYS[rank]):
        kernel = tuple(int_tuple(config[key], 1, key)[0] for key in KERAS1_KERNEL_KEYS[rank])
    else:
        raise RuleError("kernel_size is missing")
    if min(kernel) < 1:
        raise RuleError(f"kernel_size must be positive, not {list(kernel)}")
    return kernel


def _read_conv(call: LayerCall, rank: int, paddings: Sequence[str] = ("valid", "same")) -> ConvSettings:
    """Read and check the settings every convolution-like layer has."""
    config = call.config
    first = is_channels_first(config)
    batch, spatial, channels = spatial_split(call.input_shape, rank, first)
    if channels is None:
        raise RuleError(f"the channel dimension of input {format_shape(call.input_shape)} must be defined")
    kernel = _kernel_size(config, rank)
    stride_value = config.get("strides", config.get("subsample", config.get("subsample_length", 1)))
    strides = int_tuple(stride_value, rank, "strides")
    dilation = int_tuple(config.get("dilation_rate", config.get("atrous_rate", 1)), rank, "dilation_rate")
    if min(strides) < 1 or min(dilation) < 1:
        raise RuleError(f"strides {list(strides)} and dilation_rate {list(dilation)} must be positive")
    padding = config.get("padding", config.get("border_mode", "valid"))
    if not isinstance(padding, str) or padding.lower() not in paddings:
        allowed = ", ".join(repr(p) for p in paddings)
        raise RuleError(f"padding must be one of {allowed}, not {padding!r}")
    return ConvSettings(rank, first, batch, spatial, channels, kernel, strides, dilation, padding.lower(),
                        use_bias(config))


def _axis_name(rank: int, axis: int) -> str:
    return "steps" if rank == 1 else f"spatial dimension {axis + 1}"


def _window_output(settings: ConvSettings) -> tuple[list[Dim], list[str]]:
    """Output lengths of a sliding window (convolution), with the arithmetic as notes."""
    out_spatial: list[Dim] = []
    notes: list[str] = []
    for axis, length in enumerate(settings.spatial):
        kernel, stride, dilation = settings.kernel[axis], settings.strides[axis], settings.dilation[axis]
        name = _axis_name(settings.rank, axis)
        if settings.padding == "full" and length is not None:  # Keras 1 only
            effective = dilation * (kernel - 1) + 1
            out: Dim = (length + effective - 1 + stride - 1) // stride
            note = f"{name}: ceil(({length} + {effective} - 1) / {stride}) = {out} (full padding)"
        else:
            try:
                out, note = conv_output_length(length, kernel, stride, settings.padding, dilation, name)
            except RuleError as error:
                raise RuleError(f"input shape {_input_text(settings)} with kernel_size "
                                f"{list(settings.kernel)}: {error}") from None
        out_spatial.append(out)
        notes.append(note)
    return out_spatial, notes


def _input_text(settings: ConvSettings) -> str:
    return format_shape(settings.output(settings.spatial, settings.channels))


def _no_strided_dilation(settings: ConvSettings) -> None:
    if max(settings.strides) > 1 and max(settings.dilation) > 1:
        raise RuleError(f"strides > 1 are not supported together with dilation_rate > 1 "
                        f"(strides={list(settings.strides)}, dilation_rate={list(settings.dilation)})")


def _per_filter(window: list[tuple[int, str]], channels: tuple[int, str], bias: bool, filters: int,
                label: str = "per filter", trainable: bool = True) -> Formula:
    """``(window × input channels + 1 bias) × filters``: the shape of every conv-like count."""
    return formula(window + [channels], [(1 if bias else 0, "bias")], times=[(filters, "filters")],
                   label=label, trainable=trainable)


def _lora(call: LayerCall, kernel_shape: tuple[int, ...], filters: int) -> tuple[list[Variable], list[Formula]]:
    """Keras 3's ``lora_rank``: two low-rank trainable factors; the kernel itself is frozen."""
    rank_value = call.get("lora_rank")
    if rank_value in (None, 0) or call.flavor != "keras3":
        return [], []
    rank = positive_int(call.config, "lora_rank")
    fan_in = prod(kernel_shape[:-1])
    return ([Variable("lora_kernel_a", kernel_shape[:-1] + (rank,)), Variable("lora_kernel_b", (rank, filters))],
            [formula([(fan_in, "kernel inputs")], [(filters, "filters")], times=[(rank, "LoRA rank")],
                     label="LoRA factors")])


def _conv(rank: int) -> Rule:
    def rule(call: LayerCall) -> LayerResult:
        config = call.config
        paddings = ("valid", "same") + (("causal",) if rank == 1 else ()) \
            + (("full",) if call.flavor == "keras1" else ())
        settings = _read_conv(call, rank, paddings)
        filters = positive_int(config, "filters", "nb_filter")
        groups = positive_int(config, "groups", default=1)
        channels = settings.channels
        if channels % groups or filters % groups:
            raise RuleError(f"groups={groups} must divide both the input channels ({channels}, input shape "
                            f"{format_shape(call.input_shape)}) and filters ({filters})")
        _no_strided_dilation(settings)
        out_spatial, notes = _window_output(settings)
        per_group = channels // groups
        kernel_shape = settings.kernel + (per_group, filters)
        lora_variables, lora_formulas = _lora(call, kernel_shape, filters)
        variables = [Variable("kernel", kernel_shape, trainable=not lora_variables)]
        if settings.bias:
            variables.append(Variable("bias", (filters,)))
        channel_label = "input channels" if groups == 1 else f"input channels per group ({channels} / {groups})"
        if lora_variables:
            formulas = [_per_filter(settings.window_factors(), (per_group, channel_label), False, filters,
                                    "frozen kernel, per filter", trainable=False),
                        *([formula([(1, "bias")], times=[(filters, "filters")], label="bias")] if settings.bias else [])]
        else:
            formulas = [_per_filter(settings.window_factors(), (per_group, channel_label), settings.bias, filters)]
        return LayerResult(
            output_shapes=(settings.output(out_spatial, filters),),
            variables=tuple(variables + lora_variables),
            formulas=tuple(formulas + lora_formulas),
            shape_notes=tuple(notes),
        )
    return rule


def _transpose_length(length: Dim, kernel: int, stride: int, padding: str, output_padding: int | None,
                      dilation: int, name: str) -> tuple[Dim, str]:
    """Keras's ``deconv_output_length``: the inverse of a convolution's output length."""
    if length is None:
        return None, f"{name}: unknown stays unknown"
    effective = dilation * (kernel - 1) + 1
    if output_padding is None:
        if padding == "valid":
            out = length * stride + max(effective - stride, 0)
            return out, f"{name}: {length} × {stride} + max({effective} - {stride}, 0) = {out}"
        out = length * stride
        return out, f"{name}: {length} × {stride} = {out} (same padding)"
    if padding == "valid":
        out = (length - 1) * stride + effective + output_padding
        return out, f"{name}: ({length} - 1) × {stride} + {effective} + {output_padding} output padding = {out}"
    out = (length - 1) * stride + effective % 2 + output_padding
    return out, (f"{name}: ({length} - 1) × {stride} + {effective % 2} + {output_padding} output padding "
                 f"= {out} (same padding)")


def _conv_transpose(rank: int) -> Rule:
    def rule(call: LayerCall) -> LayerResult:
        config = call.config
        settings = _read_conv(call, rank)
        filters = positive_int(config, "filters", "nb_filter")
        _no_strided_dilation(settings)
        padding_value = config.get("output_padding")
        output_padding = None if padding_value is None else int_tuple(padding_value, rank, "output_padding")
        if output_padding is not None and any(p >= s or p < 0 for p, s in zip(output_padding, settings.strides)):
            raise RuleError(f"output_padding {list(output_padding)} must be at least 0 and strictly less "
                            f"than strides {list(settings.strides)}")
        declared = config.get("output_shape")  # Keras 1's Deconvolution2D states its output
        out_spatial: list[Dim] = []
        notes: list[str] = []
        if isinstance(declared, list) and len(declared) == rank + 2 and "nb_filter" in config:
            declared_shape = tuple(d if isinstance(d, int) and not isinstance(d, bool) else None for d in declared)
            out_spatial = list(spatial_split(declared_shape, rank, settings.first)[1])
            notes.append(f"output_shape {format_shape(declared_shape)} as declared")
        else:
            for axis, length in enumerate(settings.spatial):
                out, note = _transpose_length(length, settings.kernel[axis], settings.strides[axis],
                                              settings.padding, None if output_padding is None
                                              else output_padding[axis], settings.dilation[axis],
                                              _axis_name(rank, axis))
                out_spatial.append(out)
                notes.append(note)
        variables = [Variable("kernel", settings.kernel + (filters, settings.channels))]
        if settings.bias:
            variables.append(Variable("bias", (filters,)))
        return LayerResult(
            output_shapes=(settings.output(out_spatial, filters),),
            variables=tuple(variables),
            formulas=(_per_filter(settings.window_factors(), (settings.channels, "input channels"), settings.bias,
                                  filters),),
            shape_notes=tuple(notes),
        )
    return rule


def _depth_multiplier(config: Mapping[str, Any]) -> int:
    return positive_int(config, "depth_multiplier", default=1)


def _separable(rank: int) -> Rule:
    def rule(call: LayerCall) -> LayerResult:
        config = call.config
        causal = rank == 1 and call.flavor != "keras3"  # Keras 3 dropped causal separable convolutions
        settings = _read_conv(call, rank, ("valid", "same", "causal") if causal else ("valid", "same"))
        filters = positive_int(config, "filters", "nb_filter")
        multiplier = _depth_multiplier(config)
        if call.flavor != "keras3":
            _no_strided_dilation(settings)
        out_spatial, notes = _window_output(settings)
        channels = settings.channels
        middle = channels * multiplier
        variables = [Variable("depthwise_kernel", settings.kernel + (channels, multiplier)),
                     Variable("pointwise_kernel", (1,) * rank + (middle, filters))]
        if settings.bias:
            variables.append(Variable("bias", (filters,)))
        return LayerResult(
            output_shapes=(settings.output(out_spatial, filters),),
            variables=tuple(variables),
            formulas=(
                formula(settings.window_factors(), times=[(channels, "input channels"),
                                                          (multiplier, "depth multiplier")],
                        label="depthwise, per input channel"),
                _per_filter([], (middle, f"depthwise outputs ({channels} channels × {multiplier} multiplier)"),
                            settings.bias, filters, "pointwise, per filter"),
            ),
            shape_notes=tuple(notes),
        )
    return rule


def _depthwise(rank: int) -> Rule:
    def rule(call: LayerCall) -> LayerResult:
        settings = _read_conv(call, rank)
        multiplier = _depth_multiplier(call.config)
        if call.flavor != "keras3":
            _no_strided_dilation(settings)
        out_spatial, notes = _window_output(settings)
        channels = settings.channels
        kernel_name = "kernel" if call.flavor == "keras3" else "depthwise_kernel"
        variables = [Variable(kernel_name, settings.kernel + (channels, multiplier))]
        if settings.bias:
            variables.append(Variable("bias", (channels * multiplier,)))
        return LayerResult(
            output_shapes=(settings.output(out_spatial, channels * multiplier),),
            variables=tuple(variables),
            formulas=(formula(settings.window_factors(), [(1 if settings.bias else 0, "bias")],
                              times=[(channels, "input channels"), (multiplier, "depth multiplier")],
                              label="per output channel"),),
            shape_notes=tuple(notes),
        )
    return rule


def _connected_span(length: int, kernel: int, stride: int, padding: str, outputs: int) -> int:
    """Input positions linked to each output position, summed (tf-keras's ``conv_connected_inputs``)."""
    left = kernel // 2
    right = kernel - left
    total = 0
    for position in range(outputs):
        center = position * stride + (left if padding == "valid" else 0)
        total += max(0, min(length, center + right) - max(0, center - left))
    return total


def _locally_connected(rank: int) -> Rule:
    def rule(call: LayerCall) -> LayerResult:
        config = call.config
        settings = _read_conv(call, rank)
        filters = positive_int(config, "filters", "nb_filter")
        implementation = config.get("implementation", 1)
        if implementation not in (1, 2, 3):
            raise RuleError(f"implementation must be 1, 2 or 3, not {implementation!r}")
        if implementation == 1 and settings.padding != "valid":
            raise RuleError("padding='same' needs implementation 2 or 3; implementation 1 supports only 'valid'")
        if any(length is None for length in settings.spatial):
            raise RuleError(f"the spatial dimensions of input {format_shape(call.input_shape)} must be defined "
                            "for a locally connected layer")
        out_spatial, notes = _window_output(settings)
        spatial = [d for d in settings.spatial if d is not None]
        outputs = [d for d in out_spatial if d is not None]
        positions = prod(outputs)
        channels = settings.channels
        bias = settings.bias
        times = [(filters, "filters"), (positions, "output positions")]
        if implementation == 1:
            kernel_shape: tuple[int, ...] = (positions, settings.window * channels, filters)
            counted = formula(settings.window_factors() + [(channels, "input channels")],
                              [(1 if bias else 0, "bias")], times=times, label="per filter and position")
        elif implementation == 2:
            if settings.first:
                kernel_shape = (channels, *spatial, filters, *outputs)
            else:
                kernel_shape = (*spatial, channels, *outputs, filters)
            counted = formula([(prod(spatial), "input positions (dense, masked)"), (channels, "input channels")],
                              [(1 if bias else 0, "bias")], times=times, label="per filter and position")
        else:
            span = prod(_connected_span(length, k, s, settings.padding, out)
                        for length, k, s, out in zip(spatial, settings.kernel, settings.strides, outputs))
            kernel_shape = (span * channels * filters,)
            counted = formula([(span, "connected input positions, summed over outputs"),
                               (channels, "input channels")],
                              [(positions if bias else 0, "output positions (bias)")],
                              times=[(filters, "filters")], label="per filter")
        variables = [Variable("kernel", kernel_shape)]
        if bias:
            variables.append(Variable("bias", (*outputs, filters)))
        return LayerResult(
            output_shapes=(settings.output(out_spatial, filters),),
            variables=tuple(variables),
            formulas=(counted,),
            shape_notes=tuple(notes),
        )
    return rule


@hookimpl
def kerasparams_layer_rules() -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for rank in (1, 2, 3):
        conv, transpose = _conv(rank), _conv_transpose(rank)
        for name in (f"Conv{rank}D", f"Convolution{rank}D", f"AtrousConvolution{rank}D", f"AtrousConv{rank}D"):
            rules[name] = conv
        for name in (f"Conv{rank}DTranspose", f"Convolution{rank}DTranspose", f"Deconvolution{rank}D",
                     f"Deconv{rank}D"):
            rules[name] = transpose
    for rank in (1, 2):
        separable = _separable(rank)
        for name in (f"SeparableConv{rank}D", f"SeparableConvolution{rank}D"):
            rules[name] = separable
        rules[f"DepthwiseConv{rank}D"] = _depthwise(rank)
        rules[f"LocallyConnected{rank}D"] = _locally_connected(rank)
    return rules
