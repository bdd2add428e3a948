"""Layers of past Keras eras: CuDNNLSTM and CuDNNGRU (Keras 2 and TF 1.x tf.keras), Keras 1's TimeDistributedDense.

cuDNN keeps two bias vectors per gate, one added to the input projection and
one to the recurrent projection, so the bias is twice as long as an LSTM's or
a GRU's (8 x units and 6 x units). Keras stores it as one vector: all the
input-side gate biases first, then all the recurrent-side ones. The weights
live on the layer itself (``cu_dnnlstm/kernel``), not on a cell.
"""

from __future__ import annotations

from typing import Sequence

from ..api import LayerCall, LayerResult, Rule, Variable, formula
from ..hookspecs import hookimpl
from ._common import positive_int
from .core import dense
from .recurrent import GRU_GATES, LSTM_GATES, Cell, cell_layer, sequence_features


def _cudnn_bias_blocks(gates: Sequence[str]) -> tuple[str, ...]:
    """The bias layout: every gate's input bias, then every gate's recurrent bias."""
    return tuple(f"{gate} (input bias)" for gate in gates) + tuple(f"{gate} (recurrent bias)" for gate in gates)


def _cudnn_cell(call: LayerCall, gates: Sequence[str], states: int) -> Cell:
    units = positive_int(call.config, "units", "output_dim")
    features = sequence_features(call)
    width = units * len(gates)
    variables = (
        Variable("kernel", (features, width), blocks=tuple(gates)),
        Variable("recurrent_kernel", (units, width), blocks=tuple(gates)),
        Variable("bias", (2 * width,), blocks=_cudnn_bias_blocks(gates)),
    )
    derivation = formula([(features, "input features")], [(units, "recurrent units")],
                         [(2, "biases (input and recurrent)")],
                         times=[(units, "units"), (len(gates), "gates")], label="per gate and unit")
    return Cell(variables, (derivation,), units, (units,) * states)


def cudnn_lstm(call: LayerCall) -> LayerResult:
    """CuDNNLSTM: LSTM gates, two states, and a bias of 8 x units."""
    return cell_layer(call, _cudnn_cell(call, LSTM_GATES, states=2))


def cudnn_gru(call: LayerCall) -> LayerResult:
    """CuDNNGRU: GRU gates (always reset-after in cuDNN), one state, and a bias of 6 x units."""
    return cell_layer(call, _cudnn_cell(call, GRU_GATES, states=1))


def time_distributed_dense(call: LayerCall) -> LayerResult:
    """Keras 1's TimeDistributedDense: one Dense (``output_dim``) applied at every time step."""
    sequence_features(call)
    return dense(call)


@hookimpl
def kerasparams_layer_rules() -> dict[str, Rule]:
    return {"CuDNNLSTM": cudnn_lstm, "CuDNNGRU": cudnn_gru, "TimeDistributedDense": time_distributed_dense}
