"""Wrappers: TimeDistributed and Bidirectional run the rule of the layer they wrap."""

from __future__ import annotations

from typing import Any, Mapping

from ..api import LayerCall, LayerResult, Rule, RuleError, Shape, Variable, formula
from ..hookspecs import hookimpl
from ._common import format_shape


def _wrapped(call: LayerCall, key: str = "layer") -> Mapping[str, Any]:
    layer = call.get(key)
    if not isinstance(layer, Mapping) or not isinstance(layer.get("class_name"), str):
        raise RuleError(f"has no wrapped {key} with a class_name")
    return layer


def time_distributed(call: LayerCall) -> LayerResult:
    shape = call.input_shape
    if len(shape) < 3:
        raise RuleError(f"needs an input of at least rank 3 (batch, time, ...), got {format_shape(shape)}")
    inner = call.inner(_wrapped(call), ((shape[0],) + shape[2:],))
    outputs = tuple((s[0], shape[1]) + s[1:] for s in inner.output_shapes)
    return LayerResult(outputs, inner.variables, inner.formulas, inner.shape_notes, {"layer": inner})


def _merge(mode: Any, forward: Shape, backward: Shape) -> tuple[Shape, ...]:
    if mode == "concat":
        last = None if forward[-1] is None or backward[-1] is None else forward[-1] + backward[-1]
        return (forward[:-1] + (last,),)
    if mode in ("sum", "ave", "mul"):
        return (forward,)
    if mode is None:
        return (forward, backward)
    raise RuleError(f"merge_mode must be 'concat', 'sum', 'ave', 'mul' or null, not {mode!r}")


def _direction_prefix(direction: str, layer: Mapping[str, Any]) -> str:
    config = layer.get("config")
    name = config.get("name") if isinstance(config, Mapping) else None
    return f"{direction}_{name}" if isinstance(name, str) else direction


def bidirectional(call: LayerCall) -> LayerResult:
    forward_layer = _wrapped(call)
    backward_layer = call.get("backward_layer") or forward_layer
    if not isinstance(backward_layer, Mapping):
        raise RuleError("backward_layer is not a layer config")
    forward = call.inner(forward_layer, call.input_shapes)
    backward = call.inner(backward_layer, call.input_shapes)
    mode = call.get("merge_mode", "concat")
    outputs = _merge(mode, forward.output_shapes[0], backward.output_shapes[0])
    states = forward.output_shapes[1:] + backward.output_shapes[1:]
    variables: tuple[Variable, ...] = tuple(
        v.renamed(_direction_prefix("forward", forward_layer)) for v in forward.variables
    ) + tuple(v.renamed(_direction_prefix("backward", backward_layer)) for v in backward.variables)
    formulas = tuple(f.__class__(f.terms, f.times, f"forward {f.label}".strip(), f.trainable)
                     for f in forward.formulas) + tuple(
        f.__class__(f.terms, f.times, f"backward {f.label}".strip(), f.trainable) for f in backward.formulas)
    if forward_layer == backward_layer and forward.formulas:
        only = forward.formulas[0]
        formulas = (formula(*[[(x.value, x.label) for x in term] for term in only.terms],
                            times=[(x.value, x.label) for x in only.times] + [(2, "directions")],
                            label=only.label),) + forward.formulas[1:] * 2
    return LayerResult(outputs + states, variables, formulas, forward.shape_notes,
                       {"forward": forward, "backward": backward})


@hookimpl
def kerasparams_layer_rules() -> dict[str, Rule]:
    return {"TimeDistributed": time_distributed, "Bidirectional": bidirectional}
