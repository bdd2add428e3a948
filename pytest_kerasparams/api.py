"""The types a layer rule receives and returns.

This module is the contract between the engine and every rule, built-in or
third-party. It imports nothing heavy so that rules stay cheap to load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod
from typing import Any, Callable, Mapping, Sequence

Dim = int | None
"""One dimension of a shape; ``None`` where Keras would print ``None``."""

Shape = tuple[Dim, ...]
"""A tensor shape including the batch dimension, as Keras reports it."""


class RuleError(Exception):
    """A layer config that Keras itself would reject, phrased for the user.

    Rules raise this (never a bare exception) when a config cannot be
    computed: the engine adds the file, line and layer name.
    """


@dataclass(frozen=True)
class Factor:
    """One labelled number in a derivation: ``Factor(100, "units")``."""

    value: int
    label: str = ""

    def render(self) -> str:
        return f"{self.value:,} {self.label}".strip() if self.label else f"{self.value:,}"


@dataclass(frozen=True)
class Formula:
    """``(sum of products) x multipliers``: how a parameter count is made.

    ``terms`` are added inside the brackets, each a product of factors;
    ``times`` multiply the bracket. ``(1 feature + 100 units + 1 bias) x 100
    units x 4 gates`` is ``Formula(((f1,), (f100,), (b1,)), (u100, g4))``.
    """

    terms: tuple[tuple[Factor, ...], ...]
    times: tuple[Factor, ...] = ()
    label: str = ""
    trainable: bool = True

    @property
    def bracket(self) -> int:
        """The per-unit figure: the sum inside the brackets."""
        return sum(prod(f.value for f in term) for term in self.terms)

    @property
    def value(self) -> int:
        return self.bracket * prod(f.value for f in self.times)

    def partial_products(self) -> list[int]:
        """Every running product of the bracket by the multipliers, in order."""
        out = [self.bracket]
        for factor in self.times:
            out.append(out[-1] * factor.value)
        return out

    def render(self, *, with_labels: bool = True) -> str:
        def term_text(term: tuple[Factor, ...]) -> str:
            parts = [f.render() if with_labels else f"{f.value:,}" for f in term]
            return " × ".join(parts)

        inner = " + ".join(term_text(t) for t in self.terms)
        if self.times:
            if len(self.terms) > 1:
                inner = f"({inner})"
            tail = " × ".join(f.render() if with_labels else f"{f.value:,}" for f in self.times)
            inner = f"{inner} × {tail}"
        return f"{inner} = {self.value:,}"


def formula(*terms: Sequence[tuple[int, str]], times: Sequence[tuple[int, str]] = (),
            label: str = "", trainable: bool = True) -> Formula:
    """Build a :class:`Formula` from ``(value, label)`` pairs; terms of value 0 are dropped."""
    built = tuple(tuple(Factor(int(v), l) for v, l in term) for term in terms)
    built = tuple(t for t in built if prod(f.value for f in t) != 0) or ((Factor(0),),)
    return Formula(built, tuple(Factor(int(v), l) for v, l in times), label, trainable)


@dataclass(frozen=True)
class Variable:
    """One weight tensor, named and shaped as Keras names and shapes it.

    ``blocks`` names equal slices along the last axis (LSTM gates, GRU
    gates) so explanations and weight-file checks can point at the gate.
    """

    name: str
    shape: tuple[int, ...]
    trainable: bool = True
    blocks: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return prod(self.shape)

    def block_size(self) -> int:
        """Parameters in one block, or the whole variable when it has none."""
        return self.size // len(self.blocks) if self.blocks else self.size

    def renamed(self, prefix: str) -> Variable:
        return Variable(f"{prefix}/{self.name}", self.shape, self.trainable, self.blocks)

    def frozen(self) -> Variable:
        return Variable(self.name, self.shape, False, self.blocks)


@dataclass(frozen=True)
class LayerResult:
    """What a rule returns: output shapes, weights and the derivation."""

    output_shapes: tuple[Shape, ...]
    variables: tuple[Variable, ...] = ()
    formulas: tuple[Formula, ...] = ()
    shape_notes: tuple[str, ...] = ()
    """Plain-text steps of the output-shape arithmetic, e.g. ``(72 - 3) / 1 + 1 = 70``."""
    inner: Mapping[str, LayerResult] = field(default_factory=dict)
    """Results of wrapped layers (TimeDistributed, Bidirectional), by role."""

    @property
    def output_shape(self) -> Shape:
        return self.output_shapes[0]

    @property
    def params(self) -> int:
        return sum(v.size for v in self.variables)


@dataclass(frozen=True)
class LayerCall:
    """What a rule receives: one call of one layer on known input shapes."""

    class_name: str
    config: Mapping[str, Any]
    input_shapes: tuple[Shape, ...]
    flavor: str = "keras3"
    """The file's Keras era: ``keras1``, ``keras2``, ``tf-keras``, ``keras3`` or ``tfjs``."""
    compute_inner: Callable[[Mapping[str, Any], tuple[Shape, ...]], LayerResult] | None = None
    """Runs the rule of a wrapped layer ``{"class_name", "config"}`` on shapes."""
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    """Plain (non-tensor) call arguments recorded in the inbound node, e.g. ``return_attention_scores``."""
    input_names: tuple[str, ...] = ()
    """Each input's role: ``inputs`` when passed positionally, else the keyword (``value``, ``key``, ...)."""

    @property
    def input_shape(self) -> Shape:
        """The single input shape; rules for single-input layers use this."""
        if len(self.input_shapes) != 1:
            raise RuleError(f"expects 1 input tensor but was called on {len(self.input_shapes)}")
        return self.input_shapes[0]

    def get(self, key: str, default: Any = None) -> Any:
        return self.config.get(key, default)

    def inner(self, layer: Mapping[str, Any], shapes: tuple[Shape, ...]) -> LayerResult:
        if self.compute_inner is None:
            raise RuleError("cannot compute a wrapped layer here")
        return self.compute_inner(layer, shapes)


Rule = Callable[[LayerCall], LayerResult]
"""A layer rule: a pure function of one :class:`LayerCall`."""
