"""The optional cross-check: build the model with the installed Keras and compare, layer by layer.

This is the only module that imports TensorFlow or Keras, and only inside
:func:`cross_check`. It refuses configs that would make Keras run code named
by the file (a ``Lambda`` function, a module outside Keras), builds with
``safe_mode`` on, and passes Keras no custom object the user did not register.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterable, Iterator, Mapping

from .analysis import Analysis
from .explain import fmt_shape, fmt_shapes, layer_derivation
from .graph import unwrap
from .problems import Problem

INSTALL_HINT = "install the extra: pip install 'pytest-kerasparams[oracle]'"
SAFE_MODULE_PREFIXES = ("keras", "tf_keras", "tensorflow")
CODE_LAYERS = frozenset({"Lambda", "TFOpLambda", "SlicingOpLambda"})
KERAS_ACTIVATIONS = frozenset({
    "relu", "sigmoid", "softmax", "softplus", "softsign", "tanh", "selu", "elu", "exponential", "linear",
    "gelu", "silu", "swish", "hard_sigmoid", "hard_silu", "hard_swish", "leaky_relu", "relu6", "mish",
    "log_softmax", "celu", "glu", "sparse_plus", "squareplus", "tanh_shrink", "hard_tanh", "soft_shrink",
    "hard_shrink", "threshold", "sparsemax",
})
"""Activation names Keras 3 may serialize as ``{"module": "builtins", "class_name": "function"}``."""


MAX_WALK_DEPTH = 200


class _TooDeep(Exception):
    pass


def _walk_layers(obj: Any, depth: int = 0) -> Iterator[Mapping[str, Any]]:
    """Every object with a class_name in the config, wrappers and nested models included."""
    if depth > MAX_WALK_DEPTH:
        raise _TooDeep
    if isinstance(obj, dict):
        if isinstance(obj.get("class_name"), str):
            yield obj
        for value in obj.values():
            yield from _walk_layers(value, depth + 1)
    elif isinstance(obj, list):
        for value in obj:
            yield from _walk_layers(value, depth + 1)


def unsafe_reasons(config: Any, registered: Mapping[str, Any]) -> list[str]:
    """Why building this config with Keras could run code the file names; empty when it is safe."""
    reasons: list[str] = []
    try:
        items = list(_walk_layers(config))
    except _TooDeep:
        return [f"the config nests deeper than {MAX_WALK_DEPTH} levels, too deep to vet before building"]
    for item in items:
        class_name = item["class_name"]
        if class_name in registered:
            continue
        if class_name in CODE_LAYERS or class_name == "__lambda__":
            name = item.get("config", {}).get("name") if isinstance(item.get("config"), dict) else None
            reasons.append(f"layer {name or '?'} is a {class_name}, whose Python code Keras would have to run")
        module = item.get("module")
        if isinstance(module, str) and module and module.split(".")[0] not in SAFE_MODULE_PREFIXES \
                and not (module == "builtins" and class_name == "function"
                         and item.get("config") in KERAS_ACTIVATIONS):
            reasons.append(f"class {class_name} names module {module!r}, which is not part of Keras "
                           "and would have to be imported")
        registered_name = item.get("registered_name")
        if isinstance(registered_name, str) and ">" in registered_name:
            reasons.append(f"class {class_name} is registered as {registered_name!r}, a custom object "
                           "no plugin provides")
    return reasons


def _keras(flavor: str) -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if flavor == "keras3":
        import keras

        return keras
    import tf_keras

    return tf_keras


def _shape(shape: Any) -> tuple[int | None, ...]:
    return tuple(None if d is None else int(d) for d in shape)


def _keras_output(layer: Any, flavor: str) -> Any:
    if flavor == "keras3":
        shapes = [_shape(t.shape) for t in layer._inbound_nodes[0].output_tensors]  # no public per-node API
    else:
        out = layer.get_output_shape_at(0)
        several = isinstance(out, (list, tuple)) and bool(out) and isinstance(out[0], (list, tuple))
        shapes = [_shape(s) for s in out] if several else [_shape(out)]
    return shapes[0] if len(shapes) == 1 else shapes


def _count(weights: Any) -> int:
    total = 0
    for weight in weights:
        size = 1
        for dim in weight.shape:
            size *= int(dim)
        total += size
    return total


def cross_check(analysis: Analysis, plugin_modules: tuple[str, ...] = (),
                extra_plugins: Iterable[Any] = ()) -> list[Problem]:
    """Build the model with Keras and report every layer where a rule disagrees.

    Custom Keras classes come only from plugins' ``kerasparams_keras_objects``.
    """
    config, _, _ = unwrap(analysis.document.data)
    path = analysis.path
    flavor = "keras3" if analysis.model.flavor == "keras3" else "tf-keras"
    try:
        keras = _keras(flavor)
    except ImportError:
        package = "keras (TensorFlow)" if flavor == "keras3" else "tf-keras"
        return [Problem("oracle", path, f"the Keras cross-check needs {package}; {INSTALL_HINT}")]
    from .registry import keras_objects

    objects = keras_objects(flavor, plugin_modules, extra_plugins)
    reasons = unsafe_reasons(config, objects)
    if reasons:
        return [Problem("oracle", path, "the Keras cross-check refuses this model: " + reasons[0],
                        explanation="\n".join(f"  {r}" for r in reasons[1:]))]
    try:
        if flavor == "keras3":
            from keras.src.saving.serialization_lib import SafeModeScope

            with SafeModeScope(True):
                model = keras.models.model_from_json(json.dumps(config), custom_objects=objects)
        else:
            model = keras.models.model_from_json(json.dumps(config), custom_objects=objects)
    except Exception as error:  # Keras's own refusal is a finding, not a crash
        return [Problem("oracle", path, f"Keras cannot build this model: {type(error).__name__}: "
                        f"{str(error).splitlines()[0] if str(error) else ''}")]
    problems = []
    rows = {row.name: row for row in analysis.report.rows}
    for layer in model.layers:
        ours = rows.get(layer.name)
        if ours is None:
            problems.append(Problem("oracle", path, f"Keras lists layer {layer.name}, which the rules do not"))
            continue
        keras_figures = {
            "params": layer.count_params() if layer.weights else 0,
            "trainable": _count(layer.trainable_weights),
            "output shape": _keras_output(layer, flavor),
        }
        our_output = ours.summary_output()
        our_figures = {"params": ours.params, "trainable": ours.trainable_params, "output shape": our_output}
        differences = [key for key in keras_figures if keras_figures[key] != our_figures[key]]
        if not differences:
            continue

        def show(value: Any) -> str:
            if isinstance(value, list):
                return fmt_shapes(value)
            if isinstance(value, tuple):
                return fmt_shape(value)
            return f"{value:,}"

        lines = [f"  {key}: Keras {show(keras_figures[key])}, rule {show(our_figures[key])}" for key in differences]
        lines += ["  the rule's derivation:", *layer_derivation(ours, "    ")]
        line = analysis.document.line_of(ours.spec.json_path)
        problems.append(Problem("oracle", path, f"the rule for {ours.class_name} from plugin {ours.plugin!r} "
                                f"disagrees with Keras on layer {ours.name} ({', '.join(differences)})",
                                line, layer=ours.name, explanation="\n".join(lines)))
    return problems
