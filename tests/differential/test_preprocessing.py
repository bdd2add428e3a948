"""Preprocessing layers with a deterministic output shape against real Keras, in both flavors.

Some tf-keras 2.21 preprocessing layers cannot be built next to Keras 3 in this environment
(TextVectorization in ``int`` mode, lookups padded to ``max_tokens``); those cases are
tested in Keras 3 only, and the skip says why.
"""

from __future__ import annotations

import json
import warnings

import pytest

from tests.keras_oracle import FLAVORS, assert_agrees_with_keras, assert_variables_agree, engine_error, keras_module


@pytest.fixture(autouse=True)
def _quiet_keras() -> None:
    warnings.filterwarnings("ignore", category=UserWarning)


def _images(keras):
    L = keras.layers
    inputs = keras.Input((16, 12, 3))
    x = L.Rescaling(1 / 255.0, offset=-1.0)(inputs)
    x = L.RandomFlip()(x)
    x = L.RandomRotation(0.1)(x)
    x = L.RandomZoom(0.1)(x)
    x = L.RandomTranslation(0.1, 0.1)(x)
    x = L.RandomContrast(0.1)(x)
    x = L.RandomBrightness(0.1)(x)
    x = L.Resizing(10, 9)(x)
    x = L.CenterCrop(8, 7)(x)
    x = L.RandomCrop(6, 5)(x)
    x = L.CenterCrop(9, 9)(x)  # larger than the input: Keras pads
    outputs = [x]
    if hasattr(L, "RandomHeight"):
        outputs.append(L.RandomWidth(0.2)(L.RandomHeight(0.2)(x)))
    return keras.Model(inputs, outputs)


def _image_augmentations_keras3(keras):
    L = keras.layers
    inputs = keras.Input((16, 12, 3))
    x = inputs
    for layer in (L.RandomGrayscale(), L.RandomHue(0.1, (0, 255)), L.RandomSaturation(0.1),
                  L.RandomSharpness(0.1), L.RandomPosterization(4), L.RandomColorDegeneration(0.1),
                  L.RandomColorJitter(), L.RandomInvert(), L.RandomErasing(), L.RandomGaussianBlur(),
                  L.RandomPerspective(), L.RandomShear(0.1), L.RandomElasticTransform(), L.AutoContrast(),
                  L.Solarization(), L.AugMix(), L.CutMix(), L.MixUp(), L.RandAugment(), L.MaxNumBoundingBoxes(4)):
        x = layer(x)
    x = L.Resizing(8, 6, data_format="channels_first", name="resize_cf")(keras.layers.Permute((3, 1, 2))(x))
    return keras.Model(inputs, x)


def _normalization(keras):
    L = keras.layers
    inputs = keras.Input((8, 3, 2))
    x = L.Normalization(name="norm_last")(inputs)
    x = L.Normalization(axis=(1, 2), name="norm_12")(x)
    x = L.Normalization(axis=None, name="norm_all")(x)
    x = L.Normalization(mean=2.0, variance=3.0, name="norm_given")(x)
    x = L.Normalization(axis=-3, invert=True, name="norm_invert")(x)
    return keras.Model(inputs, x)


def _categorical(keras):
    L = keras.layers
    values = keras.Input((8,))
    ids = keras.Input((4,), dtype="int32")
    one = keras.Input((1,), dtype="int32")
    outs = [
        L.Discretization(bin_boundaries=[0.0, 1.0, 2.0])(values),
        L.Discretization(bin_boundaries=[0.0, 1.0, 2.0], output_mode="multi_hot")(values),
        L.Discretization(bin_boundaries=[0.0, 1.0], output_mode="count")(values),
        L.CategoryEncoding(num_tokens=6)(ids),
        L.CategoryEncoding(num_tokens=6, output_mode="one_hot")(one),
        L.CategoryEncoding(num_tokens=7, output_mode="count")(ids),
        L.Hashing(num_bins=5)(ids),
        L.Hashing(num_bins=5, output_mode="one_hot")(one),
        L.Hashing(num_bins=5, output_mode="multi_hot")(ids),
        L.Hashing(num_bins=3, output_mode="count")(ids),
        L.HashedCrossing(num_bins=4)([one, one]),
        L.HashedCrossing(num_bins=4, output_mode="one_hot")([one, one]),
    ]
    return keras.Model([values, ids, one], outs)


def _lookups(keras):
    L = keras.layers
    words = keras.Input((4,), dtype="string")
    word = keras.Input((1,), dtype="string")
    numbers = keras.Input((4,), dtype="int64")
    outs = [
        L.StringLookup(vocabulary=["a", "b", "c"])(words),
        L.StringLookup(vocabulary=["a", "b", "c"], output_mode="multi_hot")(words),
        L.StringLookup(vocabulary=["a", "b", "c"], output_mode="one_hot", num_oov_indices=2)(word),
        L.StringLookup(vocabulary=["a", "b", "c"], output_mode="count", mask_token="")(words),
        L.IntegerLookup(vocabulary=[5, 6, 7])(numbers),
        L.IntegerLookup(vocabulary=[5, 6, 7, 8], output_mode="multi_hot")(numbers),
        L.TextVectorization(vocabulary=["x", "y"], output_mode="count")(word),
        L.TextVectorization(vocabulary=["x", "y", "z"], output_mode="multi_hot", ngrams=2)(word),
    ]
    return keras.Model([words, word, numbers], outs)


def _keras3_only_text(keras):
    L = keras.layers
    word = keras.Input((1,), dtype="string")
    words = keras.Input((4,), dtype="string")
    ids = keras.Input((4,), dtype="int32")
    values = keras.Input((3,))
    grid = keras.Input((3, 5))
    outs = [
        L.TextVectorization(max_tokens=10, output_sequence_length=7)(word),
        L.TextVectorization(max_tokens=10)(word),
        L.TextVectorization(max_tokens=10, output_mode="multi_hot")(word),
        L.StringLookup(max_tokens=10, output_mode="multi_hot", pad_to_max_tokens=True)(words),
        L.StringLookup(vocabulary=["a", "b"], output_mode="tf_idf", idf_weights=[1.0, 2.0])(words),
        L.CategoryEncoding(num_tokens=6, output_mode="one_hot")(ids),
        L.Discretization(bin_boundaries=[0.0, 1.0], output_mode="one_hot")(values),
        L.Discretization(num_bins=4, epsilon=0.1, output_mode="multi_hot")(grid),
        L.Hashing(num_bins=5, output_mode="one_hot")(ids),
    ]
    return keras.Model([word, words, ids, values, grid], outs)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_image_preprocessing(flavor):
    assert_agrees_with_keras(_images, flavor)


def test_histogram_equalization_keras3():
    def build(keras):
        return keras.Sequential([keras.Input((16, 12, 3)), keras.layers.Rescaling(1.0),
                                 keras.layers.ContrastLimitedAdaptiveHistogramEqualization(value_range=(0, 255)),
                                 keras.layers.Flatten()])

    assert_agrees_with_keras(build, "keras3")


def test_image_augmentations_keras3():
    assert_agrees_with_keras(_image_augmentations_keras3, "keras3")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_normalization_statistics(flavor):
    assert_variables_agree(_normalization, flavor, "norm_last", "norm_12", "norm_all", "norm_given",
                           "norm_invert")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_discretization_category_encoding_hashing(flavor):
    assert_agrees_with_keras(_categorical, flavor)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_lookups_and_text_vectorization(flavor):
    assert_agrees_with_keras(_lookups, flavor)


def test_text_vectorization_sequences_and_unset_vocabulary_keras3():
    assert_agrees_with_keras(_keras3_only_text, "keras3")


def test_encoded_output_of_rank_three_is_refused_in_tf_keras():
    keras = keras_module("tf_keras")
    ids = keras.Input((4,), dtype="int32", name="ids")
    model = keras.Model(ids, keras.layers.CategoryEncoding(num_tokens=6, output_mode="multi_hot")(ids))
    data = json.loads(model.to_json())
    for layer in data["config"]["layers"]:
        if layer["class_name"] == "InputLayer":
            layer["config"]["batch_input_shape"] = [None, 4, 2]
    assert "maximum supported output rank is 2" in engine_error(json.dumps(data))


def test_lookup_without_vocabulary_is_refused_in_tf_keras():
    keras = keras_module("tf_keras")
    words = keras.Input((4,), dtype="string", name="words")
    model = keras.Model(words, keras.layers.StringLookup(vocabulary=["a", "b"], output_mode="multi_hot")(words))
    data = json.loads(model.to_json())
    for layer in data["config"]["layers"]:
        if layer["class_name"] == "StringLookup":
            layer["config"]["vocabulary"] = None
            layer["config"]["vocabulary_size"] = None
    assert "vocabulary size is not in the config" in engine_error(json.dumps(data))
