"""Attention layers: Attention, AdditiveAttention, MultiHeadAttention and GroupedQueryAttention.

The engine passes input shapes in call order. Each input's role (query,
value, key, masks) is taken from ``call.input_names`` when the engine
provides it; otherwise the order ``query, value, key`` is assumed, which is
how Keras 3 (positional args) and tf-keras (``value``/``key`` kwargs after
the query) both record an ordinary call.
"""

from __future__ import annotations

from math import prod
from typing import Any, Mapping

from ..api import Dim, LayerCall, LayerResult, Rule, RuleError, Shape, Variable, formula
from ..hookspecs import hookimpl
from ._common import format_shape, positive_int, use_bias

_ROLE_ORDER = ("query", "value", "key")


def _call_kwargs(call: LayerCall) -> Mapping[str, Any]:
    """Plain call arguments (``return_attention_scores``...), when the engine passes them."""
    kwargs = getattr(call, "kwargs", None)
    return kwargs if isinstance(kwargs, Mapping) else {}


def _roles(call: LayerCall) -> dict[str, Shape]:
    """``query``, ``value`` and optional ``key`` shapes of a multi-head attention call."""
    shapes = call.input_shapes
    names = getattr(call, "input_names", None)
    if isinstance(names, (tuple, list)) and len(names) == len(shapes) and any(n != "inputs" for n in names):
        roles: dict[str, Shape] = {}
        positional = [s for n, s in zip(names, shapes) if n == "inputs"]
        for role, shape in zip(_ROLE_ORDER, positional):
            roles[role] = shape
        for name, shape in zip(names, shapes):
            if name in _ROLE_ORDER:
                roles[name] = shape
    else:
        if len(shapes) > 3:
            raise RuleError(f"was called on {len(shapes)} tensors; without their argument names the query, "
                            "value and key cannot be told from masks")
        roles = dict(zip(_ROLE_ORDER, shapes))
    if "query" not in roles or "value" not in roles:
        raise RuleError(f"needs a query and a value tensor, got {len(shapes)} input(s)")
    for role, shape in roles.items():
        if len(shape) < 3:
            raise RuleError(f"the {role} must have rank 3 or more (batch, ..., features), got {format_shape(shape)}")
        if shape[-1] is None:
            raise RuleError(f"the last dimension of the {role} {format_shape(shape)} must be defined")
    roles.setdefault("key", roles["value"])
    if roles["value"][1:-1] != roles["key"][1:-1]:
        raise RuleError("All dimensions of `value` and `key`, except the last one, must be equal. Received: "
                        f"value_shape={format_shape(roles['value'])} and key_shape={format_shape(roles['key'])}")
    return roles


def _features(shape: Shape) -> int:
    """The defined last dimension (``_roles`` has checked it)."""
    dim = shape[-1]
    if dim is None:
        raise RuleError(f"the last dimension of {format_shape(shape)} must be defined")
    return dim


def _int_list(value: Any, key: str) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not value or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
        raise RuleError(f"{key} must be a positive integer or a list of them, not {value!r}")
    return tuple(value)


def _projection(name: str, inputs: int, heads: int, width: int, bias: bool) -> list[Variable]:
    variables = [Variable(f"{name}/kernel", (inputs, heads, width))]
    if bias:
        variables.append(Variable(f"{name}/bias", (heads, width)))
    return variables


def _projection_formula(name: str, inputs: int, heads: int, width: int, bias: bool, what: str) -> Any:
    return formula([(inputs, "input features")], [(1 if bias else 0, "bias")],
                   times=[(heads, "heads"), (width, what)], label=name)


def multi_head_attention(call: LayerCall) -> LayerResult:
    """Query, key, (gate,) value projections to ``heads x dim`` and an output projection back."""
    roles = _roles(call)
    query, value, key = roles["query"], roles["value"], roles["key"]
    heads = positive_int(call.config, "num_heads")
    key_dim = positive_int(call.config, "key_dim")
    value_dim = key_dim if call.get("value_dim") is None else positive_int(call.config, "value_dim")
    bias = use_bias(call.config)
    gate = call.get("use_gate") is True
    q, k, v = _features(query), _features(key), _features(value)
    declared = call.get("output_shape")
    out = _int_list(declared, "output_shape") if declared else (q,)
    projections = [("query", q, key_dim, "key dimensions"), ("key", k, key_dim, "key dimensions")]
    if gate:
        projections.append(("gate", q, value_dim, "value dimensions"))
    projections.append(("value", v, value_dim, "value dimensions"))
    variables: list[Variable] = []
    formulas = []
    for name, inputs, width, what in projections:
        variables += _projection(name, inputs, heads, width, bias)
        formulas.append(_projection_formula(name, inputs, heads, width, bias, what))
    variables.append(Variable("attention_output/kernel", (heads, value_dim, *out)))
    if bias:
        variables.append(Variable("attention_output/bias", out))
    formulas.append(formula([(heads, "heads"), (value_dim, "value dimensions")], [(1 if bias else 0, "bias")],
                            times=[(prod(out), "output features")], label="attention_output"))
    outputs: list[Shape] = [query[:-1] + out]
    if _call_kwargs(call).get("return_attention_scores") is True:
        outputs.append(_scores_shape(call, query, key, heads))
    return LayerResult(tuple(outputs), tuple(variables), tuple(formulas))


def _attention_axes(value: Any, query_rank: int) -> tuple[int, ...]:
    """Axes of the query attended over; by default every axis between the batch and the features."""
    if value is None:
        return tuple(range(1, query_rank - 1))
    axes = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(axes, list) or not all(
            isinstance(a, int) and not isinstance(a, bool) and 1 <= a < query_rank - 1 for a in axes):
        raise RuleError(f"attention_axes {value!r} must name axes between the batch and the features "
                        f"(1..{query_rank - 2})")
    return tuple(axes)


def _scores_shape(call: LayerCall, query: Shape, key: Shape, heads: int) -> Shape:
    """The attention scores' shape.

    Keras 3 declares ``(batch, heads, Tq, Tq)`` whatever the key length; tf-keras reports the einsum's
    result: the other axes and the heads, then the query's and the key's attended axes.
    """
    axes = _attention_axes(call.get("attention_axes"), len(query))
    if call.flavor == "keras3":
        return (query[0], heads, query[1], query[1])
    projected_query = (*query[:-1], heads)
    projected_key = (*key[:-1], heads)
    batch_axes = [i for i in range(len(projected_query)) if i not in axes]
    return (*(projected_query[i] for i in batch_axes), *(projected_query[i] for i in axes),
            *(projected_key[i] for i in axes))


def grouped_query_attention(call: LayerCall) -> LayerResult:
    """Keras 3's GQA: query heads share fewer key/value heads; the output keeps the query's shape."""
    roles = _roles(call)
    query, value, key = roles["query"], roles["value"], roles["key"]
    if query[-1] != value[-1]:
        raise RuleError(f"The last dimension of `query_shape` and `value_shape` must be equal, but are "
                        f"{query[-1]}, {value[-1]}. Received: query_shape={format_shape(query)}, "
                        f"value_shape={format_shape(value)}")
    head_dim = positive_int(call.config, "head_dim")
    query_heads = positive_int(call.config, "num_query_heads")
    kv_heads = positive_int(call.config, "num_key_value_heads")
    if query_heads % kv_heads:
        raise RuleError(f"num_query_heads ({query_heads}) must be divisible by num_key_value_heads ({kv_heads})")
    bias = use_bias(call.config)
    q, k, v = _features(query), _features(key), _features(value)
    projections = [("query", q, query_heads), ("key", k, kv_heads)]
    if call.get("use_gate") is True:
        projections.append(("gate", q, query_heads))
    projections.append(("value", v, kv_heads))
    variables: list[Variable] = []
    formulas = []
    for name, inputs, heads in projections:
        variables += _projection(name, inputs, heads, head_dim, bias)
        formulas.append(_projection_formula(name, inputs, heads, head_dim, bias, "head dimensions"))
    variables.append(Variable("attention_output/kernel", (query_heads, head_dim, q)))
    if bias:
        variables.append(Variable("attention_output/bias", (q,)))
    formulas.append(formula([(query_heads, "query heads"), (head_dim, "head dimensions")],
                            [(1 if bias else 0, "bias")], times=[(q, "output features")], label="attention_output"))
    outputs: list[Shape] = [query]
    if _call_kwargs(call).get("return_attention_scores") is True:
        outputs.append((query[0], query_heads, query[1], key[1]))
    return LayerResult(tuple(outputs), tuple(variables), tuple(formulas))


def _attention_inputs(call: LayerCall) -> tuple[Shape, Shape, Shape]:
    shapes = call.input_shapes
    if not 2 <= len(shapes) <= 3:
        raise RuleError(f"{call.class_name} layer must be called on a list of inputs, namely [query, value] or "
                        f"[query, value, key]; got {len(shapes)} input(s)")
    query, value = shapes[0], shapes[1]
    key = shapes[2] if len(shapes) == 3 else value
    for role, shape in (("query", query), ("value", value), ("key", key)):
        if len(shape) < 2:
            raise RuleError(f"the {role} must have rank 2 or more, got {format_shape(shape)}")
    if call.flavor != "keras3" and None not in (query[-1], key[-1]) and query[-1] != key[-1]:
        # tf-keras scores the query against the key when the model is built; Keras 3 only fails when run.
        raise RuleError(f"the query {format_shape(query)} and the key {format_shape(key)} (the value when no key "
                        "is given) must have the same last dimension")
    return query, value, key


def _attention_outputs(call: LayerCall, query: Shape, value: Shape, key: Shape) -> tuple[Shape, ...]:
    outputs: list[Shape] = [(*query[:-1], value[-1])]
    if _call_kwargs(call).get("return_attention_scores") is True:
        scores: Dim = key[-2] if len(key) >= 2 else None
        outputs.append((*query[:-1], scores))
    return tuple(outputs)


def dot_product_attention(call: LayerCall) -> LayerResult:
    """Luong attention: scalar ``scale`` if use_scale, scalar ``concat_score_weight`` for score_mode concat."""
    query, value, key = _attention_inputs(call)
    mode = call.get("score_mode", "dot")
    if mode not in ("dot", "concat"):
        raise RuleError(f"Invalid value for argument score_mode. Expected one of {{'dot', 'concat'}}. "
                        f"Received: score_mode={mode!r}")
    variables = []
    if call.get("use_scale") is True:
        variables.append(Variable("scale", ()))
    if mode == "concat":
        variables.append(Variable("concat_score_weight", ()))
    formulas = tuple(formula([(1, v.name)], label=v.name) for v in variables)
    return LayerResult(_attention_outputs(call, query, value, key), tuple(variables), formulas)


def additive_attention(call: LayerCall) -> LayerResult:
    """Bahdanau attention: a ``scale`` vector over the query's features if use_scale."""
    query, value, key = _attention_inputs(call)
    variables = []
    formulas = []
    if call.get("use_scale", True) is not False:
        features = query[-1]
        if features is None:
            raise RuleError(f"the last dimension of the query {format_shape(query)} must be defined")
        variables.append(Variable("scale", (features,)))
        formulas.append(formula([(features, "query features")], label="scale"))
    return LayerResult(_attention_outputs(call, query, value, key), tuple(variables), tuple(formulas))


@hookimpl
def kerasparams_layer_rules() -> dict[str, Rule]:
    return {"MultiHeadAttention": multi_head_attention, "GroupedQueryAttention": grouped_query_attention,
            "GroupQueryAttention": grouped_query_attention, "Attention": dot_product_attention,
            "AdditiveAttention": additive_attention}
