"""pytest-kerasparams: Keras model configs checked without TensorFlow.

Importing this package is cheap on purpose: it loads into every pytest run.
"""

from __future__ import annotations

from .api import Factor, Formula, LayerCall, LayerResult, Rule, RuleError, Shape, Variable, formula
from .hookspecs import hookimpl, hookspec

__version__ = "0.1.0.dev0"

__all__ = [
    "Factor", "Formula", "LayerCall", "LayerResult", "Rule", "RuleError", "Shape", "Variable",
    "formula", "hookimpl", "hookspec", "__version__",
]
