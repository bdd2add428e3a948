"""Pooling and reshaping rules against real Keras, in both flavors (none of these own weights)."""

from __future__ import annotations

import json

import pytest

from pytest_kerasparams.analysis import analyze_text
from pytest_kerasparams.problems import InputError
from tests.keras_oracle import FLAVORS, assert_agrees_with_keras, keras_module


def _sequential(input_shape, *layers):
    def build(keras):
        return keras.Sequential([keras.Input(input_shape)] + [make(keras.layers) for make in layers])
    return build


POOLING_CASES = {
    "max1d": _sequential((11, 3), lambda L: L.MaxPooling1D()),
    "avg1d_strided_same": _sequential((10, 2), lambda L: L.AveragePooling1D(3, strides=2, padding="same")),
    "max1d_channels_first": _sequential((3, 11), lambda L: L.MaxPooling1D(3, data_format="channels_first")),
    "avg1d_unknown": _sequential((None, 4), lambda L: L.AveragePooling1D(2, strides=1)),
    "max2d_rect": _sequential((13, 17, 3), lambda L: L.MaxPooling2D((3, 2), strides=(2, 3))),
    "avg2d_same": _sequential((13, 17, 3), lambda L: L.AveragePooling2D(4, padding="same")),
    "max2d_channels_first": _sequential((3, 13, 17), lambda L: L.MaxPooling2D(2, data_format="channels_first")),
    "max3d": _sequential((7, 8, 9, 2), lambda L: L.MaxPooling3D((2, 3, 4), strides=1)),
    "avg3d_same_cf": _sequential((2, 7, 8, 9), lambda L: L.AveragePooling3D(3, strides=(1, 2, 3), padding="same",
                                                                            data_format="channels_first")),
    "aliases": _sequential((16, 16, 3), lambda L: L.MaxPool2D(), lambda L: L.AvgPool2D(2)),
}

GLOBAL_CASES = {
    f"global_{kind}_{rank}d_{'keep' if keep else 'drop'}_{fmt}": (kind, rank, keep, fmt)
    for kind in ("Max", "Average") for rank in (1, 2, 3) for keep in (False, True)
    for fmt in ("channels_last", "channels_first")
}


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("case", sorted(POOLING_CASES))
def test_pooling_agrees_with_keras(case, flavor):
    assert_agrees_with_keras(POOLING_CASES[case], flavor)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_global_pooling_agrees_with_keras(flavor):
    """Every global pooling class, with and without keepdims, in both data formats, in one functional model."""
    def build(keras):
        outputs, inputs = [], {}
        for kind, rank, keep, fmt in GLOBAL_CASES.values():
            if rank not in inputs:
                inputs[rank] = keras.Input((5, 6, 7, 4)[:rank] + (3,))
            layer = getattr(keras.layers, f"Global{kind}Pooling{rank}D")(keepdims=keep, data_format=fmt)
            outputs.append(layer(inputs[rank]))
        return keras.Model(list(inputs.values()), outputs)
    assert_agrees_with_keras(build, flavor)


ADAPTIVE_CASES = {
    "adaptive_avg1d": _sequential((17, 3), lambda L: L.AdaptiveAveragePooling1D(5)),
    "adaptive_max1d_cf": _sequential((3, 17), lambda L: L.AdaptiveMaxPooling1D(4, data_format="channels_first")),
    "adaptive_avg2d": _sequential((15, 16, 3), lambda L: L.AdaptiveAveragePooling2D((4, 3))),
    "adaptive_max2d_int": _sequential((None, None, 3), lambda L: L.AdaptiveMaxPooling2D(2)),
    "adaptive_avg3d_cf": _sequential((2, 6, 7, 8), lambda L: L.AdaptiveAveragePooling3D(
        (1, 2, 3), data_format="channels_first")),
    "adaptive_max3d": _sequential((6, 7, 8, 2), lambda L: L.AdaptiveMaxPooling3D(3)),
}


@pytest.mark.parametrize("case", sorted(ADAPTIVE_CASES))
def test_adaptive_pooling_agrees_with_keras3(case):
    """Adaptive pooling exists only in Keras 3."""
    keras = keras_module("keras3")
    if not hasattr(keras.layers, "AdaptiveAveragePooling1D"):
        pytest.skip("this Keras 3 has no adaptive pooling")
    assert_agrees_with_keras(ADAPTIVE_CASES[case], "keras3")


RESHAPING_CASES = {
    "cropping1d": _sequential((12, 3), lambda L: L.Cropping1D((2, 5))),
    "cropping1d_int": _sequential((12, 3), lambda L: L.Cropping1D(1)),
    "cropping2d": _sequential((12, 14, 3), lambda L: L.Cropping2D(((1, 2), (3, 4)))),
    "cropping2d_sym": _sequential((12, 14, 3), lambda L: L.Cropping2D((2, 3))),
    "cropping2d_cf": _sequential((3, 12, 14), lambda L: L.Cropping2D(2, data_format="channels_first")),
    "cropping3d": _sequential((8, 9, 10, 2), lambda L: L.Cropping3D(((1, 0), (2, 1), (0, 3)))),
    "cropping3d_cf_unknown": _sequential((2, None, 9, 10), lambda L: L.Cropping3D(
        (1, 2, 3), data_format="channels_first")),
    "zeropad1d": _sequential((12, 3), lambda L: L.ZeroPadding1D((2, 5))),
    "zeropad1d_int": _sequential((None, 3), lambda L: L.ZeroPadding1D(3)),
    "zeropad2d": _sequential((12, 14, 3), lambda L: L.ZeroPadding2D(((1, 2), (3, 4)))),
    "zeropad2d_sym_cf": _sequential((3, 12, 14), lambda L: L.ZeroPadding2D((2, 1), data_format="channels_first")),
    "zeropad3d": _sequential((4, 5, 6, 2), lambda L: L.ZeroPadding3D(((1, 0), (2, 1), (0, 3)))),
    "zeropad3d_int_cf": _sequential((2, 4, 5, 6), lambda L: L.ZeroPadding3D(2, data_format="channels_first")),
    "upsampling1d": _sequential((7, 3), lambda L: L.UpSampling1D(3)),
    "upsampling2d": _sequential((7, 8, 3), lambda L: L.UpSampling2D((2, 3), interpolation="bilinear")),
    "upsampling2d_cf": _sequential((3, 7, 8), lambda L: L.UpSampling2D(2, data_format="channels_first")),
    "upsampling3d": _sequential((3, 4, None, 2), lambda L: L.UpSampling3D((1, 2, 3))),
    "upsampling3d_cf": _sequential((2, 3, 4, 5), lambda L: L.UpSampling3D(2, data_format="channels_first")),
    "reshape": _sequential((6, 4), lambda L: L.Reshape((3, 8))),
    "reshape_minus_one": _sequential((6, 4, 2), lambda L: L.Reshape((-1, 3))),
    "reshape_minus_one_unknown": _sequential((None, 4), lambda L: L.Reshape((2, -1))),
    "reshape_known_unknown_input": _sequential((None, 4), lambda L: L.Reshape((5, 4))),
    "permute": _sequential((2, 3, 4), lambda L: L.Permute((3, 1, 2))),
    "permute_unknown": _sequential((None, 3), lambda L: L.Permute((2, 1))),
    "flatten": _sequential((2, 3, 4), lambda L: L.Flatten()),
    "flatten_cf": _sequential((2, 3, 4), lambda L: L.Flatten(data_format="channels_first")),
    "flatten_unknown": _sequential((None, 3), lambda L: L.Flatten()),
    "flatten_rank1": _sequential((), lambda L: L.Flatten()),
    "repeat_vector": _sequential((5,), lambda L: L.RepeatVector(4)),
    "chain": _sequential((28, 28, 1),
                         lambda L: L.ZeroPadding2D(2),
                         lambda L: L.Conv2D(4, 5),
                         lambda L: L.MaxPooling2D(),
                         lambda L: L.Cropping2D(((0, 1), (1, 0))),
                         lambda L: L.UpSampling2D(),
                         lambda L: L.Reshape((-1, 4)),
                         lambda L: L.Permute((2, 1)),
                         lambda L: L.GlobalAveragePooling1D(),
                         lambda L: L.RepeatVector(3),
                         lambda L: L.Flatten()),
}


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("case", sorted(RESHAPING_CASES))
def test_reshaping_agrees_with_keras(case, flavor):
    assert_agrees_with_keras(RESHAPING_CASES[case], flavor)


def _message_after_edit(flavor: str, input_shape, make_layer, edit) -> str:
    """Serialize a valid model, edit its JSON into one Keras rejects, and return our problem message."""
    keras = keras_module(flavor)
    model = keras.Sequential([keras.Input(input_shape), make_layer(keras.layers)])
    data = json.loads(model.to_json())
    edit(data["config"]["layers"])
    with pytest.raises(InputError) as raised:
        analyze_text(json.dumps(data), "bad.json", validate_schema=False)
    return raised.value.problem.message


def _layer_config(layers):
    """The edited layer's config: Keras 3 lists the InputLayer first, tf-keras too (from 2.13)."""
    return layers[-1]["config"]


@pytest.mark.parametrize("flavor", FLAVORS)
def test_reshape_size_mismatch_is_rejected(flavor):
    keras = keras_module(flavor)
    with pytest.raises(ValueError):
        keras.Sequential([keras.Input((6, 4)), keras.layers.Reshape((5, 5))])
    with pytest.raises(ValueError):
        keras.Sequential([keras.Input((6, 4)), keras.layers.Reshape((5, -1))])
    message = _message_after_edit(flavor, (6, 4), lambda L: L.Reshape((3, 8), name="reshaper"),
                                  lambda layers: _layer_config(layers).update(target_shape=[5, 5]))
    assert "reshaper" in message and "(None, 6, 4)" in message and "(5, 5)" in message
    message = _message_after_edit(flavor, (6, 4), lambda L: L.Reshape((3, 8), name="reshaper"),
                                  lambda layers: _layer_config(layers).update(target_shape=[5, -1]))
    assert "reshaper" in message and "(None, 6, 4)" in message and "(5, -1)" in message


@pytest.mark.parametrize("flavor", FLAVORS)
def test_pool_larger_than_input_is_rejected(flavor):
    keras = keras_module(flavor)
    with pytest.raises(ValueError):
        keras.Sequential([keras.Input((3, 8, 2)), keras.layers.MaxPooling2D(4)])
    message = _message_after_edit(flavor, (3, 8, 2), lambda L: L.MaxPooling2D(2, name="pool"),
                                  lambda layers: _layer_config(layers).update(pool_size=[4, 4]))
    assert "pool" in message and "(None, 3, 8, 2)" in message and "4" in message


@pytest.mark.parametrize("flavor", FLAVORS)
def test_cropping_everything_is_rejected(flavor):
    keras = keras_module(flavor)
    with pytest.raises(ValueError):
        keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Cropping2D(((3, 3), (0, 0)))])
    message = _message_after_edit(flavor, (6, 6, 3), lambda L: L.Cropping2D(1, name="crop"),
                                  lambda layers: _layer_config(layers).update(cropping=[[3, 3], [0, 0]]))
    assert "crop" in message and "(None, 6, 6, 3)" in message


@pytest.mark.parametrize("edit", [
    {"target_shape": "3x8"}, {"target_shape": [3, -1, -1]}, {"target_shape": [3, -2]}, {"target_shape": None},
])
def test_bad_reshape_values_are_rule_errors(edit):
    message = _message_after_edit("keras3", (6, 4), lambda L: L.Reshape((3, 8), name="reshaper"),
                                  lambda layers: _layer_config(layers).update(edit))
    assert "reshaper" in message and "target_shape" in message


@pytest.mark.parametrize("edit", [
    {"padding": "wide"}, {"padding": [1, 2, 3]}, {"padding": [[1, -1], [0, 0]]}, {"padding": True},
])
def test_bad_padding_values_are_rule_errors(edit):
    message = _message_after_edit("keras3", (6, 6, 3), lambda L: L.ZeroPadding2D(1, name="pad"),
                                  lambda layers: _layer_config(layers).update(edit))
    assert "pad" in message and "padding" in message


def test_keras1_reshaping_and_pooling_names():
    """Keras 1 spellings (pool_length, stride, border_mode, dim_ordering, length, 4-int padding), checked against
    the same layers rebuilt with Keras 2 names in tf-keras (which cannot load Keras 1 files)."""
    data = {"class_name": "Sequential", "keras_version": "1.2.2", "config": [
        {"class_name": "ZeroPadding2D", "config": {"name": "pad", "batch_input_shape": [None, 3, 20, 21],
                                                   "padding": [1, 2, 3, 4], "dim_ordering": "th"}},
        {"class_name": "MaxPooling2D", "config": {"name": "pool", "pool_size": [2, 3], "strides": None,
                                                  "border_mode": "same", "dim_ordering": "th"}},
        {"class_name": "Cropping2D", "config": {"name": "crop", "cropping": [[1, 0], [0, 2]], "dim_ordering": "th"}},
        {"class_name": "UpSampling2D", "config": {"name": "up", "size": [2, 1], "dim_ordering": "th"}},
        {"class_name": "Reshape", "config": {"name": "flat", "target_shape": [3, -1]}},
        {"class_name": "MaxPooling1D", "config": {"name": "pool1", "pool_length": 2, "stride": 1,
                                                  "border_mode": "valid"}},
        {"class_name": "UpSampling1D", "config": {"name": "up1", "length": 3}},
        {"class_name": "ZeroPadding1D", "config": {"name": "pad1", "padding": 2}},
    ]}
    rows = {r.name: r for r in analyze_text(json.dumps(data), "keras1.json").report.rows}
    keras = keras_module("tf_keras")
    L = keras.layers
    model = keras.Sequential([
        keras.Input((3, 20, 21)),
        L.ZeroPadding2D(((1, 2), (3, 4)), data_format="channels_first", name="pad"),
        L.MaxPooling2D((2, 3), padding="same", data_format="channels_first", name="pool"),
        L.Cropping2D(((1, 0), (0, 2)), data_format="channels_first", name="crop"),
        L.UpSampling2D((2, 1), data_format="channels_first", name="up"),
        L.Reshape((3, -1), name="flat"),
        L.MaxPooling1D(2, strides=1, name="pool1"),
        L.UpSampling1D(3, name="up1"),
        L.ZeroPadding1D(2, name="pad1"),
    ])
    for layer in model.layers:
        assert rows[layer.name].summary_output() == tuple(layer.output_shape), layer.name


def test_rules_raise_only_rule_errors_on_garbage_configs():
    """Random configs and shapes through every conv, pooling and reshaping rule: a result or a RuleError."""
    import random

    from pytest_kerasparams.api import LayerCall, RuleError
    from pytest_kerasparams.rules import convolutional, pooling, reshaping

    rules = {**convolutional.kerasparams_layer_rules(), **pooling.kerasparams_layer_rules(),
             **reshaping.kerasparams_layer_rules()}
    values = [None, 0, 1, 2, 3, -1, -2, True, "same", "valid", "causal", "full", "x", 2.0, 2.5, [], [1], [2, 2],
              [3, 3, 3], [[1, 1], [2, 2]], [[1, 2], [3]], {"a": 1}, {"top_pad": 1}, [None, 2], ["a", "b"],
              [1, 2, 3, 4], "th", "tf", "channels_first", [[1, 1], [1, 1], [1, 1]], [2, -1], [-1, -1]]
    keys = ["filters", "kernel_size", "strides", "padding", "dilation_rate", "groups", "data_format", "use_bias",
            "depth_multiplier", "output_padding", "implementation", "pool_size", "keepdims", "output_size",
            "cropping", "size", "target_shape", "dims", "n", "nb_filter", "nb_row", "nb_col", "filter_length",
            "border_mode", "subsample", "dim_ordering", "output_shape", "lora_rank", "length", "pool_length"]
    shapes = [(), (None,), (None, 5), (None, 10, 3), (None, None, 3), (None, 8, 9, 3), (None, 3, None, 4),
              (None, 6, 7, 8, 2), (None, 4, 4, None), (None, 0, 3)]
    rng = random.Random(7)
    for _ in range(4000):
        name = rng.choice(sorted(rules))
        config = {key: rng.choice(values) for key in rng.sample(keys, rng.randint(0, 10))}
        call = LayerCall(name, config, (rng.choice(shapes),), rng.choice(["keras3", "keras1", "tf-keras"]))
        try:
            result = rules[name](call)
        except RuleError:
            continue
        for shape in result.output_shapes:
            assert all(d is None or (type(d) is int and d >= 0) for d in shape), (name, config, shape)
        assert all(type(d) is int and d >= 0 for v in result.variables for d in v.shape), (name, config)
        assert not result.variables or sum(f.value for f in result.formulas) == result.params, (name, config)
