"""Every keras.applications architecture (Keras 3) and tf_keras.applications, built with
``weights=None`` and compared with Keras layer by layer.

These are the largest real graphs Keras ships: hundreds of layers, residual merges,
squeeze-and-excitation blocks, nested preprocessing. Building them is slow, so by default a
representative subset runs (one of each family, at small input sizes);
``KERASPARAMS_ALL_APPLICATIONS=1`` runs every architecture in both flavors.

A layer class with no rule yet makes the case an expected failure naming the class (not
strict), so each case starts passing as its rules land; any other disagreement fails.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from pytest_kerasparams.problems import InputError
from tests.keras_oracle import FLAVORS, assert_agrees_with_keras, keras_module

RUN_ALL = os.environ.get("KERASPARAMS_ALL_APPLICATIONS", "") not in ("", "0")

SMALL = (32, 32, 3)
INCEPTION = (75, 75, 3)
"""The smallest input the Inception family and Xception accept."""

ARCHITECTURES: dict[str, tuple[int, int, int] | None] = {
    # name: input shape to build with (None: the architecture's default size)
    "ConvNeXtBase": SMALL, "ConvNeXtLarge": SMALL, "ConvNeXtSmall": SMALL, "ConvNeXtTiny": SMALL,
    "ConvNeXtXLarge": SMALL,
    "DenseNet121": SMALL, "DenseNet169": SMALL, "DenseNet201": SMALL,
    "EfficientNetB0": SMALL, "EfficientNetB1": SMALL, "EfficientNetB2": SMALL, "EfficientNetB3": SMALL,
    "EfficientNetB4": SMALL, "EfficientNetB5": SMALL, "EfficientNetB6": SMALL, "EfficientNetB7": SMALL,
    "EfficientNetV2B0": SMALL, "EfficientNetV2B1": SMALL, "EfficientNetV2B2": SMALL, "EfficientNetV2B3": SMALL,
    "EfficientNetV2L": SMALL, "EfficientNetV2M": SMALL, "EfficientNetV2S": SMALL,
    "InceptionResNetV2": INCEPTION, "InceptionV3": INCEPTION,
    "MobileNet": SMALL, "MobileNetV2": SMALL, "MobileNetV3Large": SMALL, "MobileNetV3Small": SMALL,
    "NASNetLarge": SMALL, "NASNetMobile": SMALL,
    "RegNetX002": SMALL, "RegNetX004": SMALL, "RegNetX006": SMALL, "RegNetX008": SMALL, "RegNetX016": SMALL,
    "RegNetX032": SMALL, "RegNetX040": SMALL, "RegNetX064": SMALL, "RegNetX080": SMALL, "RegNetX120": SMALL,
    "RegNetX160": SMALL, "RegNetX320": SMALL,
    "RegNetY002": SMALL, "RegNetY004": SMALL, "RegNetY006": SMALL, "RegNetY008": SMALL, "RegNetY016": SMALL,
    "RegNetY032": SMALL, "RegNetY040": SMALL, "RegNetY064": SMALL, "RegNetY080": SMALL, "RegNetY120": SMALL,
    "RegNetY160": SMALL, "RegNetY320": SMALL,
    "ResNet101": SMALL, "ResNet101V2": SMALL, "ResNet152": SMALL, "ResNet152V2": SMALL, "ResNet50": SMALL,
    "ResNet50V2": SMALL,
    "ResNetRS50": SMALL, "ResNetRS101": SMALL, "ResNetRS152": SMALL, "ResNetRS200": SMALL, "ResNetRS270": SMALL,
    "ResNetRS350": SMALL, "ResNetRS420": SMALL,
    "VGG16": SMALL, "VGG19": SMALL,
    "Xception": INCEPTION,
}

REPRESENTATIVE = frozenset({
    "ConvNeXtTiny", "DenseNet121", "EfficientNetB0", "EfficientNetV2B0", "InceptionV3", "MobileNet",
    "MobileNetV2", "MobileNetV3Small", "NASNetMobile", "RegNetX002", "ResNet50", "ResNet50V2", "ResNetRS50",
    "VGG16", "Xception",
})
"""One of each family: the same blocks at smaller depth and width."""


def _cases() -> list[Any]:
    names = sorted(ARCHITECTURES) if RUN_ALL else sorted(REPRESENTATIVE)
    return [pytest.param(name, flavor, id=f"{name}-{flavor}") for name in names for flavor in FLAVORS]


def _build(keras: Any, name: str) -> Any:
    shape = ARCHITECTURES[name]
    kwargs: dict[str, Any] = {"weights": None, "classes": 10}
    if shape is not None:
        kwargs["input_shape"] = shape
    return getattr(keras.applications, name)(**kwargs)


@pytest.mark.parametrize("name, flavor", _cases())
def test_application_agrees_with_keras(name, flavor):
    keras = keras_module(flavor)
    if not hasattr(keras.applications, name):
        pytest.skip(f"{flavor} has no applications.{name}")
    model = _build(keras, name)
    try:
        assert_agrees_with_keras(lambda _: model, flavor)
    except InputError as error:
        if error.problem.kind == "no-rule":
            pytest.xfail(f"{error.problem.message} (expected until its rule lands)")
        raise
    finally:
        keras.backend.clear_session()


@pytest.mark.parametrize("flavor", FLAVORS)
def test_every_application_is_listed(flavor):
    """New architectures in a Keras release must be added to the table above."""
    keras = keras_module(flavor)
    shipped = {name for name in dir(keras.applications) if name[:1].isupper()}
    assert shipped <= set(ARCHITECTURES), sorted(shipped - set(ARCHITECTURES))
