"""pytest-kerasparams: Keras model configs checked without TensorFlow.

This package loads into every pytest run of every project that installs it,
so its public names are imported on first use, not at import time.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0.dev0"

_EXPORTS = {
    **{name: ".api" for name in ("Factor", "Formula", "LayerCall", "LayerResult", "Rule", "RuleError",
                                 "Shape", "Variable", "formula")},
    "hookimpl": ".hookspecs",
    "hookspec": ".hookspecs",
}

__all__ = [*_EXPORTS, "__version__"]

if TYPE_CHECKING:
    from .api import Factor, Formula, LayerCall, LayerResult, Rule, RuleError, Shape, Variable, formula
    from .hookspecs import hookimpl, hookspec


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value
    return value
