"""Recurrent layers: SimpleRNN, GRU, LSTM, RNN over cells and ConvLSTM, one gate block per gate.

A recurrent layer owns a *cell* (``lstm_cell``, ``gru_cell``...): the cell
decides the weights, the layer only decides which outputs come back. Keras
names the weights under the cell, so ``lstm/lstm_cell/kernel``; the rules
return names relative to the layer (``lstm_cell/kernel``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from ..api import Formula, LayerCall, LayerResult, Rule, RuleError, Shape, Variable, formula
from ..hookspecs import hookimpl
from .convolutional import WINDOW_LABELS
from ._common import (channels_first, conv_output_length, format_shape, int_tuple, positive_int,
                      spatial_join, spatial_split, use_bias)

LSTM_GATES = ("input gate", "forget gate", "cell candidate", "output gate")
GRU_GATES = ("update gate", "reset gate", "candidate")
MAX_STACKED_CELLS = 1024
"""More cells than this in one StackedRNNCells is not a model, it is an attack on the checker."""


@dataclass(frozen=True)
class Cell:
    """What one recurrent step owns: its weights, their derivation and the sizes it emits."""

    variables: tuple[Variable, ...]
    formulas: tuple[Formula, ...]
    output_size: int
    state_sizes: tuple[int, ...]

    def renamed(self, prefix: str) -> Cell:
        return Cell(tuple(v.renamed(prefix) for v in self.variables), self.formulas,
                    self.output_size, self.state_sizes)


def _gated_cell(config: Mapping[str, Any], features: int, gates: Sequence[str], bias_rows: int = 1,
                states: int = 1) -> Cell:
    """A cell whose kernels stack one block of ``units`` columns per gate."""
    units = positive_int(config, "units", "output_dim")
    width = units * len(gates)
    bias = use_bias(config)
    blocks = tuple(gates) if len(gates) > 1 else ()
    variables = [Variable("kernel", (features, width), blocks=blocks),
                 Variable("recurrent_kernel", (units, width), blocks=blocks)]
    if bias:
        bias_shape = (width,) if bias_rows == 1 else (bias_rows, width)
        variables.append(Variable("bias", bias_shape, blocks=blocks))
    bias_label = "bias" if bias_rows == 1 else "biases (input and recurrent)"
    times = [(units, "units")] + ([(len(gates), "gates")] if len(gates) > 1 else [])
    derivation = formula([(features, "input features")], [(units, "recurrent units")],
                         [(bias_rows if bias else 0, bias_label)], times=times,
                         label="per gate and unit" if len(gates) > 1 else "per unit")
    return Cell(tuple(variables), (derivation,), units, (units,) * states)


def lstm_cell(config: Mapping[str, Any], features: int, flavor: str) -> Cell:
    """Four gates; two states (hidden ``h`` and carry ``c``), each ``units`` wide."""
    return _gated_cell(config, features, LSTM_GATES, states=2)


def gru_reset_after(config: Mapping[str, Any], flavor: str) -> bool:
    """``reset_after``; when the key is missing, each era's own default.

    Keras 2 before 2.2.0 had no such argument (so False), tf.keras 2 and
    Keras 3 default to True and always write the key.
    """
    value = config.get("reset_after")
    if value is None:
        return flavor in ("keras3", "tf-keras")
    if not isinstance(value, bool):
        raise RuleError(f"reset_after must be true or false, not {value!r}")
    return value


def gru_cell(config: Mapping[str, Any], features: int, flavor: str) -> Cell:
    """Three gates; ``reset_after`` keeps separate input and recurrent biases: shape (2, 3 x units)."""
    return _gated_cell(config, features, GRU_GATES, bias_rows=2 if gru_reset_after(config, flavor) else 1)


def simple_rnn_cell(config: Mapping[str, Any], features: int, flavor: str) -> Cell:
    return _gated_cell(config, features, ("unit",))


CellRule = Callable[[Mapping[str, Any], int, str], Cell]

CELL_RULES: dict[str, CellRule] = {
    "LSTMCell": lstm_cell,
    "GRUCell": gru_cell,
    "SimpleRNNCell": simple_rnn_cell,
}

DEFAULT_CELL_NAMES = {"LSTMCell": "lstm_cell", "GRUCell": "gru_cell", "SimpleRNNCell": "simple_rnn_cell",
                      "StackedRNNCells": "stacked_rnn_cells"}


def _cell_config(cell: Any, where: str) -> tuple[str, Mapping[str, Any]]:
    if not isinstance(cell, Mapping) or not isinstance(cell.get("class_name"), str) \
            or not isinstance(cell.get("config"), Mapping):
        raise RuleError(f"{where} is not a cell config with a class_name and a config")
    return cell["class_name"], cell["config"]


def _cell_name(class_name: str, config: Mapping[str, Any]) -> str:
    name = config.get("name")
    return name if isinstance(name, str) and name else DEFAULT_CELL_NAMES.get(class_name, class_name.lower())


def build_cell(cell: Any, features: int, flavor: str, where: str = "cell") -> Cell:
    """The weights of an RNN's ``cell`` setting: one cell, a StackedRNNCells, or a list of cells."""
    if isinstance(cell, list):
        return _stacked(cell, features, flavor, prefix="stacked_rnn_cells")
    class_name, config = _cell_config(cell, where)
    if class_name == "StackedRNNCells":
        cells = config.get("cells")
        if not isinstance(cells, list):
            raise RuleError("StackedRNNCells has no list of cells")
        return _stacked(cells, features, flavor, prefix=_cell_name(class_name, config))
    rule = CELL_RULES.get(class_name)
    if rule is None:
        raise RuleError(f"has no rule for the recurrent cell class {class_name}")
    built = rule(config, features, flavor)
    name = _cell_name(class_name, config)
    return Cell(tuple(v.renamed(name) for v in built.variables),
                tuple(Formula(f.terms, f.times, f"{name}, {f.label}".strip(", "), f.trainable)
                      for f in built.formulas),
                built.output_size, built.state_sizes)


def _stacked(cells: list[Any], features: int, flavor: str, prefix: str) -> Cell:
    """Cells run in sequence: each reads the previous cell's output; all states are kept."""
    if not cells:
        raise RuleError("StackedRNNCells has an empty list of cells")
    if len(cells) > MAX_STACKED_CELLS:
        raise RuleError(f"StackedRNNCells has {len(cells):,} cells, over the limit of {MAX_STACKED_CELLS:,}")
    variables: list[Variable] = []
    formulas: list[Formula] = []
    states: list[int] = []
    size = features
    for index, item in enumerate(cells):
        built = build_cell(item, size, flavor, where=f"cell {index} of StackedRNNCells")
        variables += [v.renamed(prefix) for v in built.variables]
        formulas += built.formulas
        states += built.state_sizes
        size = built.output_size
    return Cell(tuple(variables), tuple(formulas), size, tuple(states))


def _sequence_input(call: LayerCall) -> Shape:
    """The sequence; any further inputs are initial states (``initial_state=``), masks or constants."""
    if not call.input_shapes:
        raise RuleError("was called on no input")
    return call.input_shapes[0]


def _time_major(call: LayerCall) -> bool:
    """tf.keras's ``time_major``: inputs and sequence outputs are (time, batch, ...)."""
    return call.get("time_major", False) is True


def sequence_features(call: LayerCall) -> int:
    """The defined feature dimension of a (batch, timesteps, features) input."""
    shape = _sequence_input(call)
    axes = "(timesteps, batch, features)" if _time_major(call) else "(batch, timesteps, features)"
    if len(shape) != 3:
        raise RuleError(f"expects input of rank 3 {axes}, but got shape {format_shape(shape)} "
                        f"of rank {len(shape)}")
    if shape[2] is None:
        raise RuleError(f"the feature dimension of input {format_shape(shape)} must be defined "
                        "to build the weights")
    return shape[2]


def recurrent_outputs(call: LayerCall, output: Shape, states: Sequence[Shape]) -> tuple[Shape, ...]:
    """The last output (or the whole sequence), then the final states when ``return_state``.

    ``output`` and ``states`` are per-step shapes including the batch dimension.
    """
    shape = _sequence_input(call)
    batch, steps = (shape[1], shape[0]) if _time_major(call) else (shape[0], shape[1])
    if call.get("stateful", False) is True and batch is None:
        raise RuleError(f"is stateful, so it needs a fixed batch size, but its input shape is "
                        f"{format_shape(shape)}; declare the batch size in the input (batch_shape)")
    if call.get("unroll", False) is True and steps is None and call.flavor != "keras3":
        raise RuleError(f"is unrolled, which needs a fixed number of timesteps, but its input shape is "
                        f"{format_shape(shape)}")
    if call.get("return_sequences", False):
        if _time_major(call):
            output = (shape[0], shape[1]) + output[1:]
        else:
            output = (output[0], shape[1]) + output[1:]
    if call.get("return_state", False):
        return (output, *states)
    return (output,)


def cell_layer(call: LayerCall, cell: Cell) -> LayerResult:
    """A whole recurrent layer from its cell: weights of the cell, outputs of the layer."""
    shape = _sequence_input(call)
    batch = shape[1] if _time_major(call) else shape[0]
    outputs = recurrent_outputs(call, (batch, cell.output_size), [(batch, s) for s in cell.state_sizes])
    return LayerResult(output_shapes=outputs, variables=cell.variables, formulas=cell.formulas)


def _builtin_cell_layer(cell_rule: CellRule, cell_name: str) -> Rule:
    """LSTM, GRU, SimpleRNN: the layer's config is also its cell's config, and the cell has a fixed name."""
    def rule(call: LayerCall) -> LayerResult:
        features = sequence_features(call)
        built = cell_rule(call.config, features, call.flavor)
        return cell_layer(call, built.renamed(cell_name))
    rule.__doc__ = f"The layer around a {cell_name}: weights are named {cell_name}/kernel and so on."
    return rule


lstm = _builtin_cell_layer(lstm_cell, "lstm_cell")
gru = _builtin_cell_layer(gru_cell, "gru_cell")
simple_rnn = _builtin_cell_layer(simple_rnn_cell, "simple_rnn_cell")


def rnn(call: LayerCall) -> LayerResult:
    """``RNN(cell)``: the generic layer; its config holds the cell (or the stacked cells)."""
    features = sequence_features(call)
    if call.get("cell") is None:
        raise RuleError("has no cell in its config")
    return cell_layer(call, build_cell(call.get("cell"), features, call.flavor))


def _conv_lstm_settings(config: Mapping[str, Any], rank: int) -> tuple[int, tuple[int, ...], tuple[int, ...],
                                                                       tuple[int, ...], str, bool]:
    """filters, kernel, strides, dilation, padding and channels_first, also from Keras 1 names."""
    filters = positive_int(config, "filters", "nb_filter")
    if "kernel_size" in config:
        kernel = int_tuple(config.get("kernel_size"), rank, "kernel_size")
    elif rank == 2 and "nb_row" in config and "nb_col" in config:
        kernel = int_tuple([config["nb_row"], config["nb_col"]], rank, "nb_row and nb_col")
    else:
        raise RuleError("kernel_size is missing")
    strides = int_tuple(config.get("strides", config.get("subsample", 1)), rank, "strides")
    dilation = int_tuple(config.get("dilation_rate", 1), rank, "dilation_rate")
    if any(s > 1 for s in strides) and any(d > 1 for d in dilation):
        raise RuleError(f"strides > 1 cannot be combined with dilation_rate > 1, but got strides={strides} "
                        f"and dilation_rate={dilation}")
    if any(v < 1 for v in kernel + strides + dilation):
        raise RuleError(f"kernel_size, strides and dilation_rate must be at least 1, not {kernel}, {strides} "
                        f"and {dilation}")
    padding = config.get("padding", config.get("border_mode", "valid"))
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise RuleError(f"padding must be 'valid' or 'same', not {padding!r}")
    ordering = config.get("dim_ordering")
    if "data_format" not in config and ordering in ("th", "tf"):
        first = ordering == "th"
    else:
        first = channels_first(config)
    return filters, kernel, strides, dilation, padding.lower(), first


def _conv_lstm(rank: int) -> Rule:
    def rule(call: LayerCall) -> LayerResult:
        shape = _sequence_input(call)
        if len(shape) != rank + 3:
            raise RuleError(f"expects input of rank {rank + 3} (batch, time, {rank} spatial dimension(s) and "
                            f"channels), but got shape {format_shape(shape)}")
        filters, kernel, strides, dilation, padding, first = _conv_lstm_settings(call.config, rank)
        batch = shape[0]
        _, spatial, channels = spatial_split((batch,) + shape[2:], rank, first)
        if channels is None:
            raise RuleError(f"the channel dimension of input {format_shape(shape)} must be defined")
        out_spatial, notes = [], []
        for axis, length in enumerate(spatial):
            out, note = conv_output_length(length, kernel[axis], strides[axis], padding, dilation[axis],
                                           f"spatial dimension {axis + 1}")
            out_spatial.append(out)
            notes.append(note)
        state = spatial_join(batch, out_spatial, filters, first)
        bias = use_bias(call.config)
        variables = [Variable("kernel", kernel + (channels, 4 * filters), blocks=LSTM_GATES),
                     Variable("recurrent_kernel", kernel + (filters, 4 * filters), blocks=LSTM_GATES)]
        if bias:
            variables.append(Variable("bias", (4 * filters,), blocks=LSTM_GATES))
        if call.flavor == "keras3":  # Keras 3 builds them in a ConvLSTMCell; tf.keras in the layer itself
            variables = [v.renamed("conv_lstm_cell") for v in variables]
        window = list(zip(kernel, WINDOW_LABELS[rank]))
        return LayerResult(
            output_shapes=recurrent_outputs(call, state, (state, state)),
            variables=tuple(variables),
            formulas=(formula(window + [(channels, "input channels")],
                              window + [(filters, "recurrent filters")],
                              [(1 if bias else 0, "bias")],
                              times=[(filters, "filters"), (4, "gates")], label="per gate and filter"),),
            shape_notes=tuple(notes),
        )
    rule.__doc__ = f"ConvLSTM{rank}D: an LSTM whose gates are {rank}D convolutions; states keep the spatial shape."
    return rule


@hookimpl
def kerasparams_layer_rules() -> dict[str, Rule]:
    return {
        "LSTM": lstm,
        "GRU": gru,
        "SimpleRNN": simple_rnn,
        "RNN": rnn,
        "ConvLSTM1D": _conv_lstm(1),
        "ConvLSTM2D": _conv_lstm(2),
        "ConvLSTM3D": _conv_lstm(3),
    }
