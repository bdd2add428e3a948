"""Recurrent layers: SimpleRNN, GRU, LSTM and ConvLSTM, one gate block per gate."""

from __future__ import annotations

from typing import Sequence

from ..api import LayerCall, LayerResult, Rule, RuleError, Shape, Variable, formula
from ..hookspecs import hookimpl
from ._common import (channels_first, conv_output_length, format_shape, int_tuple, positive_int,
                      spatial_join, spatial_split, use_bias)

LSTM_GATES = ("input gate", "forget gate", "cell candidate", "output gate")
GRU_GATES = ("update gate", "reset gate", "candidate")


def _sequence_input(call: LayerCall) -> Shape:
    """The sequence input; further inputs are initial states (``initial_state=``)."""
    if not call.input_shapes:
        raise RuleError("was called on no input")
    return call.input_shapes[0]


def _sequence_outputs(call: LayerCall, state: Shape, states: int) -> tuple[Shape, ...]:
    """Outputs of a recurrent layer: the sequence or last step, then states if asked."""
    shape = _sequence_input(call)
    output = (shape[0], shape[1]) + state[1:] if call.get("return_sequences", False) else state
    if call.get("return_state", False):
        return (output,) + (state,) * states
    return (output,)


def _features(call: LayerCall) -> int:
    shape = _sequence_input(call)
    if len(shape) != 3:
        raise RuleError(f"expects input of rank 3 (batch, timesteps, features), but got shape {format_shape(shape)}")
    if shape[2] is None:
        raise RuleError(f"the feature dimension of input {format_shape(shape)} must be defined")
    return shape[2]


def _gated(call: LayerCall, gates: Sequence[str], bias_rows: int = 1) -> LayerResult:
    units = positive_int(call.config, "units", "output_dim")
    features = _features(call)
    width = units * len(gates)
    bias = use_bias(call.config)
    blocks = tuple(gates) if len(gates) > 1 else ()
    variables = [Variable("kernel", (features, width), blocks=blocks),
                 Variable("recurrent_kernel", (units, width), blocks=blocks)]
    if bias:
        bias_shape = (width,) if bias_rows == 1 else (bias_rows, width)
        variables.append(Variable("bias", bias_shape, blocks=blocks))
    bias_label = "bias" if bias_rows == 1 else f"biases (input and recurrent)"
    times = [(units, "units")] + ([(len(gates), "gates")] if len(gates) > 1 else [])
    states = 2 if len(gates) == 4 else 1
    batch = _sequence_input(call)[0]
    return LayerResult(
        output_shapes=_sequence_outputs(call, (batch, units), states),
        variables=tuple(variables),
        formulas=(formula([(features, "input features")], [(units, "recurrent units")],
                          [(bias_rows if bias else 0, bias_label)], times=times,
                          label="per gate and unit" if len(gates) > 1 else "per unit"),),
    )


def lstm(call: LayerCall) -> LayerResult:
    return _gated(call, LSTM_GATES)


def gru(call: LayerCall) -> LayerResult:
    reset_after = call.get("reset_after", False)
    return _gated(call, GRU_GATES, bias_rows=2 if reset_after else 1)


def simple_rnn(call: LayerCall) -> LayerResult:
    return _gated(call, ("unit",))


def _conv_lstm(rank: int):
    def rule(call: LayerCall) -> LayerResult:
        config = call.config
        shape = _sequence_input(call)
        if len(shape) != rank + 3:
            raise RuleError(f"expects input of rank {rank + 3} (batch, time, {rank} spatial, channels), "
                            f"but got shape {format_shape(shape)}")
        first = channels_first(config)
        batch, time = shape[0], shape[1]
        _, spatial, channels = spatial_split((batch,) + shape[2:], rank, first)
        if channels is None:
            raise RuleError(f"the channel dimension of input {format_shape(shape)} must be defined")
        filters = positive_int(config, "filters")
        kernel = int_tuple(config.get("kernel_size"), rank, "kernel_size")
        strides = int_tuple(config.get("strides", 1), rank, "strides")
        dilation = int_tuple(config.get("dilation_rate", 1), rank, "dilation_rate")
        padding = str(config.get("padding", "valid")).lower()
        out_spatial, notes = [], []
        for axis, length in enumerate(spatial):
            out, note = conv_output_length(length, kernel[axis], strides[axis], padding, dilation[axis],
                                           f"spatial dimension {axis + 1}")
            out_spatial.append(out)
            notes.append(note)
        state = spatial_join(batch, out_spatial, filters, first)
        sequence = (batch, time) + state[1:]
        output = sequence if config.get("return_sequences", False) else state
        outputs = (output, state, state) if config.get("return_state", False) else (output,)
        bias = use_bias(config)
        window = 1
        for k in kernel:
            window *= k
        variables = [Variable("kernel", kernel + (channels, 4 * filters), blocks=LSTM_GATES),
                     Variable("recurrent_kernel", kernel + (filters, 4 * filters), blocks=LSTM_GATES)]
        if bias:
            variables.append(Variable("bias", (4 * filters,), blocks=LSTM_GATES))
        window_label = " × ".join(str(k) for k in kernel) + " window"
        return LayerResult(
            output_shapes=outputs,
            variables=tuple(variables),
            formulas=(formula([(window, window_label), (channels, "input channels")],
                              [(window, window_label), (filters, "recurrent filters")],
                              [(1 if bias else 0, "bias")],
                              times=[(filters, "filters"), (4, "gates")], label="per gate and filter"),),
            shape_notes=tuple(notes),
        )
    return rule


@hookimpl
def kerasparams_layer_rules() -> dict[str, Rule]:
    return {
        "LSTM": lstm,
        "GRU": gru,
        "SimpleRNN": simple_rnn,
        "ConvLSTM1D": _conv_lstm(1),
        "ConvLSTM2D": _conv_lstm(2),
        "ConvLSTM3D": _conv_lstm(3),
    }
