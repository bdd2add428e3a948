"""Wrappers: TimeDistributed and Bidirectional run the rule of the layer they wrap.

Weight names follow each era: Keras 3 keeps the wrapped layer's name
(``time_distributed/dense/kernel``), tf.keras does not (``time_distributed/kernel``);
Bidirectional prefixes ``forward_``/``backward_`` as each era does.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..api import Formula, LayerCall, LayerResult, Rule, RuleError, Shape, Variable, formula
from ..hookspecs import hookimpl
from ._common import format_shape

MERGE_MODES = ("concat", "sum", "ave", "mul", None)


def _wrapped(call: LayerCall, key: str = "layer") -> Mapping[str, Any]:
    layer = call.get(key)
    if not isinstance(layer, Mapping) or not isinstance(layer.get("class_name"), str) \
            or not isinstance(layer.get("config"), Mapping):
        raise RuleError(f"has no wrapped {key} with a class_name and a config")
    return layer


def _layer_name(layer: Mapping[str, Any]) -> str | None:
    name = layer["config"].get("name", layer.get("name"))
    return name if isinstance(name, str) and name else None


def _frozen_if_untrainable(layer: Mapping[str, Any], variables: tuple[Variable, ...]) -> tuple[Variable, ...]:
    """A wrapped layer saved with ``trainable: false`` keeps its weights frozen inside the wrapper."""
    if layer["config"].get("trainable", True) is False:
        return tuple(v.frozen() for v in variables)
    return variables


def time_distributed(call: LayerCall) -> LayerResult:
    """The wrapped layer sees one time step: (batch, time, ...) runs it on (batch, ...)."""
    shape = call.input_shape
    if len(shape) < 3:
        raise RuleError(f"needs an input of at least rank 3 (batch, time, ...), but got shape "
                        f"{format_shape(shape)}")
    layer = _wrapped(call)
    inner = call.inner(layer, ((shape[0],) + shape[2:],))
    outputs = tuple((s[0], shape[1]) + s[1:] for s in inner.output_shapes)
    variables = _frozen_if_untrainable(layer, inner.variables)
    name = _layer_name(layer)
    if call.flavor == "keras3" and name is not None:
        variables = tuple(v.renamed(name) for v in variables)
    return LayerResult(outputs, variables, inner.formulas, inner.shape_notes, {"layer": inner})


def _merge(mode: Any, forward: Shape, backward: Shape) -> tuple[Shape, ...]:
    if mode == "concat":
        if forward[:-1] != backward[:-1]:
            raise RuleError(f"cannot concatenate the forward output {format_shape(forward)} and the backward "
                            f"output {format_shape(backward)}")
        last = None if forward[-1] is None or backward[-1] is None else forward[-1] + backward[-1]
        return (forward[:-1] + (last,),)
    if mode in ("sum", "ave", "mul"):
        if forward != backward:
            raise RuleError(f"merge_mode {mode!r} needs equal forward and backward outputs, but got "
                            f"{format_shape(forward)} and {format_shape(backward)}")
        return (forward,)
    if mode is None:
        return (forward, backward)
    raise RuleError(f"merge_mode must be one of 'concat', 'sum', 'ave', 'mul' or null, not {mode!r}")


def _direction_names(call: LayerCall, forward: Mapping[str, Any], backward: Mapping[str, Any] | None,
                     ) -> tuple[str, str]:
    """The names Keras gives the two copies, which prefix their weights."""
    name = _layer_name(forward) or "layer"
    if call.flavor == "keras3":  # the saved forward config is already named forward_<name>
        base = name.removeprefix("forward_")
        forward_name = f"forward_{base}"
        if backward is not None:
            return forward_name, _layer_name(backward) or "backward_layer"
        return forward_name, f"backward_{name.removeprefix('backward_')}"
    backward_name = _layer_name(backward) if backward is not None else None
    return f"forward_{name}", f"backward_{backward_name or name}"


def _labelled(formulas: tuple[Formula, ...], direction: str) -> tuple[Formula, ...]:
    return tuple(Formula(f.terms, f.times, f"{direction} {f.label}".strip(), f.trainable) for f in formulas)


def _check_pair(forward: Mapping[str, Any], backward: Mapping[str, Any]) -> None:
    """Keras refuses a backward layer that does not mirror the forward one."""
    forward_config, backward_config = forward["config"], backward["config"]
    if bool(forward_config.get("go_backwards", False)) == bool(backward_config.get("go_backwards", False)):
        raise RuleError("the forward and backward layers must have different go_backwards values, but both "
                        f"have go_backwards={bool(forward_config.get('go_backwards', False))}")
    for key in ("stateful", "return_sequences", "return_state"):
        if bool(forward_config.get(key, False)) != bool(backward_config.get(key, False)):
            raise RuleError(f"the forward and backward layers must have the same {key}, but got "
                            f"{forward_config.get(key, False)} and {backward_config.get(key, False)}")


def bidirectional(call: LayerCall) -> LayerResult:
    """Two copies of a recurrent layer, one reading the sequence backwards; outputs merged.

    Outputs are the merged output (or both, with ``merge_mode`` null), then
    the forward states and the backward states when ``return_state``.
    """
    forward_layer = _wrapped(call)
    explicit_backward = _wrapped(call, "backward_layer") if call.get("backward_layer") is not None else None
    mode = call.get("merge_mode", "concat")
    if mode not in MERGE_MODES:
        raise RuleError(f"merge_mode must be one of 'concat', 'sum', 'ave', 'mul' or null, not {mode!r}")
    if "go_backwards" not in forward_layer["config"]:
        raise RuleError(f"wraps a {forward_layer['class_name']}, which is not a recurrent layer "
                        "(it has no go_backwards setting)")
    # tf.keras flips the forward layer's go_backwards; Keras 3 sets it to True (and so refuses a forward
    # layer that already goes backwards).
    backward_direction = True if call.flavor == "keras3" else not forward_layer["config"].get("go_backwards")
    backward_layer = explicit_backward or {
        "class_name": forward_layer["class_name"],
        "config": {**forward_layer["config"], "go_backwards": backward_direction},
    }
    _check_pair(forward_layer, backward_layer)
    sequence = call.input_shapes[:1]
    if not sequence:
        raise RuleError("was called on no input")
    forward = call.inner(forward_layer, sequence)
    backward = call.inner(backward_layer, sequence)
    backward_shapes = backward.output_shapes
    notes = forward.shape_notes
    if call.flavor == "keras3" and backward_shapes != forward.output_shapes:
        # Keras 3 computes the output shape from the forward layer alone, twice.
        backward_shapes = forward.output_shapes
        notes += ("Keras 3 reports the forward layer's output shape for both directions",)
    outputs = _merge(mode, forward.output_shapes[0], backward_shapes[0])
    states = forward.output_shapes[1:] + backward_shapes[1:]
    forward_name, backward_name = _direction_names(call, forward_layer, explicit_backward)
    variables = tuple(v.renamed(forward_name) for v in _frozen_if_untrainable(forward_layer, forward.variables)) \
        + tuple(v.renamed(backward_name) for v in _frozen_if_untrainable(backward_layer, backward.variables))
    if forward.formulas == backward.formulas and len(forward.formulas) == 1:
        only = forward.formulas[0]
        formulas: tuple[Formula, ...] = (formula(
            *[[(x.value, x.label) for x in term] for term in only.terms],
            times=[(x.value, x.label) for x in only.times] + [(2, "directions")],
            label=only.label, trainable=only.trainable),)
    else:
        formulas = _labelled(forward.formulas, "forward") + _labelled(backward.formulas, "backward")
    return LayerResult(outputs + states, variables, formulas, notes,
                       {"forward": forward, "backward": backward})


@hookimpl
def kerasparams_layer_rules() -> dict[str, Rule]:
    return {"TimeDistributed": time_distributed, "Bidirectional": bidirectional}
