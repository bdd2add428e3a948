"""A third-party kerasparams plugin, as a user would package it.

It teaches the linter two private helper layers of ``keras.applications``:
ConvNeXt's ``LayerScale`` and InceptionResNetV2's ``CustomScaleLayer``. The
tests install it through an entry point in the ``kerasparams`` group.
"""

from __future__ import annotations

from typing import Any

from pytest_kerasparams import LayerCall, LayerResult, RuleError, Variable, formula, hookimpl


def layer_scale(call: LayerCall) -> LayerResult:
    """Per-channel learned scale: one ``gamma`` value per projected channel."""
    channels = call.get("projection_dim")
    if not isinstance(channels, int) or channels < 1:
        raise RuleError(f"projection_dim must be a positive integer, not {channels!r}")
    return LayerResult(
        output_shapes=(call.input_shape,),
        variables=(Variable("gamma", (channels,)),),
        formulas=(formula([(channels, "channels")], label="one scale per channel"),),
    )


def custom_scale_layer(call: LayerCall) -> LayerResult:
    """``inputs[0] + inputs[1] * scale``: the residual's shape, no weights."""
    if len(call.input_shapes) != 2:
        raise RuleError(f"expects 2 inputs, got {len(call.input_shapes)}")
    return LayerResult(output_shapes=(call.input_shapes[0],))


@hookimpl
def kerasparams_layer_rules() -> dict[str, Any]:
    return {"LayerScale": layer_scale, "CustomScaleLayer": custom_scale_layer}


@hookimpl
def kerasparams_keras_objects(flavor: str) -> dict[str, Any]:
    if flavor == "keras3":
        from keras.src.applications.convnext import LayerScale
        from keras.src.applications.inception_resnet_v2 import CustomScaleLayer
    else:
        from tf_keras.src.applications.convnext import LayerScale
        from tf_keras.src.applications.inception_resnet_v2 import CustomScaleLayer
    return {"LayerScale": LayerScale, "CustomScaleLayer": CustomScaleLayer}
