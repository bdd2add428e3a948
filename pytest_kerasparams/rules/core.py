"""Core layers: Dense, Activation, Dropout and other shape-preserving layers, Embedding."""

from __future__ import annotations

from ..api import LayerCall, LayerResult, Rule, RuleError, Variable, formula
from ..hookspecs import hookimpl
from ._common import last_dim, positive_int, use_bias


def dense(call: LayerCall) -> LayerResult:
    shape = call.input_shape
    units = positive_int(call.config, "units", "output_dim")
    inputs = last_dim(shape)
    bias = use_bias(call.config)
    variables = [Variable("kernel", (inputs, units))]
    if bias:
        variables.append(Variable("bias", (units,)))
    return LayerResult(
        output_shapes=(shape[:-1] + (units,),),
        variables=tuple(variables),
        formulas=(formula([(inputs, "inputs")], [(1 if bias else 0, "bias")], times=[(units, "units")],
                          label="per unit"),),
    )


def identity(call: LayerCall) -> LayerResult:
    """Layers that change values, never shapes, and own no weights."""
    return LayerResult(output_shapes=(call.input_shape,))


def embedding(call: LayerCall) -> LayerResult:
    shape = call.input_shape
    vocabulary = positive_int(call.config, "input_dim")
    width = positive_int(call.config, "output_dim")
    return LayerResult(
        output_shapes=(shape + (width,),),
        variables=(Variable("embeddings", (vocabulary, width)),),
        formulas=(formula([(vocabulary, "vocabulary entries")], times=[(width, "output dimensions")]),),
    )


def input_layer(call: LayerCall) -> LayerResult:
    if call.input_shapes:
        return LayerResult(output_shapes=(call.input_shapes[0],))
    raise RuleError("an input layer is not called on other tensors")


IDENTITY_CLASSES = (
    "Activation", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
    "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization", "Masking",
    "ReLU", "LeakyReLU", "ELU", "Softmax", "ThresholdedReLU", "Identity",
)


@hookimpl
def kerasparams_layer_rules() -> dict[str, Rule]:
    rules: dict[str, Rule] = {name: identity for name in IDENTITY_CLASSES}
    rules.update({"Dense": dense, "Embedding": embedding, "InputLayer": input_layer})
    return rules
