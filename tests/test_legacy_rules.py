"""CuDNNLSTM / CuDNNGRU and Keras 1 recurrent configs: hand-written fixtures, derived by hand.

Current Keras 3 has no CuDNN layers and no Keras 1 loader, so these files
are written out here in the format of their era. The expected figures are
derived in each test from the documented weight layout, never from our code:

* cuDNN's LSTM keeps, for each of its 4 gates (input, forget, cell, output),
  an input kernel ``features x units``, a recurrent kernel ``units x units``
  and *two* biases (one added to the input projection, one to the recurrent
  one). Keras (``CuDNNLSTM.build``) stores them as ``kernel (features, 4u)``,
  ``recurrent_kernel (u, 4u)`` and ``bias (8u,)``: the 4 input biases, then
  the 4 recurrent biases. CuDNNGRU is the same with 3 gates: ``bias (6u,)``.
* Keras 1 LSTM/GRU/SimpleRNN used ``output_dim`` for the units and had one
  bias per gate: ``W_g (features, u)``, ``U_g (u, u)``, ``b_g (u,)``.

Where tf-keras can still build the CuDNN layers on a CPU (it can, without
running them), a differential test confirms the derivations.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_kerasparams.analysis import analyze_text
from pytest_kerasparams.problems import InputError
from pytest_kerasparams.registry import build_rule_table, make_plugin_manager

LSTM_GATES = 4
GRU_GATES = 3


@pytest.fixture(scope="module")
def rules():
    manager, errors = make_plugin_manager(entry_points=False, modules=["pytest_kerasparams.rules.legacy"])
    assert not errors
    return build_rule_table(manager, errors)


def _keras2_sequential(*layers: dict[str, Any], version: str = "2.1.6") -> str:
    """A Keras 2.0-2.2.2 Sequential file: the config is a bare list; the first layer has batch_input_shape."""
    return json.dumps({"class_name": "Sequential", "keras_version": version, "backend": "tensorflow",
                       "config": list(layers)})


def _layer(class_name: str, **config: Any) -> dict[str, Any]:
    return {"class_name": class_name, "config": {"trainable": True, **config}}


def _cudnn(class_name: str, name: str, units: int, **extra: Any) -> dict[str, Any]:
    return _layer(class_name, name=name, units=units, return_sequences=extra.pop("return_sequences", False),
                  return_state=extra.pop("return_state", False), go_backwards=False, stateful=False,
                  kernel_initializer={"class_name": "VarianceScaling", "config": {}},
                  recurrent_initializer={"class_name": "Orthogonal", "config": {"gain": 1.0}},
                  bias_initializer={"class_name": "Zeros", "config": {}}, unit_forget_bias=True, **extra)


def test_cudnn_lstm_has_a_double_bias(rules):
    features, units, steps = 1, 100, 48
    kernel = features * LSTM_GATES * units                  # 400
    recurrent = units * LSTM_GATES * units                  # 40,000
    bias = 2 * LSTM_GATES * units                           # 800: input-side and recurrent-side, per gate
    text = _keras2_sequential(_cudnn("CuDNNLSTM", "cu_dnnlstm_1", units, batch_input_shape=[None, steps, features]),
                              _layer("Dense", name="dense_1", units=1, use_bias=True))
    report = analyze_text(text, rules=rules, validate_schema=False).report
    lstm = report.find("cu_dnnlstm_1")
    assert lstm.output_shapes[0] == ((None, units),)
    assert lstm.params == kernel + recurrent + bias == 41_200
    assert [(v.name, v.shape) for v in lstm.variables] == [
        ("kernel", (1, 400)), ("recurrent_kernel", (100, 400)), ("bias", (800,))]
    (derivation,) = lstm.result.formulas
    assert derivation.render() == ("(1 input features + 100 recurrent units + 2 biases (input and recurrent))"
                                   " × 100 units × 4 gates = 41,200")
    assert lstm.variables[2].blocks == (
        "input gate (input bias)", "forget gate (input bias)", "cell candidate (input bias)",
        "output gate (input bias)", "input gate (recurrent bias)", "forget gate (recurrent bias)",
        "cell candidate (recurrent bias)", "output gate (recurrent bias)")
    assert report.total == 41_200 + (units + 1)


def test_cudnn_gru_has_a_double_bias_and_returns_sequences(rules):
    features, units, steps = 8, 16, 20
    expected = features * GRU_GATES * units + units * GRU_GATES * units + 2 * GRU_GATES * units  # 1,248
    text = _keras2_sequential(_cudnn("CuDNNGRU", "cu_dnngru_1", units, return_sequences=True,
                                     batch_input_shape=[None, steps, features]))
    gru = analyze_text(text, rules=rules, validate_schema=False).report.find("cu_dnngru_1")
    assert gru.output_shapes[0] == ((None, steps, units),)
    assert gru.params == expected == 1_248
    assert gru.variables[2].shape == (6 * units,)
    assert gru.variables[0].blocks == ("update gate", "reset gate", "candidate")


def test_bidirectional_cudnn_gru_doubles_everything(rules):
    features, units, steps = 5, 32, 10
    per_direction = GRU_GATES * (features + units + 2) * units  # 3,744
    bidirectional = _layer("Bidirectional", name="bidirectional_1", merge_mode="concat",
                           layer=_cudnn("CuDNNGRU", "cu_dnngru_1", units, return_sequences=True),
                           batch_input_shape=[None, steps, features])
    report = analyze_text(_keras2_sequential(bidirectional), rules=rules, validate_schema=False).report
    row = report.find("bidirectional_1")
    assert row.output_shapes[0] == ((None, steps, 2 * units),)
    assert row.params == 2 * per_direction == 7_488
    assert [v.name for v in row.variables] == [
        "forward_cu_dnngru_1/kernel", "forward_cu_dnngru_1/recurrent_kernel", "forward_cu_dnngru_1/bias",
        "backward_cu_dnngru_1/kernel", "backward_cu_dnngru_1/recurrent_kernel", "backward_cu_dnngru_1/bias"]


def test_cudnn_lstm_states_in_a_keras2_functional_model(rules):
    """return_state gives the output, then h and c, each (batch, units)."""
    units = 64
    text = json.dumps({"class_name": "Model", "keras_version": "2.2.4", "backend": "tensorflow", "config": {
        "name": "encoder",
        "layers": [
            {"name": "encoder_inputs", "class_name": "InputLayer", "inbound_nodes": [],
             "config": {"name": "encoder_inputs", "batch_input_shape": [None, None, 71], "sparse": False}},
            {"name": "encoder_lstm", "class_name": "CuDNNLSTM", "inbound_nodes": [[["encoder_inputs", 0, 0, {}]]],
             "config": {"name": "encoder_lstm", "units": units, "return_sequences": False, "return_state": True,
                        "go_backwards": False, "stateful": False, "trainable": True}},
        ],
        "input_layers": [["encoder_inputs", 0, 0]],
        "output_layers": [["encoder_lstm", 0, 1], ["encoder_lstm", 0, 2]],
    }})
    analysis = analyze_text(text, rules=rules, validate_schema=False)
    row = analysis.report.find("encoder_lstm")
    assert row.output_shapes[0] == ((None, units), (None, units), (None, units))
    assert row.params == LSTM_GATES * (71 + units + 2) * units == 35_072
    assert analysis.report.output_shapes == ((None, units), (None, units))


def test_cudnn_layer_rejects_a_rank_two_input(rules):
    text = _keras2_sequential(_cudnn("CuDNNLSTM", "cu_dnnlstm_1", 4, batch_input_shape=[None, 3]))
    with pytest.raises(InputError) as caught:
        analyze_text(text, rules=rules, validate_schema=False)
    assert "rank 3" in str(caught.value) and caught.value.problem.kind == "shape"


@pytest.mark.parametrize("class_name", ["CuDNNLSTM", "CuDNNGRU"])
def test_cudnn_needs_the_legacy_rules(class_name):
    """Without the legacy module, the default table may or may not know CuDNN layers; never a traceback."""
    text = _keras2_sequential(_cudnn(class_name, "cudnn", 4, batch_input_shape=[None, 5, 3]))
    try:
        analysis = analyze_text(text, validate_schema=False)
    except InputError as error:
        assert error.problem.kind == "no-rule"
    else:
        assert analysis.report.total > 0


# --------------------------------------------------------------------------- Keras 1 argument names


def _keras1_sequential(*layers: dict[str, Any]) -> str:
    return json.dumps({"class_name": "Sequential", "keras_version": "1.2.2", "config": list(layers)})


def _keras1_recurrent(class_name: str, name: str, output_dim: int, **extra: Any) -> dict[str, Any]:
    """A Keras 1.2 recurrent layer config, with the era's argument names."""
    return _layer(class_name, name=name, output_dim=output_dim, init="glorot_uniform", inner_init="orthogonal",
                  activation="tanh", inner_activation="hard_sigmoid", W_regularizer=None, U_regularizer=None,
                  b_regularizer=None, dropout_W=0.0, dropout_U=0.0, consume_less="cpu",
                  go_backwards=False, stateful=False, unroll=False, input_dim=extra.pop("input_dim", None),
                  input_length=extra.pop("input_length", None), **extra)


def test_keras1_recurrent_layers_use_output_dim(rules):
    steps, features = 20, 10
    lstm_units, gru_units, rnn_units = 32, 8, 4
    # Keras 1: per gate W (features, u), U (u, u), b (u,): LSTM has 4 gates, GRU 3, SimpleRNN 1.
    lstm = LSTM_GATES * (features * lstm_units + lstm_units * lstm_units + lstm_units)        # 5,504
    gru = GRU_GATES * (lstm_units * gru_units + gru_units * gru_units + gru_units)             # 984
    simple = gru_units * rnn_units + rnn_units * rnn_units + rnn_units                         # 52
    text = _keras1_sequential(
        _keras1_recurrent("LSTM", "lstm_1", lstm_units, return_sequences=True,
                          batch_input_shape=[None, steps, features], forget_bias_init="one"),
        _keras1_recurrent("GRU", "gru_1", gru_units, return_sequences=True),
        _keras1_recurrent("SimpleRNN", "simplernn_1", rnn_units, return_sequences=False),
    )
    analysis = analyze_text(text, rules=rules, validate_schema=False)
    assert analysis.model.flavor == "keras1"
    report = analysis.report
    assert report.find("lstm_1").output_shapes[0] == ((None, steps, lstm_units),)
    assert report.find("gru_1").output_shapes[0] == ((None, steps, gru_units),)
    assert report.find("simplernn_1").output_shapes[0] == ((None, rnn_units),)
    assert [report.find(n).params for n in ("lstm_1", "gru_1", "simplernn_1")] == [lstm, gru, simple]
    assert (lstm, gru, simple) == (5_504, 984, 52)
    assert report.find("gru_1").variables[2].shape == (3 * gru_units,)  # Keras 1 had no reset_after


def test_keras1_time_distributed_dense(rules):
    """Keras 1 TimeDistributedDense: W (input_dim, output_dim) and b (output_dim,), shared over the steps."""
    steps, features, units = 12, 6, 5
    text = _keras1_sequential(
        _keras1_recurrent("GRU", "gru_1", features, return_sequences=True, batch_input_shape=[None, steps, 3]),
        _layer("TimeDistributedDense", name="timedistributeddense_1", output_dim=units, init="glorot_uniform",
               activation="linear", W_regularizer=None, b_regularizer=None, bias=True, input_dim=None,
               input_length=None),
        _layer("TimeDistributedDense", name="no_bias", output_dim=2, bias=False),
    )
    report = analyze_text(text, rules=rules, validate_schema=False).report
    row = report.find("timedistributeddense_1")
    assert row.output_shapes[0] == ((None, steps, units),)
    assert row.params == features * units + units == 35
    assert report.find("no_bias").params == units * 2
    assert report.find("no_bias").output_shapes[0] == ((None, steps, 2),)


def test_keras1_input_dim_and_input_length(rules):
    text = _keras1_sequential(_keras1_recurrent("LSTM", "lstm_1", 6, input_dim=3, input_length=7))
    report = analyze_text(text, rules=rules, validate_schema=False).report
    assert report.find("lstm_1").params == LSTM_GATES * (3 * 6 + 6 * 6 + 6)


def test_keras1_conv_lstm_arguments():
    """Keras 1.2 ConvLSTM2D: nb_filter, nb_row, nb_col, border_mode, subsample and dim_ordering."""
    filters, rows, cols, channels = 5, 3, 3, 2
    per_gate = rows * cols * channels * filters + rows * cols * filters * filters + filters  # 90 + 225 + 5 = 320
    text = _keras1_sequential(_layer(
        "ConvLSTM2D", name="convlstm2d_1", nb_filter=filters, nb_row=rows, nb_col=cols, border_mode="valid",
        subsample=[2, 2], dim_ordering="th", return_sequences=True, go_backwards=False, stateful=False,
        batch_input_shape=[None, 4, channels, 11, 9]))
    row = analyze_text(text, validate_schema=False).report.find("convlstm2d_1")
    # channels first: (batch, time, filters, rows', cols');
    # valid padding: floor((11 - 3) / 2) + 1 = 5 and floor((9 - 3) / 2) + 1 = 4
    assert row.output_shapes[0] == ((None, 4, filters, 5, 4),)
    assert row.params == LSTM_GATES * per_gate == 1_280


# --------------------------------------------------------------------------- the derivations, confirmed by tf-keras


def _tf_keras_rows(model: Any) -> list[dict[str, Any]]:
    from tests.keras_oracle import keras_rows

    return keras_rows(model, "tf_keras")


def test_tf_keras_confirms_the_cudnn_layout(rules):
    keras = pytest.importorskip("tf_keras")
    from tf_keras.src.layers.rnn.cudnn_gru import CuDNNGRU
    from tf_keras.src.layers.rnn.cudnn_lstm import CuDNNLSTM

    keras.backend.clear_session()
    inputs = keras.Input((7, 3))
    sequence, h, c = CuDNNLSTM(5, return_sequences=True, return_state=True)(inputs)
    both = keras.layers.Bidirectional(CuDNNGRU(4, return_sequences=True), merge_mode=None)(sequence)
    last = CuDNNGRU(2, trainable=False)(both[0])
    model = keras.Model(inputs, [h, c, *both, last])
    analysis = analyze_text(model.to_json(), rules=rules)
    for layer, want in zip(model.layers, _tf_keras_rows(model)):
        row = analysis.report.find(layer.name)
        output = row.summary_output()
        assert (output, row.params, row.trainable_params, row.non_trainable_params) == (
            want["output_shape"], want["params"], want["trainable"], want["non_trainable"]), layer.name
        names = [w.name.removesuffix(":0").removeprefix(f"{layer.name}/") for w in layer.weights]
        assert [v.name for v in row.variables] == names
        assert [v.shape for v in row.variables] == [tuple(w.shape) for w in layer.weights]
    assert analysis.report.total == model.count_params()
