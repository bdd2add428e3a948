"""Keras 3 keras.ops nodes in functional graphs (no weights, NumPy broadcasting)."""

from __future__ import annotations

import pytest

from tests.keras_oracle import assert_agrees_with_keras


def _ops_model(keras):
    a = keras.Input((7, 7, 16), name="a")
    b = keras.Input((1, 16), name="b")
    x = keras.layers.Conv2D(16, 3, padding="same", name="conv")(a)
    x = keras.ops.add(x, a)
    x = keras.ops.multiply(x, 0.5)
    x = keras.ops.add(x, b)  # (7, 7, 16) + (1, 16) broadcasts
    x = keras.ops.relu(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model([a, b], keras.layers.Dense(3, name="head")(x))


def test_keras3_ops_agree():
    analysis = assert_agrees_with_keras(_ops_model, "keras3")
    # Keras lists no row for an operation; the engine still computed its shape.
    assert {r.class_name for r in analysis.report.rows} == {"InputLayer", "Conv2D", "GlobalAveragePooling2D", "Dense"}


@pytest.mark.parametrize("application", ["ConvNeXtTiny", "MobileNetV3Small"])
def test_keras3_applications_with_ops(application):
    pytest.importorskip("keras")
    if application == "ConvNeXtTiny":
        pytest.skip("needs the LayerScale rule from the test plugin (tests/differential/test_plugin_applications.py)")
    assert_agrees_with_keras(lambda keras: getattr(keras.applications, application)(
        weights=None, input_shape=(64, 64, 3)), "keras3")
