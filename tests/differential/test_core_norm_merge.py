"""Core, activation, normalization and merging layers against real Keras, in both flavors.

Every expected figure comes from Keras (through ``tests.keras_oracle``);
the per-variable checks compare names, shapes and trainability with
``layer.weights`` of the built Keras layer.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.keras_oracle import (FLAVORS, assert_agrees_with_keras, assert_variables_agree, engine_error,
                                keras_module)

def layer_config(model_json: str, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    data = json.loads(model_json)
    for layer in data["config"]["layers"]:
        if layer.get("name", layer["config"].get("name")) == name:
            return data, layer
    raise KeyError(name)


# --- core ------------------------------------------------------------------------------------------


def _dense_high_rank(keras):
    inputs = keras.Input((6, 5, 3))
    x = keras.layers.Dense(7, name="d4")(inputs)
    x = keras.layers.Reshape((30, 7))(x)
    x = keras.layers.Dense(4, use_bias=False, name="d3")(x)
    return keras.Model(inputs, x)


def _embedding(keras):
    inputs = keras.Input((12,), dtype="int32")
    x = keras.layers.Embedding(50, 8, mask_zero=True, name="emb")(inputs)
    y = keras.layers.Embedding(30, 3, name="emb2")(keras.layers.Reshape((3, 4))(inputs))
    x = keras.layers.Masking()(x)
    return keras.Model(inputs, [x, y])


def _identity_layers(keras):
    layers = keras.layers
    seq = [keras.Input((4, 6, 6, 3)),
           layers.Activation("relu"), layers.Dropout(0.1), layers.SpatialDropout3D(0.1),
           layers.GaussianNoise(0.1), layers.GaussianDropout(0.1), layers.AlphaDropout(0.1),
           layers.ActivityRegularization(0.01), layers.ReLU(), layers.LeakyReLU(), layers.ELU(),
           layers.Softmax(), layers.Reshape((24, 18)), layers.SpatialDropout1D(0.2),
           layers.Reshape((4, 6, 18)), layers.SpatialDropout2D(0.2)]
    if hasattr(layers, "Identity"):
        seq.append(layers.Identity())
    if hasattr(layers, "ThresholdedReLU"):
        seq.append(layers.ThresholdedReLU())
    return keras.Sequential(seq)


def _prelu(keras):
    inputs = keras.Input((5, 6, 3))
    x = keras.layers.PReLU(name="p_all")(inputs)
    x = keras.layers.PReLU(shared_axes=[1, 2], name="p_shared")(x)
    x = keras.layers.PReLU(shared_axes=[3], name="p_last")(x)
    return keras.Model(inputs, x)


def _einsum(keras):
    EinsumDense = keras.layers.EinsumDense
    inputs = keras.Input((10, 6))
    a = EinsumDense("abc,cd->abd", output_shape=(None, 16), bias_axes="d", name="e1")(inputs)
    b = EinsumDense("abc,cde->abde", output_shape=(10, 4, 8), bias_axes="de", name="e2")(inputs)
    c = EinsumDense("...b,bc->...c", output_shape=5, bias_axes="c", name="e3")(inputs)
    d = EinsumDense("abc,cd->ad", output_shape=7, name="e4")(inputs)
    e = EinsumDense("ab...,bc->ac...", output_shape=(3,), bias_axes="c", name="e5")(inputs)
    f = EinsumDense("abc,bce->ae", output_shape=(4,), bias_axes="e", name="e6")(inputs)
    return keras.Model(inputs, [a, b, c, d, e, f])


def _lambda_declared(keras):
    inputs = keras.Input((6, 4))
    x = keras.layers.Lambda(lambda t: t[:, 0, :], output_shape=(4,), name="first")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2)(x))


@pytest.mark.parametrize("flavor", FLAVORS)
def test_dense_on_rank_above_two(flavor):
    assert_variables_agree(_dense_high_rank, flavor, "d4", "d3")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_embedding_and_masking(flavor):
    assert_variables_agree(_embedding, flavor, "emb", "emb2")


def test_embedding_input_length_tf_keras():
    def build(keras):
        return keras.Sequential([keras.layers.Embedding(40, 6, input_length=9, name="emb"),
                                 keras.layers.Flatten(), keras.layers.Dense(1)])

    assert_variables_agree(build, "tf_keras", "emb")


def test_dense_and_embedding_lora_keras3():
    def build(keras):
        inputs = keras.Input((7,), dtype="int32")
        x = keras.layers.Embedding(20, 8, lora_rank=2, name="emb")(inputs)
        x = keras.layers.Dense(5, lora_rank=3, name="dense")(x)
        return keras.Model(inputs, x)

    assert_variables_agree(build, "keras3", "emb", "dense")


def test_reversible_embedding_keras3():
    from pytest_kerasparams.api import LayerCall

    def build(keras):
        inputs = keras.Input((7,), dtype="int32")
        x = keras.layers.ReversibleEmbedding(20, 8, name="tied")(inputs)
        y = keras.layers.ReversibleEmbedding(20, 8, tie_weights=False, name="untied")(inputs)
        z = keras.layers.ReversibleEmbedding(20, 8, lora_rank=2, name="lora")(inputs)  # Keras cannot untie + LoRA
        outputs = [x, y, z]
        if "kwargs" in getattr(LayerCall, "__dataclass_fields__", {}):
            layer = keras.layers.ReversibleEmbedding(20, 8, tie_weights=False, name="reverse")
            outputs.append(layer(layer(inputs), reverse=True))
        return keras.Model(inputs, outputs)

    assert_variables_agree(build, "keras3", "tied", "untied", "lora")


def test_random_fourier_features_tf_keras():
    def build(keras):
        inputs = keras.Input((6,))
        x = keras.layers.experimental.RandomFourierFeatures(8, name="rff_fixed")(inputs)
        x = keras.layers.experimental.RandomFourierFeatures(5, trainable=True, name="rff_scaled")(x)
        return keras.Model(inputs, x)

    assert_variables_agree(build, "tf_keras", "rff_fixed", "rff_scaled")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_identity_layers(flavor):
    assert_agrees_with_keras(_identity_layers, flavor)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_prelu_shared_axes(flavor):
    assert_variables_agree(_prelu, flavor, "p_all", "p_shared", "p_last")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_einsum_dense(flavor):
    assert_variables_agree(_einsum, flavor, "e1", "e2", "e3", "e4", "e5", "e6")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_lambda_with_declared_output_shape(flavor):
    assert_agrees_with_keras(_lambda_declared, flavor)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_lambda_without_output_shape_is_refused(flavor):
    keras = keras_module(flavor)
    inputs = keras.Input((6, 4))
    model = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2, name="double")(inputs))
    message = engine_error(model.to_json())
    assert "cannot be known statically" in message and "output_shape" in message


def _skip_unless_flat_nodes_read(model: Any) -> None:
    """tf-keras writes a TFOpLambda's node as one flat [layer, node, tensor, kwargs] list."""
    from pytest_kerasparams.graph import GraphError, read_model

    try:
        read_model(json.loads(model.to_json()))
    except GraphError as error:
        pytest.skip(f"graph.py cannot read tf-keras's flat TFOpLambda nodes yet: {error.message}")


def test_tf_op_lambda_elementwise_tf_keras():
    tf = pytest.importorskip("tensorflow")

    def build(keras):
        a = keras.Input((5, 3))
        b = keras.Input((1, 3))
        x = tf.nn.relu(a)
        x = tf.math.multiply(x, b)
        x = x + keras.layers.Dense(3)(a)
        x = tf.math.sigmoid(x)
        return keras.Model([a, b], keras.layers.Dense(2)(x))

    _skip_unless_flat_nodes_read(build(keras_module("tf_keras")))
    assert_agrees_with_keras(build, "tf_keras")


def test_tf_op_lambda_slicing_and_reductions_tf_keras():
    tf = pytest.importorskip("tensorflow")
    from pytest_kerasparams.api import LayerCall

    if "kwargs" not in getattr(LayerCall, "__dataclass_fields__", {}):
        pytest.skip("LayerCall does not carry call kwargs (slice specs, axes) yet")

    def build(keras):
        a = keras.Input((5, 3, 4))
        outs = [a[:, 1:4, 0], a[:, -1], a[..., ::2], a[:, ::-2, 1:], tf.reduce_mean(a, axis=1, keepdims=True),
                tf.reduce_sum(a, axis=[1, -1]), tf.reduce_max(a), tf.expand_dims(a, -1), tf.expand_dims(a, 1),
                tf.concat([a, a[:, :2]], axis=1), tf.stack([a, a, a], axis=-1), a * 2.0 + 1.0]
        return keras.Model(a, [keras.layers.Activation("linear")(o) for o in outs])

    _skip_unless_flat_nodes_read(build(keras_module("tf_keras")))
    assert_agrees_with_keras(build, "tf_keras")


def test_tf_op_lambda_with_shape_changing_op_is_refused():
    tf = pytest.importorskip("tensorflow")
    keras = keras_module("tf_keras")
    inputs = keras.Input((5, 3))
    model = keras.Model(inputs, tf.linalg.matmul(inputs, inputs, transpose_b=True))
    _skip_unless_flat_nodes_read(model)
    message = engine_error(model.to_json())
    assert "tf.linalg.matmul" in message


# --- normalization ----------------------------------------------------------------------------------


def _batch_norm(keras):
    inputs = keras.Input((6, 5, 4))
    x = keras.layers.BatchNormalization(name="bn_last")(inputs)
    x = keras.layers.BatchNormalization(axis=1, name="bn_axis1")(x)
    x = keras.layers.BatchNormalization(center=False, name="bn_nocenter")(x)
    x = keras.layers.BatchNormalization(scale=False, center=False, name="bn_bare")(x)
    return keras.Model(inputs, x)


def _layer_norm(keras):
    inputs = keras.Input((6, 5, 4))
    x = keras.layers.LayerNormalization(name="ln_last")(inputs)
    x = keras.layers.LayerNormalization(axis=[1, 2], name="ln_12")(x)
    x = keras.layers.LayerNormalization(axis=[-1, -3], name="ln_neg")(x)
    x = keras.layers.LayerNormalization(axis=2, center=False, name="ln_nocenter")(x)
    x = keras.layers.LayerNormalization(axis=[1, 2, 3], scale=False, center=False, name="ln_bare")(x)
    return keras.Model(inputs, x)


def _group_unit_norm(keras):
    inputs = keras.Input((6, 8))
    x = keras.layers.GroupNormalization(groups=4, name="gn")(inputs)
    x = keras.layers.GroupNormalization(groups=-1, center=False, name="gn_inst")(x)
    x = keras.layers.GroupNormalization(groups=3, axis=1, name="gn_axis1")(x)
    x = keras.layers.UnitNormalization()(x)
    return keras.Model(inputs, x)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_batch_normalization(flavor):
    assert_variables_agree(_batch_norm, flavor, "bn_last", "bn_axis1", "bn_nocenter", "bn_bare")


def test_batch_normalization_axis_list_and_renorm_tf_keras():
    def build(keras):
        inputs = keras.Input((6, 5, 4))
        x = keras.layers.BatchNormalization(axis=[1, 3], name="bn_list")(inputs)
        x = keras.layers.BatchNormalization(renorm=True, name="bn_renorm")(x)
        return keras.Model(inputs, x)

    assert_variables_agree(build, "tf_keras", "bn_list", "bn_renorm")


def test_batch_normalization_virtual_batch_and_sync_tf_keras():
    def build(keras):
        inputs = keras.Input((6, 4))
        x = keras.layers.BatchNormalization(virtual_batch_size=2, name="bn_virtual")(inputs)
        x = keras.layers.experimental.SyncBatchNormalization(name="bn_sync")(x)
        return keras.Model(inputs, x)

    assert_variables_agree(build, "tf_keras", "bn_virtual", "bn_sync")


def test_batch_normalization_renorm_keras3():
    keras = keras_module("keras3")
    try:
        keras.layers.BatchNormalization(renorm=True)
    except (TypeError, ValueError):
        pytest.skip("this Keras 3 has no BatchNormalization renorm")

    def build(keras):
        inputs = keras.Input((6, 4))
        return keras.Model(inputs, keras.layers.BatchNormalization(renorm=True, name="bn_renorm")(inputs))

    assert_variables_agree(build, "keras3", "bn_renorm")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_layer_normalization_axes(flavor):
    assert_variables_agree(_layer_norm, flavor, "ln_last", "ln_12", "ln_neg", "ln_nocenter", "ln_bare")


@pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`")
def test_layer_normalization_rms_scaling_keras3():
    def build(keras):
        inputs = keras.Input((6, 4))
        return keras.Model(inputs, keras.layers.LayerNormalization(rms_scaling=True, name="ln_rms")(inputs))

    assert_variables_agree(build, "keras3", "ln_rms")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_group_and_unit_normalization(flavor):
    assert_variables_agree(_group_unit_norm, flavor, "gn", "gn_inst", "gn_axis1")


def test_rms_normalization_keras3():
    keras = keras_module("keras3")
    if not hasattr(keras.layers, "RMSNormalization"):
        pytest.skip("this Keras 3 has no RMSNormalization")

    def build(keras):
        inputs = keras.Input((6, 4))
        x = keras.layers.RMSNormalization(name="rms")(inputs)
        x = keras.layers.RMSNormalization(axis=[1, 2], name="rms_12")(x)
        return keras.Model(inputs, x)

    assert_variables_agree(build, "keras3", "rms", "rms_12")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_spectral_normalization(flavor):
    keras = keras_module(flavor)
    if not hasattr(keras.layers, "SpectralNormalization"):
        pytest.skip(f"{flavor} has no SpectralNormalization")
    try:
        keras.layers.SpectralNormalization(keras.layers.Dense(2))(keras.Input((3,)))
    except TypeError as error:  # tf-keras 2.21 mixes in Keras 3's InputSpec and cannot build it
        pytest.skip(f"{flavor}'s SpectralNormalization cannot be built here: {error}")

    def build(keras):
        inputs = keras.Input((8, 8, 3))
        x = keras.layers.SpectralNormalization(keras.layers.Conv2D(4, 3), name="sn_conv")(inputs)
        x = keras.layers.Flatten()(x)
        x = keras.layers.SpectralNormalization(keras.layers.Dense(5), name="sn_dense")(x)
        ids = keras.Input((4,), dtype="int32")
        y = keras.layers.SpectralNormalization(keras.layers.Embedding(10, 3), name="sn_emb")(ids)
        return keras.Model([inputs, ids], [x, y])

    assert_variables_agree(build, flavor, "sn_conv", "sn_dense", "sn_emb")


# --- merging ----------------------------------------------------------------------------------------


def _concatenate(keras):
    a = keras.Input((4, 3))
    b = keras.Input((4, 5))
    c = keras.Input((2, 5))
    x = keras.layers.Concatenate()([a, b])
    y = keras.layers.Concatenate(axis=1)([b, c])
    z = keras.layers.Concatenate(axis=-2)([b, c, b])
    d = keras.Input((None, 3))
    u = keras.layers.Concatenate()([d, a])  # Keras 3 keeps the first input's unknown length, tf-keras takes 4
    v = keras.layers.Concatenate(axis=1)([a, d])
    return keras.Model([a, b, c, d], [x, y, z, u, v])


def _elementwise(keras):
    a = keras.Input((4, 3))
    b = keras.Input((1, 3))
    c = keras.Input((3,))
    d = keras.Input((None, 3))
    outs = [keras.layers.Add()([a, b]), keras.layers.Subtract()([a, c]), keras.layers.Multiply()([a, b, c]),
            keras.layers.Average()([a, d]), keras.layers.Maximum()([b, d]), keras.layers.Minimum()([a, a])]
    return keras.Model([a, b, c, d], outs)


def _dot(keras):
    a = keras.Input((4, 3))
    b = keras.Input((5, 3))
    c = keras.Input((3,))
    d = keras.Input((3,))
    x = keras.layers.Dot(axes=2)([a, b])
    y = keras.layers.Dot(axes=(1, 2), normalize=True)([x, keras.layers.Permute((2, 1))(x)])
    z = keras.layers.Dot(axes=1)([c, d])
    e = keras.Input((3, 6))
    w = keras.layers.Dot(axes=[2, 1])([a, e])
    return keras.Model([a, b, c, d, e], [x, y, z, w])


@pytest.mark.parametrize("flavor", FLAVORS)
def test_concatenate(flavor):
    assert_agrees_with_keras(_concatenate, flavor)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_elementwise_merges_broadcast(flavor):
    assert_agrees_with_keras(_elementwise, flavor)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_dot(flavor):
    assert_agrees_with_keras(_dot, flavor)


def _with_input_shape(model_json: str, input_name: str, shape: list[Any]) -> str:
    data, layer = layer_config(model_json, input_name)
    key = "batch_shape" if "batch_shape" in layer["config"] else "batch_input_shape"
    layer["config"][key] = shape
    return json.dumps(data)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_concatenate_mismatch_is_refused(flavor):
    keras = keras_module(flavor)
    a = keras.Input((4, 3), name="a")
    b = keras.Input((4, 5), name="b")
    model = keras.Model([a, b], keras.layers.Concatenate(name="cat")([a, b]))
    message = engine_error(_with_input_shape(model.to_json(), "b", [None, 6, 5]))
    assert "Concatenate" in message and "(None, 4, 3)" in message and "(None, 6, 5)" in message


@pytest.mark.parametrize("flavor", FLAVORS)
def test_add_mismatch_is_refused(flavor):
    keras = keras_module(flavor)
    a = keras.Input((4, 3), name="a")
    b = keras.Input((4, 3), name="b")
    model = keras.Model([a, b], keras.layers.Add(name="add")([a, b]))
    message = engine_error(_with_input_shape(model.to_json(), "b", [None, 4, 2]))
    assert "(None, 4, 3)" in message or "(4, 3)" in message
    assert "(4, 2)" in message


@pytest.mark.parametrize("flavor", FLAVORS)
def test_dot_incompatible_axes_is_refused(flavor):
    keras = keras_module(flavor)
    a = keras.Input((4, 3), name="a")
    b = keras.Input((5, 3), name="b")
    model = keras.Model([a, b], keras.layers.Dot(axes=2, name="dot")([a, b]))
    message = engine_error(_with_input_shape(model.to_json(), "b", [None, 5, 7]))
    assert "(None, 4, 3)" in message and "(None, 5, 7)" in message


# --- robustness -------------------------------------------------------------------------------------


def test_malformed_configs_raise_rule_errors_only():
    """Wrong types and values in any key give a RuleError (a sentence for the user), never a crash."""
    import random

    from pytest_kerasparams.api import LayerCall, LayerResult, RuleError
    from pytest_kerasparams.rules import attention, core, merging, normalization, preprocessing

    rules = {}
    for module in (core, normalization, merging, attention, preprocessing):
        rules.update(module.kerasparams_layer_rules())
    bad_values = [None, "x", -1, 0, [], {}, True, 1.5, [None], [-5], ["a"], {"a": 1}, 10**30, [1, 2, 3, 4, 5]]
    keys = ["units", "output_dim", "input_dim", "use_bias", "lora_rank", "dtype", "shared_axes", "equation",
            "output_shape", "bias_axes", "output_shape_type", "function", "axis", "center", "scale", "renorm",
            "virtual_batch_size", "groups", "rms_scaling", "layer", "axes", "num_heads", "key_dim", "value_dim",
            "attention_axes", "head_dim", "num_query_heads", "num_key_value_heads", "score_mode", "use_scale",
            "height", "width", "data_format", "mean", "variance", "bin_boundaries", "num_bins", "output_mode",
            "num_tokens", "vocabulary", "vocabulary_size", "pad_to_max_tokens", "max_tokens",
            "output_sequence_length", "split"]
    shapes = [((None, 4),), ((None, 4, 5),), ((None, 3, 4, 5),), ((None, None, 3),), ((None, 4), (None, 4)),
              ((None, 5, 6), (None, 7, 6)), ((None, 5, 6), (None, 7, 6), (None, 7, 2)), ((None,),), ((),)]
    sane = {"units": 3, "input_dim": 5, "output_dim": 2, "num_heads": 2, "key_dim": 2, "height": 2, "width": 2,
            "equation": "abc,cd->abd", "output_shape": [None, 3], "function": "concat",
            "layer": {"class_name": "Dense", "config": {"units": 2}}}

    def inner(layer, inner_shapes):
        return rules[layer["class_name"]](LayerCall(layer["class_name"], layer["config"], inner_shapes))

    chooser = random.Random(7)
    for name, rule in rules.items():
        for _ in range(60):
            config = dict(sane) if chooser.random() < 0.5 else {}
            config.update({k: chooser.choice(bad_values) for k in chooser.sample(keys, chooser.randint(1, 6))})
            call = LayerCall(name, config, chooser.choice(shapes), chooser.choice(["keras3", "tf-keras"]), inner)
            try:
                assert isinstance(rule(call), LayerResult)
            except RuleError:
                pass
