"""Keras 3 ``keras.ops`` calls saved in functional graphs: element-wise arithmetic and activations.

Keras 3 records ``x + y`` or ``keras.ops.multiply(x, 2.0)`` as graph nodes whose
module is ``keras.src.ops.*``. They own no weights; their shapes follow
NumPy broadcasting as Keras 3 implements it (``broadcast_shapes``), and a
constant argument counts as a scalar.
"""

from __future__ import annotations

from ..api import Dim, LayerCall, LayerResult, Rule, RuleError, Shape
from ..hookspecs import hookimpl
from ._common import format_shape

BINARY = ("Add", "Subtract", "Multiply", "Divide", "TrueDivide", "FloorDivide", "Mod", "Power",
          "Maximum", "Minimum")
UNARY = ("Relu", "Relu6", "Sigmoid", "HardSigmoid", "HardSilu", "Silu", "Gelu", "Tanh", "Softplus",
         "Abs", "Absolute", "Exp", "Log", "Sqrt", "Square", "Negative", "Reciprocal", "Sign")


def broadcast(first: Shape, second: Shape) -> Shape:
    """Keras 3's ``broadcast_shapes``: an unknown size broadcast against 1 stays unknown."""
    rank = max(len(first), len(second))
    left = [1] * (rank - len(first)) + list(first)
    right = [1] * (rank - len(second)) + list(second)
    out: list[Dim] = []
    for a, b in zip(left, right):
        if a == 1:
            out.append(b)
        elif a is None:
            out.append(None if b == 1 else b)
        elif b in (1, None) or a == b:
            out.append(a)
        else:
            raise RuleError(f"cannot broadcast shapes {format_shape(first)} and {format_shape(second)}")
    return tuple(out)


def binary(call: LayerCall) -> LayerResult:
    if not call.input_shapes:
        raise RuleError("was called on no tensor")
    shape = call.input_shapes[0]
    for other in call.input_shapes[1:]:
        shape = broadcast(shape, other)
    return LayerResult((shape,))


def unary(call: LayerCall) -> LayerResult:
    return LayerResult((call.input_shape,))


@hookimpl
def kerasparams_layer_rules() -> dict[str, Rule]:
    rules: dict[str, Rule] = {f"keras.ops.{name}": binary for name in BINARY}
    rules.update({f"keras.ops.{name}": unary for name in UNARY})
    return rules
