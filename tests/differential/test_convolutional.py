"""Convolution rules against real Keras, in both flavors: shapes, counts and weight names.

Every expected figure comes from Keras (tests/keras_oracle.py); the weight
check compares each layer's variables (name, shape, trainable) with
``layer.weights`` in order.
"""

from __future__ import annotations

import json

import pytest

from pytest_kerasparams.analysis import analyze_text
from pytest_kerasparams.problems import InputError
from tests.keras_oracle import FLAVORS, assert_agrees_with_keras, keras_module, keras_variables


def assert_weights_agree(build, flavor: str):
    """Compare shapes and counts (the oracle), then every variable's name, shape and trainability."""
    keras = keras_module(flavor)
    model = build(keras)
    analysis = assert_agrees_with_keras(lambda _: model, flavor)
    for layer in model.layers:
        report = analysis.report.find(layer.name)
        assert report is not None, layer.name
        ours = [(v.name, v.shape, v.trainable) for v in report.variables]
        assert ours == keras_variables(layer), f"{layer.name}: {ours} != {keras_variables(layer)}"
        if report.result is not None and report.variables:
            assert sum(f.value for f in report.result.formulas) == report.params, layer.name
    return analysis


def _sequential(input_shape, *layers):
    def build(keras):
        return keras.Sequential([keras.Input(input_shape)] + [make(keras.layers) for make in layers])
    return build


CONV_CASES = {
    "conv1d_valid": _sequential((72, 8), lambda L: L.Conv1D(64, 3)),
    "conv1d_same_strided": _sequential((71, 8), lambda L: L.Conv1D(16, 4, strides=3, padding="same")),
    "conv1d_causal_dilated": _sequential((30, 5), lambda L: L.Conv1D(7, 3, padding="causal", dilation_rate=4)),
    "conv1d_no_bias_groups": _sequential((20, 8), lambda L: L.Conv1D(12, 5, groups=4, use_bias=False)),
    "conv1d_unknown_steps": _sequential((None, 3), lambda L: L.Conv1D(4, 3, strides=2)),
    "conv1d_channels_first": _sequential((6, 40), lambda L: L.Conv1D(5, 7, strides=2,
                                                                     data_format="channels_first")),
    "conv2d_rect": _sequential((28, 30, 3), lambda L: L.Conv2D(32, (3, 5), strides=(2, 1))),
    "conv2d_same_dilated": _sequential((17, 19, 4), lambda L: L.Conv2D(8, 3, padding="same",
                                                                       dilation_rate=(2, 3))),
    "conv2d_groups_no_bias": _sequential((16, 16, 6), lambda L: L.Conv2D(9, 3, groups=3, use_bias=False)),
    "conv2d_channels_first": _sequential((3, 32, 20), lambda L: L.Conv2D(10, (5, 3), strides=(3, 2),
                                                                         padding="same",
                                                                         data_format="channels_first")),
    "conv2d_unknown_spatial": _sequential((None, None, 3), lambda L: L.Conv2D(4, 3, strides=2)),
    "conv3d": _sequential((10, 12, 14, 2), lambda L: L.Conv3D(6, (3, 2, 5), strides=(1, 2, 3))),
    "conv3d_same_groups": _sequential((9, 9, 9, 4), lambda L: L.Conv3D(8, 3, padding="same", groups=2,
                                                                       strides=2)),
    "conv3d_channels_first": _sequential((2, 8, 9, 10), lambda L: L.Conv3D(3, 2, dilation_rate=2,
                                                                           data_format="channels_first")),
    "conv1d_transpose": _sequential((10, 4), lambda L: L.Conv1DTranspose(6, 3, strides=2)),
    "conv1d_transpose_same_op": _sequential((10, 4), lambda L: L.Conv1DTranspose(6, 4, strides=3, padding="same",
                                                                                 output_padding=2)),
    "conv2d_transpose_valid": _sequential((7, 9, 3), lambda L: L.Conv2DTranspose(5, (3, 2), strides=(2, 3))),
    "conv2d_transpose_small_kernel": _sequential((7, 9, 3), lambda L: L.Conv2DTranspose(5, 2, strides=4)),
    "conv2d_transpose_output_padding": _sequential((7, 9, 3), lambda L: L.Conv2DTranspose(
        5, 3, strides=2, output_padding=(1, 0))),
    "conv2d_transpose_same_op": _sequential((7, 9, 3), lambda L: L.Conv2DTranspose(
        5, (4, 3), strides=(3, 2), padding="same", output_padding=(2, 1), use_bias=False)),
    "conv2d_transpose_dilated": _sequential((7, 9, 3), lambda L: L.Conv2DTranspose(4, 3, dilation_rate=2,
                                                                                   padding="same")),
    "conv2d_transpose_dilated_valid": _sequential((7, 9, 3), lambda L: L.Conv2DTranspose(4, 3, dilation_rate=2)),
    "conv2d_transpose_channels_first": _sequential((3, 7, 9), lambda L: L.Conv2DTranspose(
        4, 3, strides=2, data_format="channels_first")),
    "conv2d_transpose_unknown": _sequential((None, 5, 2), lambda L: L.Conv2DTranspose(4, 3, strides=2)),
    "conv3d_transpose": _sequential((4, 5, 6, 2), lambda L: L.Conv3DTranspose(3, (2, 3, 4), strides=(1, 2, 3),
                                                                             padding="same")),
    "conv3d_transpose_op": _sequential((4, 5, 6, 2), lambda L: L.Conv3DTranspose(3, 3, strides=2,
                                                                                output_padding=1)),
    "separable1d": _sequential((30, 6), lambda L: L.SeparableConv1D(10, 5, depth_multiplier=3, strides=2)),
    "separable1d_same_no_bias": _sequential((30, 6), lambda L: L.SeparableConv1D(10, 3, padding="same",
                                                                                 use_bias=False)),
    "separable2d": _sequential((20, 22, 5), lambda L: L.SeparableConv2D(16, (3, 5), depth_multiplier=2,
                                                                         padding="same", strides=(2, 3))),
    "separable2d_dilated": _sequential((20, 22, 5), lambda L: L.SeparableConv2D(7, 3, dilation_rate=2)),
    "separable2d_channels_first": _sequential((5, 20, 22), lambda L: L.SeparableConv2D(
        7, 3, data_format="channels_first")),
    "depthwise1d": _sequential((30, 6), lambda L: L.DepthwiseConv1D(5, depth_multiplier=2, strides=2)),
    "depthwise1d_same_no_bias": _sequential((30, 6), lambda L: L.DepthwiseConv1D(3, padding="same",
                                                                                 use_bias=False)),
    "depthwise2d": _sequential((20, 22, 5), lambda L: L.DepthwiseConv2D((3, 5), depth_multiplier=3,
                                                                         padding="same", strides=2)),
    "depthwise2d_dilated": _sequential((20, 22, 5), lambda L: L.DepthwiseConv2D(3, dilation_rate=(2, 3))),
    "depthwise2d_channels_first": _sequential((5, 20, 22), lambda L: L.DepthwiseConv2D(
        3, data_format="channels_first")),
    "conv_stack": _sequential((64, 64, 3),
                              lambda L: L.Conv2D(16, 3, padding="same", activation="relu"),
                              lambda L: L.SeparableConv2D(32, 3, strides=2, padding="same"),
                              lambda L: L.DepthwiseConv2D(3, strides=2),
                              lambda L: L.Conv2D(8, 1, use_bias=False),
                              lambda L: L.Conv2DTranspose(4, 3, strides=2, padding="same")),
}


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("case", sorted(CONV_CASES))
def test_convolutions_agree_with_keras(case, flavor):
    assert_weights_agree(CONV_CASES[case], flavor)


def test_frozen_convolution_is_non_trainable():
    """A layer with ``trainable=False`` counts its kernel and bias as non-trainable (Keras 3 and tf-keras)."""
    for flavor in FLAVORS:
        def build(keras):
            model = _sequential((12, 3), lambda L: L.Conv1D(4, 3), lambda L: L.SeparableConv1D(2, 3))(keras)
            model.layers[0].trainable = False
            return model
        assert_weights_agree(build, flavor)


def test_keras3_lora_convolution():
    """Keras 3's ``lora_rank`` freezes the kernel and adds two trainable low-rank factors."""
    keras = keras_module("keras3")
    try:
        keras.layers.Conv2D(8, 3, lora_rank=2)
    except TypeError:
        pytest.skip("this Keras 3 has no LoRA on convolutions")
    assert_weights_agree(_sequential((10, 10, 3), lambda L: L.Conv2D(8, 3, lora_rank=2)), "keras3")


LOCALLY_CONNECTED_CASES = {
    "lc1d_impl1": _sequential((12, 3), lambda L: L.LocallyConnected1D(4, 3, strides=2)),
    "lc1d_impl2_same": _sequential((12, 3), lambda L: L.LocallyConnected1D(4, 3, padding="same",
                                                                           implementation=2)),
    "lc1d_impl3": _sequential((12, 3), lambda L: L.LocallyConnected1D(4, 4, strides=3, implementation=3)),
    "lc1d_impl3_same_no_bias": _sequential((11, 2), lambda L: L.LocallyConnected1D(
        3, 4, strides=2, padding="same", implementation=3, use_bias=False)),
    "lc2d_impl1": _sequential((8, 9, 3), lambda L: L.LocallyConnected2D(4, (3, 2), strides=(1, 2))),
    "lc2d_impl1_channels_first": _sequential((3, 8, 9), lambda L: L.LocallyConnected2D(
        4, 3, data_format="channels_first")),
    "lc2d_impl2": _sequential((8, 9, 3), lambda L: L.LocallyConnected2D(4, 3, strides=2, implementation=2)),
    "lc2d_impl2_channels_first": _sequential((3, 8, 9), lambda L: L.LocallyConnected2D(
        4, 3, padding="same", implementation=2, data_format="channels_first")),
    "lc2d_impl3_same": _sequential((7, 9, 2), lambda L: L.LocallyConnected2D(3, (3, 4), strides=(2, 3),
                                                                             padding="same", implementation=3)),
}


@pytest.mark.parametrize("case", sorted(LOCALLY_CONNECTED_CASES))
def test_locally_connected_agrees_with_tf_keras(case):
    """LocallyConnected1D/2D exist only in tf-keras (Keras 3 removed them)."""
    assert_weights_agree(LOCALLY_CONNECTED_CASES[case], "tf_keras")


def test_conv_formula_reads_per_filter():
    analysis = assert_agrees_with_keras(_sequential((72, 8), lambda L: L.Conv1D(64, 3)), "keras3")
    (row,) = analysis.report.rows
    (only,) = row.result.formulas
    assert only.render() == "(3 kernel × 8 input channels + 1 bias) × 64 filters = 1,600"
    assert row.result.shape_notes == ("steps: floor((72 - 3) / 1) + 1 = 70",)


def test_separable_formulas_split_depthwise_and_pointwise():
    analysis = assert_agrees_with_keras(_sequential((20, 20, 8), lambda L: L.SeparableConv2D(16, 3)), "keras3")
    depthwise, pointwise = analysis.report.rows[0].result.formulas
    assert depthwise.render() == "3 kernel rows × 3 kernel columns × 8 input channels × 1 depth multiplier = 72"
    assert pointwise.render() == ("(8 depthwise outputs (8 channels × 1 multiplier) + 1 bias) × 16 filters "
                                  "= 144")


KERAS1_CONV_MODEL = {
    "class_name": "Sequential",
    "keras_version": "1.2.2",
    "config": [
        {"class_name": "Convolution2D", "config": {
            "name": "convolution2d_1", "batch_input_shape": [None, 66, 200, 3], "nb_filter": 24, "nb_row": 5,
            "nb_col": 5, "border_mode": "valid", "subsample": [2, 2], "dim_ordering": "tf", "bias": True}},
        {"class_name": "Convolution2D", "config": {
            "name": "convolution2d_2", "nb_filter": 8, "nb_row": 3, "nb_col": 3, "border_mode": "same",
            "subsample": [1, 1], "dim_ordering": "tf", "bias": False}},
        {"class_name": "Flatten", "config": {"name": "flatten_1"}},
    ],
}


def test_keras1_argument_names():
    """Keras 1 files (nb_filter, nb_row/nb_col, border_mode, subsample, bias); Keras cannot load them, so the
    figures are the same layers rebuilt with Keras 2 names in tf-keras."""
    analysis = analyze_text(json.dumps(KERAS1_CONV_MODEL), "keras1.json")
    rows = {r.name: r for r in analysis.report.rows}

    def build(keras):
        return keras.Sequential([keras.Input((66, 200, 3)),
                                 keras.layers.Conv2D(24, 5, strides=2, name="convolution2d_1"),
                                 keras.layers.Conv2D(8, 3, padding="same", use_bias=False, name="convolution2d_2"),
                                 keras.layers.Flatten(name="flatten_1")])
    keras = keras_module("tf_keras")
    for layer in build(keras).layers:
        assert rows[layer.name].params == layer.count_params()
        assert rows[layer.name].summary_output() == tuple(layer.output_shape)


def test_keras1_channels_first_and_filter_length():
    data = {"class_name": "Sequential", "keras_version": "1.2.2", "config": [
        {"class_name": "Convolution2D", "config": {
            "name": "c2", "batch_input_shape": [None, 3, 32, 30], "nb_filter": 6, "nb_row": 3, "nb_col": 5,
            "border_mode": "valid", "subsample": [1, 2], "dim_ordering": "th"}},
        {"class_name": "Reshape", "config": {"name": "r", "target_shape": [6, -1]}},
        {"class_name": "Permute", "config": {"name": "p", "dims": [2, 1]}},
        {"class_name": "Convolution1D", "config": {
            "name": "c1", "nb_filter": 4, "filter_length": 5, "border_mode": "valid", "subsample_length": 2}},
    ]}
    analysis = analyze_text(json.dumps(data), "keras1.json")
    rows = {r.name: r for r in analysis.report.rows}

    def build(keras):
        return keras.Sequential([keras.Input((3, 32, 30)),
                                 keras.layers.Conv2D(6, (3, 5), strides=(1, 2), data_format="channels_first",
                                                     name="c2"),
                                 keras.layers.Reshape((6, -1), name="r"),
                                 keras.layers.Permute((2, 1), name="p"),
                                 keras.layers.Conv1D(4, 5, strides=2, name="c1")])
    for layer in build(keras_module("tf_keras")).layers:
        assert rows[layer.name].params == layer.count_params(), layer.name
        assert rows[layer.name].summary_output() == tuple(layer.output_shape), layer.name


def _edited(input_shape, layer_json_edit, make_layer) -> str:
    """Serialize a valid Keras 3 model, then edit the layer's config into one Keras would reject."""
    keras = keras_module("keras3")
    model = keras.Sequential([keras.Input(input_shape), make_layer(keras.layers)])
    data = json.loads(model.to_json())
    layer = data["config"]["layers"][1]
    layer_json_edit(layer)
    with pytest.raises(InputError) as raised:
        analyze_text(json.dumps(data), "bad.json", validate_schema=False)
    return raised.value.problem.message


def _set_input(data_layers, shape):
    data_layers[0]["config"]["batch_shape"] = [None, *shape]


def _with_input(input_shape, make_layer) -> str:
    """Serialize a valid model, then shrink its input so the layer would be invalid in Keras."""
    keras = keras_module("keras3")
    model = keras.Sequential([keras.Input((64, 64, 8)[:len(input_shape)]), make_layer(keras.layers)])
    data = json.loads(model.to_json())
    _set_input(data["config"]["layers"], input_shape)
    with pytest.raises(InputError) as raised:
        analyze_text(json.dumps(data), "bad.json", validate_schema=False)
    return raised.value.problem.message


def test_kernel_larger_than_input_is_rejected():
    with pytest.raises(ValueError):  # Keras itself refuses
        keras = keras_module("keras3")
        keras.Sequential([keras.Input((2, 8)), keras.layers.Conv1D(4, 3)])
    message = _with_input((2, 8), lambda L: L.Conv1D(4, 3, name="conv"))
    assert "conv" in message and "(None, 2, 8)" in message and "3" in message


def test_groups_must_divide_channels():
    keras = keras_module("keras3")
    with pytest.raises(ValueError):
        keras.Sequential([keras.Input((10, 10, 5)), keras.layers.Conv2D(4, 3, groups=2)])
    message = _with_input((10, 10, 5), lambda L: L.Conv2D(4, 3, groups=2, name="grouped"))
    assert "grouped" in message and "groups=2" in message and "(None, 10, 10, 5)" in message


def test_transposed_output_padding_must_be_below_strides():
    keras = keras_module("keras3")
    with pytest.raises(ValueError):
        keras.layers.Conv2DTranspose(4, 3, strides=2, output_padding=2)
    message = _edited((8, 8, 3), lambda layer: layer["config"].update(output_padding=[2, 2]),
                      lambda L: L.Conv2DTranspose(4, 3, strides=2, name="up"))
    assert "up" in message and "output_padding" in message and "strides" in message


@pytest.mark.parametrize("value", ["three", None, [3, "x"], True, {"a": 1}])
def test_bad_kernel_size_values_are_rule_errors(value):
    message = _edited((8, 8, 3), lambda layer: layer["config"].update(kernel_size=value),
                      lambda L: L.Conv2D(4, 3, name="conv"))
    assert "conv" in message and "kernel_size" in message


def test_keras3_allows_strided_dilated_separable_and_depthwise():
    """Keras 3 accepts strides and dilation together on these two (tf-keras refuses, as Conv2D does)."""
    assert_weights_agree(_sequential((10, 11, 3), lambda L: L.SeparableConv2D(4, 3, strides=2, dilation_rate=2),
                                     lambda L: L.DepthwiseConv2D(1, strides=2, dilation_rate=2)), "keras3")


def test_tf_keras_causal_separable_conv1d():
    """tf-keras allows causal padding on SeparableConv1D (Keras 3 does not)."""
    assert_weights_agree(_sequential((10, 3), lambda L: L.SeparableConv1D(4, 3, padding="causal",
                                                                          depth_multiplier=2)), "tf_keras")


def test_tf_keras_strided_dilated_separable_is_rejected():
    keras = keras_module("tf_keras")
    with pytest.raises(ValueError):
        keras.layers.SeparableConv2D(4, 3, strides=2, dilation_rate=2)
    model = keras.Sequential([keras.Input((10, 10, 3)), keras.layers.SeparableConv2D(4, 3, name="sep")])
    data = json.loads(model.to_json())
    data["config"]["layers"][1]["config"].update(strides=[2, 2], dilation_rate=[2, 2])
    with pytest.raises(InputError) as raised:
        analyze_text(json.dumps(data), "bad.json", validate_schema=False)
    assert "sep" in raised.value.problem.message and "dilation_rate" in raised.value.problem.message


def test_keras1_other_convolution_classes():
    """Keras 1 AtrousConvolution2D, SeparableConvolution2D, Deconvolution2D (declared output_shape),
    Convolution3D and LocallyConnected1D/2D, checked against the same layers rebuilt in tf-keras."""
    data = {"class_name": "Sequential", "keras_version": "1.2.2", "config": [
        {"class_name": "AtrousConvolution2D", "config": {
            "name": "atrous", "batch_input_shape": [None, 20, 22, 3], "nb_filter": 6, "nb_row": 3, "nb_col": 3,
            "atrous_rate": [2, 2], "border_mode": "valid", "subsample": [1, 1], "dim_ordering": "tf"}},
        {"class_name": "SeparableConvolution2D", "config": {
            "name": "separable", "nb_filter": 8, "nb_row": 3, "nb_col": 3, "depth_multiplier": 2,
            "border_mode": "same", "subsample": [2, 2], "dim_ordering": "tf", "bias": True}},
        {"class_name": "Deconvolution2D", "config": {
            "name": "deconv", "nb_filter": 4, "nb_row": 3, "nb_col": 3, "output_shape": [None, 17, 19, 4],
            "border_mode": "valid", "subsample": [2, 2], "dim_ordering": "tf"}},
        {"class_name": "LocallyConnected2D", "config": {
            "name": "local2d", "nb_filter": 2, "nb_row": 3, "nb_col": 2, "border_mode": "valid",
            "subsample": [2, 1], "dim_ordering": "tf"}},
        {"class_name": "Reshape", "config": {"name": "to3d", "target_shape": [8, 18, 2, 1]}},
        {"class_name": "Convolution3D", "config": {
            "name": "conv3d", "nb_filter": 3, "kernel_dim1": 3, "kernel_dim2": 5, "kernel_dim3": 1,
            "border_mode": "valid", "subsample": [1, 2, 1], "dim_ordering": "tf"}},
        {"class_name": "Reshape", "config": {"name": "to1d", "target_shape": [-1, 3]}},
        {"class_name": "LocallyConnected1D", "config": {
            "name": "local1d", "nb_filter": 5, "filter_length": 4, "subsample_length": 3, "border_mode": "valid"}},
    ]}
    rows = {r.name: r for r in analyze_text(json.dumps(data), "keras1.json").report.rows}
    keras = keras_module("tf_keras")
    L = keras.layers
    model = keras.Sequential([
        keras.Input((20, 22, 3)),
        L.Conv2D(6, 3, dilation_rate=2, name="atrous"),
        L.SeparableConv2D(8, 3, depth_multiplier=2, padding="same", strides=2, name="separable"),
        L.Conv2DTranspose(4, 3, strides=2, name="deconv"),
        L.LocallyConnected2D(2, (3, 2), strides=(2, 1), name="local2d"),
        L.Reshape((8, 18, 2, 1), name="to3d"),
        L.Conv3D(3, (3, 5, 1), strides=(1, 2, 1), name="conv3d"),
        L.Reshape((-1, 3), name="to1d"),
        L.LocallyConnected1D(5, 4, strides=3, name="local1d"),
    ])
    for layer in model.layers:
        assert rows[layer.name].summary_output() == tuple(layer.output_shape), layer.name
        assert rows[layer.name].params == layer.count_params(), layer.name
