"""The pluggy hooks of kerasparams: how rules for layer classes are found.

Built-in rules are registered through these hooks exactly as a third-party
plugin registers its own, so there is one path for both.
"""

from __future__ import annotations

from typing import Mapping

import pluggy

from .api import Rule

PROJECT_NAME = "kerasparams"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def kerasparams_layer_rules() -> Mapping[str, Rule]:
    """Return the rules this plugin provides, keyed by Keras ``class_name``.

    A rule is a function ``rule(call: LayerCall) -> LayerResult``. A plugin's
    rule for a class that has a built-in rule replaces the built-in; two
    plugins that both claim one class are reported as a conflict.
    """
    raise NotImplementedError  # pragma: no cover - a spec has no body
