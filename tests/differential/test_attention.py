"""Attention layers against real Keras, in both flavors where the class exists."""

from __future__ import annotations

import pytest

from pytest_kerasparams.api import LayerCall
from tests.keras_oracle import (FLAVORS, assert_variables_agree, engine_error, engine_rows, keras_module,
                                keras_rows, keras_variables)

CALL_KWARGS_REACH_RULES = "kwargs" in getattr(LayerCall, "__dataclass_fields__", {})


def _mha_self_and_cross(keras):
    MHA = keras.layers.MultiHeadAttention
    x = keras.Input((8, 16))
    q = keras.Input((5, 16))
    v = keras.Input((7, 12))
    k = keras.Input((7, 10))
    a = MHA(num_heads=2, key_dim=4, name="self")(x, x)
    b = MHA(num_heads=3, key_dim=5, value_dim=6, output_shape=20, name="cross")(q, v, key=k)
    c = MHA(num_heads=2, key_dim=3, use_bias=False, output_shape=(4, 5), name="nobias")(q, v)
    return keras.Model([x, q, v, k], [a, b, c])


def _mha_high_rank(keras):
    MHA = keras.layers.MultiHeadAttention
    x = keras.Input((3, 4, 8))
    a = MHA(num_heads=2, key_dim=3, attention_axes=(2,), name="axis2")(x, x)
    b = MHA(num_heads=1, key_dim=2, attention_axes=(1, 2), name="axes12")(a, x)
    return keras.Model(x, b)


def _attention(keras):
    q = keras.Input((5, 6))
    v = keras.Input((7, 4))
    k = keras.Input((7, 6))
    a = keras.layers.Attention(name="dot")([q, k])
    b = keras.layers.Attention(use_scale=True, name="scaled")([q, v, k])
    c = keras.layers.Attention(score_mode="concat", use_scale=True, name="concat")([q, k])
    d = keras.layers.AdditiveAttention(name="additive")([q, k])
    e = keras.layers.AdditiveAttention(use_scale=False, name="additive_plain")([q, v, k])
    return keras.Model([q, v, k], [a, b, c, d, e])


@pytest.mark.parametrize("flavor", FLAVORS)
def test_multi_head_attention_self_and_cross(flavor):
    assert_variables_agree(_mha_self_and_cross, flavor, "self", "cross", "nobias")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_multi_head_attention_attention_axes(flavor):
    assert_variables_agree(_mha_high_rank, flavor, "axis2", "axes12")


def test_multi_head_attention_keyword_inputs_keras3():
    def build(keras):
        q = keras.Input((5, 16))
        v = keras.Input((7, 12))
        out = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, name="kw")(query=q, value=v, key=v)
        return keras.Model([q, v], out)

    assert_variables_agree(build, "keras3", "kw")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_multi_head_attention_with_masks(flavor):
    if "input_names" not in getattr(LayerCall, "__dataclass_fields__", {}):
        pytest.skip("LayerCall does not carry input roles yet, so a mask cannot be told from a key")

    def build(keras):
        q = keras.Input((5, 16))
        v = keras.Input((7, 12))
        mask = keras.Input((5, 7), dtype="bool")
        out = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, name="masked")(q, v, attention_mask=mask)
        return keras.Model([q, v, mask], out)

    assert_variables_agree(build, flavor, "masked")


def test_multi_head_attention_gate_keras3():
    keras = keras_module("keras3")
    try:
        keras.layers.MultiHeadAttention(num_heads=1, key_dim=1, use_gate=True)
    except TypeError:
        pytest.skip("this Keras 3 has no use_gate")

    def build(keras):
        q = keras.Input((5, 16))
        v = keras.Input((7, 12))
        out = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, value_dim=3, use_gate=True,
                                              name="gated")(q, v)
        return keras.Model([q, v], out)

    assert_variables_agree(build, "keras3", "gated")


def _assert_outputs_agree(model, flavor: str) -> None:
    """Model outputs and totals against Keras (for layers with several outputs, which the row oracle skips)."""
    _, analysis = engine_rows(model.to_json())
    assert list(analysis.report.output_shapes) == [tuple(t.shape) for t in model.outputs]
    assert analysis.report.total == model.count_params()


@pytest.mark.parametrize("flavor", FLAVORS)
def test_attention_scores_outputs(flavor):
    if not CALL_KWARGS_REACH_RULES:
        pytest.skip("LayerCall does not carry call kwargs (return_attention_scores) yet")
    keras = keras_module(flavor)
    q = keras.Input((5, 16))
    v = keras.Input((7, 12))
    grid = keras.Input((3, 4, 8))
    mha = keras.layers.MultiHeadAttention
    outs = [*mha(num_heads=2, key_dim=4)(q, v, return_attention_scores=True),
            *keras.layers.Attention()([q, keras.layers.Dense(16)(v)], return_attention_scores=True),
            *keras.layers.AdditiveAttention()([q, keras.layers.Dense(16)(v)], return_attention_scores=True)]
    if flavor != "keras3":  # Keras 3 declares (batch, heads, Tq, Tq) for any attention axes
        outs += mha(num_heads=3, key_dim=2, attention_axes=(2,))(grid, grid, return_attention_scores=True)
    _assert_outputs_agree(keras.Model([q, v, grid], outs), flavor)


def test_grouped_query_attention_keras3():
    keras = keras_module("keras3")
    if not hasattr(keras.layers, "GroupQueryAttention"):
        pytest.skip("this Keras 3 has no GroupQueryAttention")

    def build(keras):
        GQA = keras.layers.GroupQueryAttention
        q = keras.Input((5, 16))
        v = keras.Input((7, 16))
        k = keras.Input((7, 10))
        a = GQA(head_dim=4, num_query_heads=4, num_key_value_heads=2, name="gqa")(q, v)
        b = GQA(head_dim=3, num_query_heads=6, num_key_value_heads=3, use_bias=False, name="gqa_key")(a, v, key=k)
        return keras.Model([q, v, k], b)

    # Keras 3 serializes the class as GroupQueryAttention while its Python class is GroupedQueryAttention,
    # so the rows are compared without the class name.
    keras = keras_module("keras3")
    model = build(keras)
    expected = [{k: v for k, v in row.items() if k != "class_name"} for row in keras_rows(model, "keras3")]
    actual, analysis = engine_rows(model.to_json())
    assert [{k: v for k, v in row.items() if k != "class_name"} for row in actual] == expected
    assert analysis.report.total == model.count_params()
    for name in ("gqa", "gqa_key"):
        report = analysis.report.find(name)
        ours = [(v.name.rsplit("/", 1)[-1], v.shape, v.trainable) for v in report.variables]
        assert ours == keras_variables(model.get_layer(name))
        assert sum(f.value for f in report.result.formulas) == report.params


@pytest.mark.parametrize("flavor", FLAVORS)
def test_attention_and_additive_attention(flavor):
    assert_variables_agree(_attention, flavor, "dot", "scaled", "concat", "additive", "additive_plain")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_multi_head_attention_key_value_mismatch_is_refused(flavor):
    import json

    keras = keras_module(flavor)
    q = keras.Input((5, 16), name="q")
    v = keras.Input((7, 12), name="v")
    k = keras.Input((7, 10), name="k")
    model = keras.Model([q, v, k], keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)(q, v, key=k))
    data = json.loads(model.to_json())
    for layer in data["config"]["layers"]:
        if layer["config"].get("name") == "k":
            config = layer["config"]
            config["batch_shape" if "batch_shape" in config else "batch_input_shape"] = [None, 6, 10]
    message = engine_error(json.dumps(data))
    assert "(None, 7, 12)" in message and "(None, 6, 10)" in message
