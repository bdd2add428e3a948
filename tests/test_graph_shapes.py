"""Graph shapes against real Keras, in both flavors: several inputs and outputs, shared
layers and nested models, layers called on lists, frozen layers at any depth, unknown dims.

Every expected figure comes from Keras through ``tests.keras_oracle``.
"""

from __future__ import annotations

import json

import pytest

from pytest_kerasparams.analysis import analyze_text
from pytest_kerasparams.problems import InputError
from tests.keras_oracle import FLAVORS, assert_agrees_with_keras, engine_rows, keras_module, keras_rows


def _multi_io(keras):
    layers = keras.layers
    left = keras.Input((8,), name="left")
    right = keras.Input((5, 3), name="right")
    x = layers.Dense(6, name="left_dense")(left)
    y = layers.Flatten(name="flat")(right)
    both = layers.Concatenate(name="join")([x, y])
    first = layers.Dense(2, name="head_a")(both)
    second = layers.Dense(3, name="head_b")(both)
    return keras.Model([left, right], [first, second, x], name="multi_io")


def _dict_outputs(keras):
    layers = keras.layers
    inputs = keras.Input((4,), name="features")
    hidden = layers.Dense(7, name="hidden")(inputs)
    return keras.Model(inputs, {"score": layers.Dense(1, name="score")(hidden),
                                "label": layers.Dense(3, name="label")(hidden)}, name="dict_out")


def _shared_layer(keras):
    layers = keras.layers
    a = keras.Input((10,), name="a")
    b = keras.Input((10,), name="b")
    shared = layers.Dense(4, name="shared")
    merged = layers.Add(name="add")([shared(a), shared(b)])
    again = shared(layers.Dense(10, name="back")(merged))
    return keras.Model([a, b], again, name="shared_layer")


def _shared_embedding_lstm(keras):
    layers = keras.layers
    q1 = keras.Input((12,), name="q1")
    q2 = keras.Input((12,), name="q2")
    embed = layers.Embedding(100, 8, name="embed")
    encode = layers.LSTM(5, name="encode")
    joined = layers.Concatenate(name="joined")([encode(embed(q1)), encode(embed(q2))])
    return keras.Model([q1, q2], layers.Dense(1, name="same")(joined), name="siamese")


def _inner_functional(keras, name="inner_f", width=8):
    inputs = keras.Input((width,), name=f"{name}_in")
    hidden = keras.layers.Dense(6, name=f"{name}_dense")(inputs)
    normed = keras.layers.BatchNormalization(name=f"{name}_bn")(hidden)
    return keras.Model(inputs, keras.layers.Dense(4, name=f"{name}_out")(normed), name=name)


def _shared_nested_functional(keras):
    inner = _inner_functional(keras)
    a = keras.Input((8,), name="a")
    b = keras.Input((8,), name="b")
    c = keras.Input((8,), name="c")
    merged = keras.layers.Concatenate(name="cat")([inner(a), inner(b)])
    return keras.Model([a, b, c], [merged, inner(c)], name="outer")


def _nested_functional_as_output(keras):
    inner = _inner_functional(keras)
    a = keras.Input((8,), name="a")
    b = keras.Input((8,), name="b")
    first = inner(a)
    second = inner(b)
    return keras.Model([a, b], [second, first, keras.layers.Dense(2, name="tail")(first)], name="outer")


def _shared_nested_sequential(keras):
    seq = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="s_dense"),
                            keras.layers.Dense(2, name="s_dense2")], name="inner_s")
    a = keras.Input((4,), name="a")
    b = keras.Input((4,), name="b")
    x = seq(a)
    y = seq(b)
    return keras.Model([a, b], [keras.layers.Add(name="sum")([x, y]), y, x], name="outer")


def _deferred_nested_sequential(keras):
    deferred = keras.Sequential([keras.layers.Dense(5, name="d1"), keras.layers.Dense(2, name="d2")],
                                name="deferred")
    a = keras.Input((7,), name="a")
    b = keras.Input((7,), name="b")
    return keras.Model([a, b], [deferred(a), deferred(b)], name="outer")


def _sequential_of_models(keras):
    """The Teachable Machine shape: a Sequential whose first layer is a Sequential wrapping a Functional."""
    inner = _inner_functional(keras, "base", 12)
    trunk = keras.Sequential([inner, keras.layers.Dense(5, name="trunk_dense")], name="trunk")
    head = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, name="head_dense")], name="head")
    return keras.Sequential([keras.Input((12,)), trunk, head], name="outer")


def _sequential_led_by_models(keras):
    """No InputLayer of its own: the Sequential takes its input shape from the nested models inside."""
    trunk = keras.Sequential([_inner_functional(keras, "base", 12), keras.layers.Dense(5, name="trunk_dense")],
                             name="trunk")
    return keras.Sequential([trunk, keras.layers.Dense(3, name="head")], name="outer")


def _three_levels_frozen_middle(keras):
    innermost = _inner_functional(keras, "core", 8)
    mid_in = keras.Input((8,), name="mid_in")
    middle = keras.Model(mid_in, keras.layers.Dense(3, name="mid_dense")(innermost(mid_in)), name="middle")
    middle.trainable = False
    top_in = keras.Input((8,), name="top_in")
    return keras.Model(top_in, keras.layers.Dense(1, name="top")(middle(top_in)), name="top_model")


def _frozen_layers(keras):
    layers = keras.layers
    inputs = keras.Input((16, 3), name="signal")
    conv = layers.Conv1D(4, 3, name="conv", trainable=False)(inputs)
    normed = layers.BatchNormalization(name="bn", trainable=False)(conv)
    inner = _inner_functional(keras, "sub", 4)
    inner.get_layer("sub_dense").trainable = False
    pooled = layers.GlobalMaxPooling1D(name="pool")(normed)
    return keras.Model(inputs, layers.Dense(2, name="out")(inner(pooled)), name="frozen")


def _frozen_nested_sequential(keras):
    body = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, name="b1"),
                             keras.layers.LayerNormalization(name="ln")], name="body")
    body.trainable = False
    return keras.Sequential([keras.Input((6,)), body, keras.layers.Dense(2, name="after")], name="outer")


def _list_calls(keras):
    layers = keras.layers
    inputs = [keras.Input((4, 6), name=f"in{i}") for i in range(3)]
    cat = layers.Concatenate(axis=1, name="cat")(inputs)
    summed = layers.Add(name="sum")(inputs)
    pooled = layers.MaxPooling1D(2, name="pool")(cat)
    flat = layers.Concatenate(name="cat2")([layers.Flatten(name="f1")(pooled), layers.Flatten(name="f2")(summed)])
    return keras.Model(inputs, flat, name="lists")


def _multi_output_layer(keras):
    layers = keras.layers
    inputs = keras.Input((9, 4), name="seq")
    outputs, hidden, cell = layers.LSTM(6, return_state=True, return_sequences=True, name="enc")(inputs)
    decoded = layers.LSTM(6, name="dec")(outputs, initial_state=[hidden, cell])
    return keras.Model(inputs, [decoded, layers.Dense(2, name="from_cell")(cell)], name="states")


def _unknown_dims(keras):
    layers = keras.layers
    inputs = keras.Input((None, 5), name="ragged")
    conv = layers.Conv1D(8, 3, padding="same", name="conv")(inputs)
    gru = layers.GRU(4, return_sequences=True, name="gru")(conv)
    rnn = layers.Bidirectional(layers.SimpleRNN(3), name="bi")(gru)
    timed = layers.TimeDistributed(layers.Dense(2), name="td")(conv)
    return keras.Model(inputs, [rnn, layers.GlobalAveragePooling1D(name="gap")(timed)], name="unknown")


def _fixed_batch(keras):
    layers = keras.layers
    inputs = keras.Input((None, 10), batch_size=4, name="batched")
    x = layers.LSTM(3, return_sequences=True, name="lstm")(inputs)
    x = layers.Permute((2, 1), name="perm")(x)
    x = layers.Reshape((-1,), name="flat")(x)
    return keras.Model(inputs, x, name="fixed_batch")


def _sequential_unknown_and_embedding(keras):
    return keras.Sequential([
        keras.Input((None,), dtype="int32"),
        keras.layers.Embedding(50, 4, name="emb"),
        keras.layers.Dropout(0.1, name="drop"),
        keras.layers.GRU(3, return_sequences=True, name="gru"),
        keras.layers.Activation("relu", name="act"),
        keras.layers.SimpleRNN(2, name="rnn"),
    ], name="text")


def _shared_nested_on_different_lengths(keras):
    """Each call of a shared nested model has its own output shape, so a wrong node index shows."""
    layers = keras.layers
    inner_in = keras.Input((None, 4), name="inner_in")
    inner = keras.Model(inner_in, layers.Dense(3, name="inner_dense")(inner_in), name="inner")
    seq = keras.Sequential([keras.Input((None, 3)), layers.Conv1D(2, 2, name="seq_conv")], name="inner_seq")
    short = keras.Input((5, 4), name="short")
    long = keras.Input((9, 4), name="long")
    middle = keras.Input((7, 4), name="middle")
    s1, l1, m1 = inner(short), inner(long), inner(middle)
    s2, l2 = seq(s1), seq(l1)
    m2 = seq(m1)
    cat = layers.Concatenate(axis=1, name="cat")([l2, s2, m2])
    return keras.Model([short, long, middle], [cat, l1, m2, s1, layers.Flatten(name="flat")(m1)], name="lengths")


def _shared_layer_on_different_lengths(keras):
    layers = keras.layers
    short = keras.Input((5, 4), name="short")
    long = keras.Input((9, 4), name="long")
    conv = layers.Conv1D(3, 2, name="shared_conv")
    a, b = conv(short), conv(long)
    return keras.Model([short, long], [layers.Flatten(name="fb")(b), layers.Flatten(name="fa")(a), b],
                       name="shared_lengths")


BUILDERS = [
    _shared_nested_on_different_lengths, _shared_layer_on_different_lengths,
    _multi_io, _dict_outputs, _shared_layer, _shared_embedding_lstm, _shared_nested_functional,
    _nested_functional_as_output, _shared_nested_sequential, _deferred_nested_sequential,
    _sequential_of_models, _sequential_led_by_models, _three_levels_frozen_middle, _frozen_layers,
    _frozen_nested_sequential,
    _list_calls, _multi_output_layer, _unknown_dims, _fixed_batch, _sequential_unknown_and_embedding,
]


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__.strip("_"))
def test_graph_agrees_with_keras(build, flavor):
    assert_agrees_with_keras(build, flavor)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_model_output_shapes_agree(flavor):
    """The model's own outputs, in order, including a shared nested model's later calls."""
    keras = keras_module(flavor)
    for build in (_multi_io, _shared_nested_functional, _nested_functional_as_output, _shared_nested_sequential,
                  _deferred_nested_sequential, _multi_output_layer, _shared_nested_on_different_lengths,
                  _shared_layer_on_different_lengths):
        model = build(keras)
        analysis = assert_agrees_with_keras(lambda _: model, flavor)
        want = [tuple(None if d is None else int(d) for d in t.shape) for t in model.outputs]
        assert list(analysis.report.output_shapes) == want, build.__name__


@pytest.mark.parametrize("flavor", FLAVORS)
def test_frozen_nested_model_counts_everything_non_trainable(flavor):
    keras = keras_module(flavor)
    model = _three_levels_frozen_middle(keras)
    analysis = assert_agrees_with_keras(lambda _: model, flavor)
    middle = analysis.report.find("middle")
    assert middle is not None and middle.trainable_params == 0
    assert analysis.report.trainable == sum(int(w.shape.num_elements() if hasattr(w.shape, "num_elements")
                                                else _size(w.shape)) for w in model.trainable_weights)


def _size(shape) -> int:
    size = 1
    for dim in shape:
        size *= int(dim)
    return size


def test_keras3_nested_functional_references(tmp_path):
    """Keras 3 writes raw node indices inside nodes but offsets Functional outputs by one."""
    keras = keras_module("keras3")
    config = json.loads(_nested_functional_as_output(keras).to_json())
    histories = [arg["config"]["keras_history"] for layer in config["config"]["layers"]
                 for node in layer["inbound_nodes"] for arg in node["args"] if isinstance(arg, dict)]
    assert ["inner_f", 0, 0] in histories
    assert config["config"]["output_layers"][:2] == [["inner_f", 2, 0], ["inner_f", 1, 0]]


# --- Bad graphs: a clear, located message naming the layers involved; never a traceback. ---


def _input(name, shape):
    return {"name": name, "class_name": "InputLayer", "config": {"name": name, "batch_input_shape": shape},
            "inbound_nodes": []}


def _dense(name, units, *sources):
    return {"name": name, "class_name": "Dense", "config": {"name": name, "units": units},
            "inbound_nodes": [[[layer, node, tensor, {}] for layer, node, tensor in sources]]}


def _functional(layers, inputs=(("x", 0, 0),), outputs=(("out", 0, 0),)):
    config = {"name": "broken", "layers": layers, "input_layers": [list(r) for r in inputs],
              "output_layers": [list(r) for r in outputs]}
    return {"class_name": "Functional", "keras_version": "2.15.0", "backend": "tensorflow", "config": config}


BAD_GRAPHS = {
    "missing-layer": (_functional([_input("x", [None, 3]), _dense("out", 2, ("ghost", 0, 0))]),
                      "layer out takes its input from layer 'ghost', which the model does not have", 20),
    "cycle": (_functional([_input("x", [None, 3]), _dense("a", 3, ("out", 0, 0)), _dense("out", 3, ("a", 0, 0))]),
              "layers out and a take each other's output as input (a cycle)", 38),
    "self-cycle": (_functional([_input("x", [None, 3]), _dense("out", 3, ("out", 0, 0))]),
                   "layer out takes its own output as its input (a cycle)", 20),
    "node-out-of-range": (_functional([_input("x", [None, 3]), _dense("a", 3, ("x", 0, 0)),
                                       _dense("out", 3, ("a", 4, 0))]),
                          "layer out takes node 4 of layer a, which has 1 inbound node(s)", 38),
    "tensor-out-of-range": (_functional([_input("x", [None, 3]), _dense("a", 3, ("x", 0, 0)),
                                         _dense("out", 3, ("a", 0, 2))]),
                            "layer out takes output 2 of layer a (node 0), which has 1 output(s)", 38),
    "output-node-out-of-range": (_functional([_input("x", [None, 3]), _dense("out", 3, ("x", 0, 0))],
                                             outputs=(("out", 1, 0),)),
                                 "output_layers names node 1 of layer out, which has 1 inbound node(s)", 46),
    "duplicate-names": (_functional([_input("x", [None, 3]), _dense("out", 3, ("x", 0, 0)),
                                     _dense("out", 3, ("out", 0, 0))]),
                        "two layers are named 'out'; Keras requires unique names", 38),
    "input-not-an-input-layer": (_functional([_input("x", [None, 3]), _dense("out", 3, ("x", 0, 0))],
                                             inputs=(("out", 0, 0),)),
                                 "input_layers names layer out (Dense); a model input must be an InputLayer", 40),
    "missing-input-layer": (_functional([_input("x", [None, 3]), _dense("out", 3, ("x", 0, 0))],
                                        inputs=(("nope", 0, 0),)),
                            "input_layers names layer 'nope', which the model does not have", 40),
}


@pytest.mark.parametrize("validate_schema", [True, False], ids=["schema", "no-schema"])
@pytest.mark.parametrize("case", sorted(BAD_GRAPHS))
def test_bad_graph_is_reported_clearly(case, validate_schema):
    config, message, line = BAD_GRAPHS[case]
    with pytest.raises(InputError) as caught:
        analyze_text(json.dumps(config, indent=1), "bad.json", validate_schema=validate_schema)
    problem = caught.value.problem
    assert problem.kind == "graph"
    assert problem.message == message
    assert problem.line == line, problem.headline()


def test_missing_input_layers():
    config = _functional([_input("x", [None, 3]), _dense("out", 3, ("x", 0, 0))])
    del config["config"]["input_layers"]
    text = json.dumps(config, indent=1)
    with pytest.raises(InputError) as caught:
        analyze_text(text, "bad.json")
    assert caught.value.problem.headline() == "bad.json:5:12: $.config: 'input_layers' is a required property"
    with pytest.raises(InputError) as caught:
        analyze_text(text, "bad.json", validate_schema=False)
    assert caught.value.problem.headline() == "bad.json:5:12: lists no input_layers"


def test_nested_model_called_on_the_wrong_number_of_inputs():
    inner = _functional([_input("p", [None, 3]), _input("q", [None, 3]),
                         {"name": "out", "class_name": "Add", "config": {"name": "out"},
                          "inbound_nodes": [[["p", 0, 0, {}], ["q", 0, 0, {}]]]}],
                        inputs=(("p", 0, 0), ("q", 0, 0)))
    nested = {"name": "inner", "class_name": "Functional", "config": inner["config"],
              "inbound_nodes": [[["x", 0, 0, {}]]]}
    with pytest.raises(InputError) as caught:
        analyze_text(json.dumps(_functional([_input("x", [None, 3]), nested], outputs=(("inner", 1, 0),))), "n.json")
    assert caught.value.problem.message == ("layer inner (Functional) takes 2 input(s) but is called on 1: "
                                            "(None, 3)")


def test_keras3_reference_to_a_missing_layer():
    keras_tensor = {"class_name": "__keras_tensor__",
                    "config": {"shape": [None, 3], "dtype": "float32", "keras_history": ["ghost", 0, 0]}}
    config = {"module": "keras", "class_name": "Functional", "registered_name": "Functional", "config": {
        "name": "m", "trainable": True,
        "layers": [{"module": "keras.layers", "class_name": "InputLayer", "name": "x",
                    "config": {"name": "x", "batch_shape": [None, 3], "dtype": "float32"}, "inbound_nodes": []},
                   {"module": "keras.layers", "class_name": "Dense", "name": "out",
                    "config": {"name": "out", "units": 2},
                    "inbound_nodes": [{"args": [keras_tensor], "kwargs": {}}]}],
        "input_layers": ["x", 0, 0], "output_layers": ["out", 0, 0]}}
    with pytest.raises(InputError) as caught:
        analyze_text(json.dumps(config), "k3.json")
    assert caught.value.problem.message == "layer out takes its input from layer 'ghost', which the model does not have"


@pytest.mark.parametrize("text, message", [
    ("[1, 2]", "the top level is a JSON array, not an object with a Keras model config"),
    ('{"modelTopology": {"node": [], "library": {}}}',
     "is a TensorFlow.js graph model (modelTopology has a node list), not a Keras layers model"),
])
def test_not_a_keras_layers_model(text, message):
    with pytest.raises(InputError) as caught:
        analyze_text(text, "x.json", validate_schema=False)
    assert caught.value.problem.message == message


def test_keras3_operations_are_not_taken_for_layers():
    """``x * 2.0`` in Keras 3 is written as class ``Multiply`` from ``keras.src.ops.numpy``: not the layer."""
    keras = keras_module("keras3")
    inputs = keras.Input((4,), name="x")
    dense = keras.layers.Dense(4, name="dense")(inputs)
    model = keras.Model(inputs, dense * 2.0)
    report = analyze_text(model.to_json(), "ops.json").report
    assert [row.name for row in report.rows] == [layer.name for layer in model.layers]
    assert report.output_shapes == (tuple(model.output.shape),)

    unknown = keras.Model(inputs, keras.ops.cumsum(dense, axis=1))
    with pytest.raises(InputError) as caught:
        analyze_text(unknown.to_json(), "ops.json")
    problem = caught.value.problem
    assert problem.kind == "no-rule"
    assert problem.message.startswith("no rule for the Keras 3 operation keras.ops.Cumsum (module keras.src.ops")


@pytest.mark.parametrize("declared", [{"input_shape": [6, 3]}, {"batch_input_shape": [None, 6, 3]},
                                      {"batch_input_shape": [8, 6, 3]}, {"input_shape": [None, 3]}],
                         ids=["input_shape", "batch_input_shape", "fixed-batch", "unknown-steps"])
def test_declared_input_shape_without_batch_dimension(declared):
    """``input_shape`` leaves the batch out (Keras adds None); tf-keras loads the same config to compare."""
    tf_keras = keras_module("tf_keras")
    config = {"class_name": "Sequential", "keras_version": "2.2.4", "backend": "tensorflow", "config": {
        "name": "no_batch", "layers": [
            {"class_name": "Conv1D", "config": {"name": "conv", "filters": 4, "kernel_size": [2], **declared}},
            {"class_name": "LSTM", "config": {"name": "lstm", "units": 3, "return_sequences": True}},
            {"class_name": "Dense", "config": {"name": "dense", "units": 2}}]}}
    text = json.dumps(config)
    model = tf_keras.models.model_from_json(text)
    actual, analysis = engine_rows(text)  # our reading of the hand-written text, not of Keras's rewrite
    assert actual == keras_rows(model, "tf_keras")
    assert analysis.report.output_shapes == (tuple(None if d is None else int(d) for d in model.outputs[0].shape),)
