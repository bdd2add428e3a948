"""Recurrent layers and wrappers against real Keras, in both flavors.

Every expected figure (output shapes, parameter counts, trainable split,
weight names and shapes) comes from Keras itself; the tests only choose
which models to build.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.keras_oracle import FLAVORS, assert_agrees_with_keras, keras_module

# --------------------------------------------------------------------------- helpers


def _keras_weights(layer: Any, flavor: str) -> list[tuple[str, tuple[int, ...], bool]]:
    """``(name relative to the layer, shape, trainable)`` of each weight, in ``layer.weights`` order."""
    out = []
    trainable_ids = {id(w) for w in layer.trainable_weights}
    for weight in layer.weights:
        path = (weight.path if flavor == "keras3" else weight.name).removesuffix(":0").split("/")
        # Keras 3 paths may start with the enclosing model's name: drop everything up to the layer's own.
        name = "/".join(path[path.index(layer.name) + 1:] if layer.name in path else path)
        out.append((name, tuple(int(d) for d in weight.shape), id(weight) in trainable_ids))
    return out


def _check_weight_names(model: Any, analysis: Any, flavor: str) -> None:
    for layer in model.layers:
        report = analysis.report.find(layer.name)
        if report is None or report.nested is not None:
            continue
        got = [(v.name, v.shape, v.trainable) for v in report.variables]
        assert got == _keras_weights(layer, flavor), f"weights of layer {layer.name}"


def _check_formulas(analysis: Any) -> None:
    """Every derivation adds up to the layer's count, and gate blocks slice the last axis evenly."""
    for report in analysis.report.rows:
        if report.result is None or report.nested is not None:
            continue
        if report.result.formulas:
            assert sum(f.value for f in report.result.formulas) == report.params, report.name
        for variable in report.variables:
            if variable.blocks:
                assert variable.shape[-1] % len(variable.blocks) == 0, (report.name, variable)


def agrees(build, flavor: str, names: bool = True) -> Any:
    """Compare with Keras; with ``names``, also each weight's name, shape and trainable flag."""
    keras = keras_module(flavor)
    keras.backend.clear_session()
    built: list[Any] = []

    def remembering_build(k):
        built.append(build(k))
        return built[-1]

    analysis = assert_agrees_with_keras(remembering_build, flavor)
    _check_formulas(analysis)
    if names:
        _check_weight_names(built[0], analysis, flavor)
    return analysis


# --------------------------------------------------------------------------- LSTM, GRU, SimpleRNN


def _lstm_options(keras):
    L = keras.layers
    inputs = keras.Input((7, 3))
    x = L.LSTM(5, return_sequences=True, go_backwards=True)(inputs)
    x = L.LSTM(4, use_bias=False, return_sequences=True)(x)
    out, h, c = L.LSTM(6, return_state=True)(x)
    return keras.Model(inputs, [out, h, c])


def _gru_options(keras):
    L = keras.layers
    inputs = keras.Input((None, 3))
    x = L.GRU(5, return_sequences=True, reset_after=True)(inputs)
    x = L.GRU(4, return_sequences=True, reset_after=False)(x)
    x = L.GRU(3, use_bias=False, reset_after=True, return_sequences=True)(x)
    x = L.GRU(3, use_bias=False, reset_after=False, go_backwards=True)(x)
    out, h = L.GRU(2, return_state=True)(inputs)
    return keras.Model(inputs, [x, out, h])


def _simple_rnn_options(keras):
    L = keras.layers
    inputs = keras.Input((6, 2))
    x = L.SimpleRNN(4, return_sequences=True)(inputs)
    x = L.SimpleRNN(3, use_bias=False, go_backwards=True, return_sequences=True)(x)
    out, h = L.SimpleRNN(5, return_state=True, return_sequences=True)(x)
    return keras.Model(inputs, [out, h])


def _sequential_stack(keras):
    L = keras.layers
    return keras.Sequential([
        keras.Input((10, 1)),
        L.LSTM(100, return_sequences=True),
        L.GRU(20, return_sequences=True),
        L.SimpleRNN(8),
        L.Dense(1),
    ])


def _initial_state(keras):
    """Initial states are extra inputs of the layer's call; the weights do not change."""
    L = keras.layers
    sequence = keras.Input((5, 3))
    h = keras.Input((4,))
    c = keras.Input((4,))
    out = L.LSTM(4, return_sequences=True)(sequence, initial_state=[h, c])
    g = L.GRU(4)(sequence, initial_state=[h])
    r = L.SimpleRNN(4)(sequence, initial_state=h)
    return keras.Model([sequence, h, c], [out, g, r])


def _encoder_decoder(keras):
    """The classic seq2seq: the encoder's states start the decoder."""
    L = keras.layers
    encoder_inputs = keras.Input((None, 12))
    _, h, c = L.LSTM(16, return_state=True)(encoder_inputs)
    decoder_inputs = keras.Input((None, 9))
    decoded = L.LSTM(16, return_sequences=True)(decoder_inputs, initial_state=[h, c])
    outputs = L.Dense(9, activation="softmax")(decoded)
    return keras.Model([encoder_inputs, decoder_inputs], outputs)


def _stateful(keras):
    L = keras.layers
    inputs = keras.Input(batch_shape=(4, 6, 3))
    x = L.LSTM(5, stateful=True, return_sequences=True)(inputs)
    x = L.GRU(3, stateful=True, return_sequences=True)(x)
    x = L.SimpleRNN(2, stateful=True)(x)
    return keras.Model(inputs, x)


def _embedded_text(keras):
    L = keras.layers
    return keras.Sequential([
        keras.Input((20,)),
        L.Embedding(1000, 16, mask_zero=True),
        L.LSTM(32),
        L.Dense(1, activation="sigmoid"),
    ])


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("build", [_lstm_options, _gru_options, _simple_rnn_options, _sequential_stack,
                                   _initial_state, _encoder_decoder, _stateful, _embedded_text])
def test_recurrent_layers(build, flavor):
    agrees(build, flavor)


def _time_major(keras):
    L = keras.layers
    inputs = keras.Input(batch_shape=(7, 2, 3))
    x = L.LSTM(4, time_major=True, return_sequences=True)(inputs)
    out, h = L.GRU(3, time_major=True, return_state=True, return_sequences=True)(x)
    return keras.Model(inputs, [out, h])


@pytest.mark.parametrize("flavor", FLAVORS)
def test_time_major_tf_keras(flavor):
    if flavor != "tf_keras":
        pytest.skip("time_major exists only in tf.keras")
    agrees(_time_major, flavor)


# --------------------------------------------------------------------------- RNN over cells


def _rnn_cells(keras):
    L = keras.layers
    inputs = keras.Input((6, 3))
    a = L.RNN(L.SimpleRNNCell(4), return_sequences=True)(inputs)
    b = L.RNN(L.LSTMCell(5))(a)
    c = L.RNN(L.GRUCell(3, reset_after=False), go_backwards=True)(a)
    d, state = L.RNN(L.GRUCell(3, reset_after=True), return_state=True)(a)
    e = L.RNN(L.LSTMCell(2, use_bias=False), return_sequences=True)(inputs)
    return keras.Model(inputs, [b, c, d, state, e])


def _stacked_cells(keras):
    L = keras.layers
    inputs = keras.Input((6, 3))
    stacked = L.StackedRNNCells([L.LSTMCell(5), L.GRUCell(4), L.SimpleRNNCell(2)])
    seq = L.RNN(stacked, return_sequences=True)(inputs)
    listed = L.RNN([L.SimpleRNNCell(3), L.LSTMCell(2)])(seq)
    nested = L.RNN(L.StackedRNNCells([L.StackedRNNCells([L.LSTMCell(4), L.GRUCell(3)]), L.SimpleRNNCell(2)]))(seq)
    return keras.Model(inputs, [seq, listed, nested])


def _stacked_cells_states(keras):
    """return_state over stacked cells: every cell's states, flattened in order."""
    L = keras.layers
    inputs = keras.Input((6, 3))
    outputs = L.RNN(L.StackedRNNCells([L.LSTMCell(5), L.GRUCell(4)]), return_state=True)(inputs)
    out, (h1, c1), h2 = outputs
    return keras.Model(inputs, [out, h1, c1, h2])


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("build", [_rnn_cells, _stacked_cells])
def test_rnn_over_cells(build, flavor):
    agrees(build, flavor)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_rnn_over_stacked_cells_with_states(flavor):
    """The summary of a layer with nested state outputs; Keras 3 lists them flattened."""
    if flavor == "tf_keras":
        # tf-keras reports nested output shapes ([out, [h, c], h2]) that the oracle cannot flatten;
        # the weights and totals are compared directly instead.
        keras = keras_module(flavor)
        model = _stacked_cells_states(keras)
        from pytest_kerasparams.analysis import analyze_text

        analysis = analyze_text(model.to_json())
        layer = next(l for l in model.layers if l.__class__.__name__ == "RNN")
        report = analysis.report.find(layer.name)
        assert report.params == layer.count_params()
        assert [(v.name, v.shape, v.trainable) for v in report.variables] == _keras_weights(layer, flavor)
        expected = [tuple(t.shape) for t in model.outputs]
        assert list(report.output_shapes[0]) == expected
        return
    agrees(_stacked_cells_states, flavor)


# --------------------------------------------------------------------------- ConvLSTM


def _conv_lstm_1d(keras):
    L = keras.layers
    inputs = keras.Input((4, 20, 3))
    a = L.ConvLSTM1D(4, 3, strides=2, padding="same", return_sequences=True)(inputs)
    b = L.ConvLSTM1D(2, 3, dilation_rate=2, use_bias=False)(a)
    return keras.Model(inputs, b)


def _conv_lstm_2d(keras):
    L = keras.layers
    inputs = keras.Input((3, 11, 9, 2))
    a = L.ConvLSTM2D(4, (3, 2), strides=(2, 1), padding="valid", return_sequences=True)(inputs)
    b = L.ConvLSTM2D(3, 3, dilation_rate=(2, 1), padding="same", return_sequences=True)(a)
    out, h, c = L.ConvLSTM2D(2, 1, return_state=True)(b)
    both = L.Bidirectional(L.ConvLSTM2D(2, 2, padding="same", return_sequences=True))(b)
    return keras.Model(inputs, [out, h, c, both])


def _conv_lstm_3d(keras):
    L = keras.layers
    inputs = keras.Input((2, 6, 7, 8, 1))
    a = L.ConvLSTM3D(2, (3, 3, 2), padding="valid", return_sequences=True)(inputs)
    b = L.ConvLSTM3D(3, 2, strides=2, padding="same")(a)
    return keras.Model(inputs, b)


def _conv_lstm_channels_first(keras):
    L = keras.layers
    inputs = keras.Input((3, 2, 10, 12))
    a = L.ConvLSTM2D(4, 3, data_format="channels_first", return_sequences=True)(inputs)
    out, h, c = L.ConvLSTM2D(2, 3, strides=2, padding="same", data_format="channels_first",
                             return_state=True)(a)
    return keras.Model(inputs, [out, h, c])


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("build", [_conv_lstm_1d, _conv_lstm_2d, _conv_lstm_3d, _conv_lstm_channels_first])
def test_conv_lstm(build, flavor):
    agrees(build, flavor)


# --------------------------------------------------------------------------- Bidirectional


def _bidirectional_merge_modes(keras):
    """Every merge_mode once, over each recurrent class; null gives two outputs."""
    L = keras.layers
    inputs = keras.Input((5, 3))
    concat = L.Bidirectional(L.LSTM(4, return_sequences=True), merge_mode="concat")(inputs)
    summed = L.Bidirectional(L.GRU(3), merge_mode="sum")(inputs)
    average = L.Bidirectional(L.SimpleRNN(2, use_bias=False), merge_mode="ave")(inputs)
    product = L.Bidirectional(L.LSTM(2, use_bias=False), merge_mode="mul")(inputs)
    forward, backward = L.Bidirectional(L.GRU(3, reset_after=False, return_sequences=True),
                                        merge_mode=None)(inputs)
    last_forward, last_backward = L.Bidirectional(L.SimpleRNN(2), merge_mode=None)(inputs)
    return keras.Model(inputs, [concat, summed, average, product, forward, backward, last_forward,
                                last_backward])


def _bidirectional_states(keras):
    L = keras.layers
    inputs = keras.Input((5, 3))
    lstm = L.Bidirectional(L.LSTM(4, return_sequences=True, return_state=True))(inputs)
    gru = L.Bidirectional(L.GRU(3, return_state=True), merge_mode="sum")(inputs)
    both = L.Bidirectional(L.SimpleRNN(2, return_state=True, return_sequences=True), merge_mode=None)(inputs)
    return keras.Model(inputs, list(lstm) + list(gru) + list(both))


def _bidirectional_backward_layer(keras):
    L = keras.layers
    inputs = keras.Input((5, 3))
    x = L.Bidirectional(L.LSTM(4, return_sequences=True),
                        backward_layer=L.GRU(6, return_sequences=True, go_backwards=True))(inputs)
    y = L.Bidirectional(L.LSTM(3), backward_layer=L.LSTM(3, go_backwards=True, name="reader"),
                        merge_mode="sum")(x)
    return keras.Model(inputs, y)


def _bidirectional_stack(keras):
    L = keras.layers
    return keras.Sequential([
        keras.Input((30,)),
        L.Embedding(500, 8),
        L.Bidirectional(L.LSTM(16, return_sequences=True)),
        L.Bidirectional(L.GRU(8, reset_after=False)),
        L.Dense(2),
    ])


def _bidirectional_rnn_cell(keras):
    L = keras.layers
    inputs = keras.Input((5, 3))
    x = L.Bidirectional(L.RNN(L.LSTMCell(4), return_sequences=True))(inputs)
    y = L.Bidirectional(L.RNN(L.StackedRNNCells([L.GRUCell(3), L.SimpleRNNCell(2)])), merge_mode="ave")(x)
    return keras.Model(inputs, y)


def _bidirectional_initial_state(keras):
    L = keras.layers
    inputs = keras.Input((5, 3))
    states = [keras.Input((4,)) for _ in range(4)]
    x = L.Bidirectional(L.LSTM(4))(inputs, initial_state=states)
    return keras.Model([inputs] + states, x)


def _bidirectional_stateful(keras):
    L = keras.layers
    inputs = keras.Input(batch_shape=(2, 5, 3))
    return keras.Model(inputs, L.Bidirectional(L.LSTM(4, stateful=True), merge_mode="mul")(inputs))


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("build", [_bidirectional_merge_modes, _bidirectional_states,
                                   _bidirectional_backward_layer, _bidirectional_stack, _bidirectional_rnn_cell,
                                   _bidirectional_initial_state, _bidirectional_stateful])
def test_bidirectional(build, flavor):
    agrees(build, flavor)


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("without_backward_layer", [False, True])
def test_bidirectional_weight_names_after_loading(flavor, without_backward_layer):
    """The names Keras gives the two copies when it loads the file (with or without a saved backward_layer)."""
    from pytest_kerasparams.analysis import analyze_text

    keras = keras_module(flavor)
    L = keras.layers
    inputs = keras.Input((5, 3))
    x = L.Bidirectional(L.LSTM(4, return_sequences=True))(inputs)
    x = L.Bidirectional(L.GRU(2), backward_layer=L.GRU(2, go_backwards=True, name="reader"))(x)
    data = json.loads(keras.Model(inputs, x).to_json())
    if without_backward_layer:  # Keras 3 always saves it; a hand-written file may not
        data["config"]["layers"][1]["config"].pop("backward_layer", None)
    text = json.dumps(data)
    loaded = keras.models.model_from_json(text)
    analysis = analyze_text(text)
    for layer in loaded.layers[1:]:
        report = analysis.report.find(layer.name)
        assert [(v.name, v.shape, v.trainable) for v in report.variables] == _keras_weights(layer, flavor)


# --------------------------------------------------------------------------- TimeDistributed


def _time_distributed_layers(keras):
    L = keras.layers
    inputs = keras.Input((4, 16, 16, 3))
    x = L.TimeDistributed(L.Conv2D(8, 3, strides=2, padding="same"))(inputs)
    x = L.TimeDistributed(L.BatchNormalization())(x)
    x = L.TimeDistributed(L.MaxPooling2D(2))(x)
    x = L.TimeDistributed(L.Flatten())(x)
    x = L.TimeDistributed(L.Dense(10))(x)
    x = L.LSTM(6)(x)
    return keras.Model(inputs, x)


def _time_distributed_recurrent(keras):
    L = keras.layers
    inputs = keras.Input((3, 7, 2))
    x = L.TimeDistributed(L.LSTM(4))(inputs)
    y = L.TimeDistributed(L.Bidirectional(L.GRU(2)))(inputs)
    return keras.Model(inputs, [x, y])


def _time_distributed_sequential(keras):
    L = keras.layers
    frame = keras.Sequential([keras.Input((8, 8, 1)), L.Conv2D(4, 3), L.GlobalAveragePooling2D(),
                              L.Dense(5)], name="frame_model")
    inputs = keras.Input((6, 8, 8, 1))
    x = L.TimeDistributed(frame)(inputs)
    return keras.Model(inputs, L.GRU(3)(x))


def _time_distributed_functional(keras):
    L = keras.layers
    frame_in = keras.Input((10,))
    frame_out = L.Dense(3)(L.Dense(7, activation="relu")(frame_in))
    frame = keras.Model(frame_in, frame_out, name="frame_encoder")
    inputs = keras.Input((None, 10))
    x = L.TimeDistributed(frame)(inputs)
    return keras.Model(inputs, x)


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("build", [_time_distributed_layers, _time_distributed_recurrent])
def test_time_distributed(build, flavor):
    agrees(build, flavor)


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("build", [_time_distributed_sequential, _time_distributed_functional])
def test_time_distributed_over_models(build, flavor):
    # Names of weights inside nested models are not compared: the engine does not prefix them.
    agrees(build, flavor, names=False)


# --------------------------------------------------------------------------- trainable: false


def _frozen_wrappers(keras):
    L = keras.layers
    inputs = keras.Input((5, 8, 8, 2))
    x = L.TimeDistributed(L.Conv2D(3, 3), trainable=False)(inputs)
    x = L.TimeDistributed(L.BatchNormalization(trainable=False))(x)
    x = L.TimeDistributed(L.Flatten())(x)
    x = L.Bidirectional(L.LSTM(4, return_sequences=True), trainable=False)(x)
    x = L.Bidirectional(L.GRU(3, trainable=False, return_sequences=True))(x)
    x = L.LSTM(2, trainable=False)(x)
    return keras.Model(inputs, x)


def _frozen_explicit_backward(keras):
    L = keras.layers
    inputs = keras.Input((5, 3))
    x = L.Bidirectional(L.LSTM(4), backward_layer=L.LSTM(4, go_backwards=True, trainable=False))(inputs)
    return keras.Model(inputs, x)


def _frozen_nested_models(keras):
    L = keras.layers
    frame = keras.Sequential([keras.Input((4,)), L.Dense(3), L.BatchNormalization()], name="frame")
    frame.trainable = False
    inner_inputs = keras.Input((4,))
    partly = keras.Model(inner_inputs, L.Dense(2, trainable=False)(L.Dense(5)(inner_inputs)), name="partly")
    inputs = keras.Input((6, 4))
    return keras.Model(inputs, [L.TimeDistributed(frame)(inputs), L.TimeDistributed(partly)(inputs)])


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("build", [_frozen_wrappers, _frozen_explicit_backward])
def test_trainable_false(build, flavor):
    agrees(build, flavor)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_trainable_false_inside_time_distributed_models(flavor):
    agrees(_frozen_nested_models, flavor, names=False)


# --------------------------------------------------------------------------- random recurrent layers


@st.composite
def recurrent_specs(draw):
    """A random recurrent layer, optionally bidirectional, on a random sequence shape."""
    return {
        "class_name": draw(st.sampled_from(["LSTM", "GRU", "SimpleRNN"])),
        "units": draw(st.integers(1, 9)),
        "features": draw(st.integers(1, 6)),
        "steps": draw(st.sampled_from([None, 1, 4])),
        "return_sequences": draw(st.booleans()),
        "return_state": draw(st.booleans()),
        "go_backwards": draw(st.booleans()),
        "use_bias": draw(st.booleans()),
        "reset_after": draw(st.booleans()),
        "merge_mode": draw(st.sampled_from(["none", "concat", "sum", "ave", "mul", None])),
    }


def _random_model(spec):
    def build(keras):
        L = keras.layers
        options = {key: spec[key] for key in ("return_sequences", "return_state", "go_backwards", "use_bias")}
        if spec["class_name"] == "GRU":
            options["reset_after"] = spec["reset_after"]
        layer = getattr(L, spec["class_name"])(spec["units"], **options)
        if spec["merge_mode"] != "none":
            layer = L.Bidirectional(layer, merge_mode=spec["merge_mode"])
        inputs = keras.Input((spec["steps"], spec["features"]))
        outputs = layer(inputs)
        return keras.Model(inputs, list(outputs) if isinstance(outputs, (list, tuple)) else outputs)
    return build


@pytest.mark.filterwarnings("ignore:The recursion limit will not be reset")  # TensorFlow raises it on import
@pytest.mark.parametrize("flavor", FLAVORS)
@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(spec=recurrent_specs())
def test_random_recurrent_layers(flavor, spec):
    if flavor == "keras3" and spec["go_backwards"] and spec["merge_mode"] != "none":
        with pytest.raises(ValueError, match="go_backwards"):  # Keras 3 sets the copy's go_backwards to True
            _random_model(spec)(keras_module(flavor))
        return
    agrees(_random_model(spec), flavor)


# --------------------------------------------------------------------------- derivations


def test_lstm_gate_formula_reads_as_documented():
    from pytest_kerasparams.analysis import analyze_text

    keras = keras_module("keras3")
    model = keras.Sequential([keras.Input((48, 1)), keras.layers.LSTM(100, name="lstm")])
    report = analyze_text(model.to_json()).report.find("lstm")
    (derivation,) = report.result.formulas
    assert derivation.render().endswith(
        "(1 input features + 100 recurrent units + 1 bias) × 100 units × 4 gates = 40,800")
    assert derivation.value == report.params == model.count_params()
    kernel, recurrent, bias = report.variables
    assert kernel.blocks == recurrent.blocks == bias.blocks == (
        "input gate", "forget gate", "cell candidate", "output gate")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_gate_blocks_and_formulas_sum_to_the_count(flavor):
    """Each layer's formulas add up to Keras's count; each gate block is an equal slice."""
    keras = keras_module(flavor)
    L = keras.layers
    inputs = keras.Input((5, 3))
    x = L.Bidirectional(L.LSTM(4, return_sequences=True))(inputs)
    x = L.Bidirectional(L.GRU(3, return_sequences=True), backward_layer=L.GRU(
        3, reset_after=False, return_sequences=True, go_backwards=True))(x)
    x = L.RNN(L.StackedRNNCells([L.LSTMCell(2), L.GRUCell(2)]))(x)
    model = keras.Model(inputs, x)
    from pytest_kerasparams.analysis import analyze_text

    analysis = analyze_text(model.to_json())
    gates = {"LSTM": 4, "GRU": 3}
    for layer in model.layers[1:]:
        report = analysis.report.find(layer.name)
        assert sum(f.value for f in report.result.formulas) == layer.count_params()
        for variable in report.variables:
            assert len(variable.blocks) in gates.values()
            assert variable.shape[-1] % len(variable.blocks) == 0
    lstm_vars = analysis.report.find(model.layers[1].name).variables
    assert all(v.blocks[0] == "input gate" for v in lstm_vars)
    gru_vars = analysis.report.find(model.layers[2].name).variables
    assert all(v.blocks == ("update gate", "reset gate", "candidate") for v in gru_vars)


# --------------------------------------------------------------------------- configs Keras rejects


def _json_of(build, flavor: str) -> dict[str, Any]:
    return json.loads(build(keras_module(flavor)).to_json())


def _both_reject(bad_build, data: dict[str, Any], flavor: str, words: tuple[str, ...]) -> None:
    """Keras refuses to build the model, and we refuse its config with a RuleError phrased for the user.

    ``data`` is a valid model's config edited into the one ``bad_build`` tries to build:
    Keras cannot serialize a model it refuses to build.
    """
    from pytest_kerasparams.analysis import analyze_text
    from pytest_kerasparams.problems import InputError

    keras = keras_module(flavor)
    with pytest.raises((ValueError, TypeError)):
        bad_build(keras)
    with pytest.raises(InputError) as caught:
        analyze_text(json.dumps(data), validate_schema=False)
    assert caught.value.problem.kind == "shape", caught.value
    message = str(caught.value)
    for word in words:
        assert word in message, message


def _set_input_shape(data: dict[str, Any], shape: list[Any]) -> None:
    config = data["config"]["layers"][0]["config"]
    key = "batch_shape" if "batch_shape" in config else "batch_input_shape"
    config[key] = shape
    data.pop("build_config", None)
    data["config"].pop("build_input_shape", None)


def _one_layer(layer_factory, shape=(5, 3)):
    def build(keras):
        return keras.Sequential([keras.Input(shape), layer_factory(keras.layers)])
    return build


RECURRENT_FACTORIES = {  # GRU and SimpleRNN share LSTM's code path; RNN(cell) and Bidirectional do not
    "lstm": lambda L: L.LSTM(4),
    "rnn_cell": lambda L: L.RNN(L.GRUCell(4)),
    "bidirectional": lambda L: L.Bidirectional(L.LSTM(4)),
}


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("name", RECURRENT_FACTORIES)
def test_rank_two_input_is_rejected(name, flavor):
    factory = RECURRENT_FACTORIES[name]
    data = _json_of(_one_layer(factory), flavor)
    _set_input_shape(data, [None, 3])
    _both_reject(_one_layer(factory, (3,)), data, flavor, ("rank 3", "(None, 3)"))


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("name", RECURRENT_FACTORIES)
def test_undefined_feature_dimension_is_rejected(name, flavor):
    factory = RECURRENT_FACTORIES[name]
    data = _json_of(_one_layer(factory), flavor)
    _set_input_shape(data, [None, 5, None])
    _both_reject(_one_layer(factory, (5, None)), data, flavor, ("feature dimension", "(None, 5, None)"))


@pytest.mark.parametrize("flavor", FLAVORS)
def test_wrong_merge_mode_is_rejected(flavor):
    data = _json_of(_one_layer(lambda L: L.Bidirectional(L.LSTM(4))), flavor)
    data["config"]["layers"][1]["config"]["merge_mode"] = "max"
    bad = _one_layer(lambda L: L.Bidirectional(L.LSTM(4), merge_mode="max"))
    _both_reject(bad, data, flavor, ("merge_mode", "'max'"))


@pytest.mark.parametrize("flavor", FLAVORS)
def test_backward_layer_must_mirror_forward(flavor):
    data = _json_of(_one_layer(lambda L: L.Bidirectional(L.LSTM(4), backward_layer=L.LSTM(4, go_backwards=True))),
                    flavor)
    data["config"]["layers"][1]["config"]["backward_layer"]["config"]["return_sequences"] = True
    bad = _one_layer(lambda L: L.Bidirectional(L.LSTM(4), backward_layer=L.LSTM(
        4, go_backwards=True, return_sequences=True)))
    _both_reject(bad, data, flavor, ("return_sequences",))


@pytest.mark.parametrize("flavor", FLAVORS)
def test_backward_layer_must_go_backwards(flavor):
    data = _json_of(_one_layer(lambda L: L.Bidirectional(L.LSTM(4), backward_layer=L.LSTM(4, go_backwards=True))),
                    flavor)
    data["config"]["layers"][1]["config"]["backward_layer"]["config"]["go_backwards"] = False
    bad = _one_layer(lambda L: L.Bidirectional(L.LSTM(4), backward_layer=L.LSTM(4)))
    _both_reject(bad, data, flavor, ("go_backwards",))


@pytest.mark.parametrize("flavor", FLAVORS)
def test_conv_lstm_rank_is_checked(flavor):
    factory = lambda L: L.ConvLSTM2D(2, 3)  # noqa: E731
    data = _json_of(_one_layer(factory, (3, 8, 8, 2)), flavor)
    _set_input_shape(data, [None, 3, 8, 2])
    _both_reject(_one_layer(factory, (3, 8, 2)), data, flavor, ("rank 5", "(None, 3, 8, 2)"))


@pytest.mark.parametrize("flavor", FLAVORS)
def test_time_distributed_needs_a_time_axis(flavor):
    factory = lambda L: L.TimeDistributed(L.Dense(2))  # noqa: E731
    data = _json_of(_one_layer(factory), flavor)
    _set_input_shape(data, [None, 3])
    _both_reject(_one_layer(factory, (3,)), data, flavor, ("rank 3", "(None, 3)"))


@pytest.mark.parametrize("flavor", FLAVORS)
def test_stateful_needs_a_batch_size(flavor):
    data = _json_of(_stateful, flavor)
    _set_input_shape(data, [None, 6, 3])
    bad = _one_layer(lambda L: L.LSTM(4, stateful=True))
    _both_reject(bad, data, flavor, ("stateful", "batch size", "(None, 6, 3)"))


def test_unroll_needs_timesteps_in_tf_keras():
    """tf.keras refuses to unroll over an unknown number of steps; Keras 3 accepts it (checked too)."""
    factory = lambda L: L.GRU(4, unroll=True)  # noqa: E731
    data = _json_of(_one_layer(factory), "tf_keras")
    _set_input_shape(data, [None, None, 3])
    _both_reject(_one_layer(factory, (None, 3)), data, "tf_keras", ("unrolled", "(None, None, 3)"))
    agrees(_one_layer(factory, (None, 3)), "keras3")


def test_keras3_refuses_bidirectional_over_a_backwards_layer():
    """Keras 3 makes the backward copy with go_backwards=True, which then equals the forward layer's."""
    build = _one_layer(lambda L: L.Bidirectional(L.LSTM(4)))
    data = _json_of(build, "keras3")
    config = data["config"]["layers"][1]["config"]
    config.pop("backward_layer")
    config["layer"]["config"]["go_backwards"] = True
    _both_reject(_one_layer(lambda L: L.Bidirectional(L.LSTM(4, go_backwards=True))), data, "keras3",
                 ("go_backwards",))
    tf_keras_build = _one_layer(lambda L: L.Bidirectional(L.LSTM(4, go_backwards=True)))
    agrees(tf_keras_build, "tf_keras")  # tf.keras flips it instead


@pytest.mark.parametrize("flavor", FLAVORS)
def test_conv_lstm_strides_with_dilation_are_rejected(flavor):
    factory = lambda L: L.ConvLSTM1D(4, 3, strides=2)  # noqa: E731
    data = _json_of(_one_layer(factory, (3, 9, 2)), flavor)
    data["config"]["layers"][1]["config"]["dilation_rate"] = [2]
    bad = _one_layer(lambda L: L.ConvLSTM1D(4, 3, strides=2, dilation_rate=2), (3, 9, 2))
    _both_reject(bad, data, flavor, ("strides", "dilation_rate"))


@pytest.mark.parametrize("flavor", FLAVORS)
def test_bidirectional_needs_a_recurrent_layer(flavor):
    data = _json_of(_one_layer(lambda L: L.Bidirectional(L.LSTM(4))), flavor)
    wrapped = data["config"]["layers"][1]["config"]["layer"]
    wrapped["class_name"] = "Dense"
    wrapped["config"] = {"name": "dense", "units": 4}
    data["config"]["layers"][1]["config"].pop("backward_layer", None)
    keras = keras_module(flavor)
    with pytest.raises((KeyError, TypeError, ValueError)):
        keras.models.model_from_json(json.dumps(data))
    from pytest_kerasparams.analysis import analyze_text
    from pytest_kerasparams.problems import InputError

    with pytest.raises(InputError) as caught:
        analyze_text(json.dumps(data), validate_schema=False)
    assert "not a recurrent layer" in str(caught.value)


@pytest.mark.parametrize("value", ["four", -1, None, True, [4]])
def test_bad_units_values_are_rule_errors(value):
    """Wrong types in a hand-edited config become one clear sentence, never a traceback."""
    from pytest_kerasparams.analysis import analyze_text
    from pytest_kerasparams.problems import InputError

    data = _json_of(_one_layer(lambda L: L.LSTM(4)), "keras3")
    data["config"]["layers"][1]["config"]["units"] = value
    with pytest.raises(InputError) as caught:
        analyze_text(json.dumps(data), validate_schema=False)
    assert "units" in str(caught.value)
    assert caught.value.problem.kind == "shape"


@pytest.mark.parametrize("cell", ["nonsense", {"class_name": "LSTMCell"}, [],
                                  {"class_name": "StackedRNNCells", "config": {"cells": "x"}},
                                  {"class_name": "MysteryCell", "config": {}}])
def test_bad_cell_configs_are_rule_errors(cell):
    from pytest_kerasparams.analysis import analyze_text
    from pytest_kerasparams.problems import InputError

    data = _json_of(_one_layer(lambda L: L.RNN(L.LSTMCell(4))), "keras3")
    data["config"]["layers"][1]["config"]["cell"] = cell
    with pytest.raises(InputError) as caught:
        analyze_text(json.dumps(data), validate_schema=False)
    assert caught.value.problem.kind == "shape", caught.value


# --------------------------------------------------------------------------- old Keras 2 files


def test_missing_reset_after_in_keras2_file_means_false():
    """A Keras 2.1 GRU has no reset_after key and one bias of 3 x units (tf.keras reads it the same)."""
    from pytest_kerasparams.analysis import analyze_text

    keras = keras_module("tf_keras")
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.GRU(4, reset_after=False, name="gru")])
    data = json.loads(model.to_json())
    for item in [data] + data["config"]["layers"]:  # as an old Keras 2 file: no module keys anywhere
        for key in ("module", "registered_name", "build_config"):
            item.pop(key, None)
    data["keras_version"] = "2.1.6"
    gru = data["config"]["layers"][1]
    del gru["config"]["reset_after"]
    analysis = analyze_text(json.dumps(data), validate_schema=False)
    assert analysis.model.flavor == "keras2"
    report = analysis.report.find("gru")
    assert report.params == model.count_params()
    assert [v.shape for v in report.variables] == [(3, 12), (4, 12), (12,)]
