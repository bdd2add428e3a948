"""The pluggy hooks of kerasparams: how rules for layer classes are found.

Built-in rules are registered through these hooks exactly as a third-party
plugin registers its own, so there is one path for both.
"""

from __future__ import annotations

from typing import Any, Mapping

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


@hookspec
def kerasparams_keras_objects(flavor: str) -> Mapping[str, Any]:
    """Return Keras classes for custom layers, keyed by ``class_name``, for the cross-check.

    ``flavor`` is ``"keras3"`` (the ``keras`` package) or ``"tf-keras"``
    (the ``tf_keras`` package): return classes of that flavor.

    Called only by ``--kerasparams-oracle`` / ``kerasparams check --oracle``,
    which already imports Keras, so an implementation may import Keras inside
    its body. Nothing else is ever given to Keras as a custom object.
    """
    raise NotImplementedError  # pragma: no cover - a spec has no body
