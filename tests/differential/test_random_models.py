"""Seeded random models, Sequential and Functional, compared layer by layer with real Keras.

The generator builds with Keras itself and reads each tensor's shape back from Keras, so it
needs no shape arithmetic of its own (every expected figure still comes from Keras). It uses
the layer classes whose rules exist: Dense, Conv1D/2D, pooling, recurrent layers and their
wrappers, normalization, merging, reshaping, Embedding, Dropout, Activation; Functional models
add several inputs and outputs, shared layers, layers called on lists and shared nested
Sequentials; any layer may be frozen.

``KERASPARAMS_RANDOM_MODELS`` (default 100) sets the number of models per flavor, and
``KERASPARAMS_RANDOM_SEED`` (default 0) shifts the seeds, to explore further.
"""

from __future__ import annotations

import os
import random
from types import ModuleType
from typing import Any, Callable

import pytest

from tests.keras_oracle import FLAVORS, assert_agrees_with_keras, keras_module

COUNT = int(os.environ.get("KERASPARAMS_RANDOM_MODELS", "100"))
FIRST_SEED = int(os.environ.get("KERASPARAMS_RANDOM_SEED", "0"))

Shape = tuple  # a Keras shape without the batch dimension


def _dims(tensor: Any) -> Shape:
    return tuple(None if d is None else int(d) for d in tuple(tensor.shape)[1:])


class _Generator:
    """Random layers that fit a given input shape, drawn from one seeded RNG."""

    def __init__(self, keras: ModuleType, rng: random.Random) -> None:
        self.keras = keras
        self.layers = keras.layers
        self.rng = rng

    def _maybe_frozen(self, layer: Any) -> Any:
        if self.rng.random() < 0.08:
            layer.trainable = False
        return layer

    def _units(self, high: int = 12) -> int:
        return self.rng.randint(1, high)

    def _recurrent(self, return_sequences: bool) -> Any:
        layers, rng = self.layers, self.rng
        kind = rng.choice(["LSTM", "GRU", "SimpleRNN"])
        kwargs: dict[str, Any] = {"units": self._units(6), "return_sequences": return_sequences,
                                  "use_bias": rng.random() < 0.85}
        if kind == "GRU":
            kwargs["reset_after"] = rng.random() < 0.6
        if kind == "LSTM":
            kwargs["unit_forget_bias"] = rng.random() < 0.7
        return getattr(layers, kind)(**kwargs)

    def unary(self, shape: Shape) -> Any:
        """One layer that accepts a tensor of ``shape``."""
        rng = self.rng
        choices: list[Callable[[], Any]]
        if len(shape) == 1:
            choices = self._rank1(shape)
        elif len(shape) == 2:
            choices = self._rank2(shape)
        else:
            choices = self._rank3(shape)
        return self._maybe_frozen(rng.choice(choices)())

    def _common(self) -> list[Callable[[], Any]]:
        layers, rng = self.layers, self.rng
        return [
            lambda: layers.Dense(self._units(), use_bias=rng.random() < 0.85,
                                 activation=rng.choice([None, "relu", "tanh"])),
            lambda: layers.Dropout(0.25),
            lambda: layers.Activation(rng.choice(["relu", "sigmoid", "softmax"])),
            lambda: layers.BatchNormalization(center=rng.random() < 0.8, scale=rng.random() < 0.8),
            lambda: layers.LayerNormalization(center=rng.random() < 0.8, scale=rng.random() < 0.8),
        ]

    def _rank1(self, shape: Shape) -> list[Callable[[], Any]]:
        layers, rng = self.layers, self.rng
        (width,) = shape
        choices = self._common() + [lambda: layers.RepeatVector(rng.randint(1, 5))]
        factors = [a for a in range(2, width) if width % a == 0]
        if factors:
            choices.append(lambda: layers.Reshape((rng.choice(factors), -1)))
        return choices

    def _rank2(self, shape: Shape) -> list[Callable[[], Any]]:
        layers, rng = self.layers, self.rng
        steps, _ = shape
        longest = 4 if steps is None else min(4, steps)

        def conv() -> Any:
            padding = rng.choice(["valid", "same", "causal"])
            kernel = rng.randint(1, longest if padding == "valid" else 4)
            strides, dilation = rng.choice([(1, 1), (2, 1), (1, 2)])
            if padding == "valid" and steps is not None and dilation * (kernel - 1) + 1 > steps:
                dilation = 1
            return layers.Conv1D(rng.randint(1, 8), kernel, strides=strides, dilation_rate=dilation,
                                 padding=padding, use_bias=rng.random() < 0.85)

        def pool() -> Any:
            kind = rng.choice([layers.MaxPooling1D, layers.AveragePooling1D])
            padding = "same" if steps is not None and steps < 2 else rng.choice(["valid", "same"])
            return kind(2, strides=rng.choice([None, 1]), padding=padding)

        choices = self._common() + [
            conv, pool,
            lambda: rng.choice([layers.GlobalMaxPooling1D, layers.GlobalAveragePooling1D])(),
            lambda: self._recurrent(rng.random() < 0.5),
            lambda: layers.Bidirectional(self._recurrent(rng.random() < 0.5),
                                         merge_mode=rng.choice(["concat", "sum", "ave", "mul"])),
            lambda: layers.TimeDistributed(layers.Dense(self._units(6))),
        ]
        if steps is not None:
            choices += [
                lambda: layers.Permute((2, 1)),
                lambda: layers.Flatten(),
                lambda: layers.Reshape((-1,)),
                lambda: layers.Reshape((steps, -1, 1)),
            ]
        return choices

    def _rank3(self, shape: Shape) -> list[Callable[[], Any]]:
        layers, rng = self.layers, self.rng
        height, width, _ = shape

        def conv() -> Any:
            padding = rng.choice(["valid", "same"])
            kernel = (rng.randint(1, min(3, height)), rng.randint(1, min(3, width)))
            strides = rng.choice([1, 2, (1, 2)])
            return layers.Conv2D(rng.randint(1, 6), kernel, strides=strides, padding=padding,
                                 use_bias=rng.random() < 0.85)

        def pool() -> Any:
            kind = rng.choice([layers.MaxPooling2D, layers.AveragePooling2D])
            padding = "same" if min(height, width) < 2 else rng.choice(["valid", "same"])
            return kind(rng.choice([2, (2, 1)]), padding=padding)

        return self._common() + [
            conv, pool,
            lambda: rng.choice([layers.GlobalMaxPooling2D, layers.GlobalAveragePooling2D])(),
            lambda: layers.Flatten(),
            lambda: layers.Reshape((height * width, -1)),
            lambda: layers.Permute((2, 1, 3)),
        ]

    def input(self, index: int) -> tuple[Any, Any]:
        """A new model input and the first tensor built on it (an Embedding for token inputs)."""
        keras, rng = self.keras, self.rng
        kind = rng.choice(["vector", "sequence", "sequence", "image", "tokens"])
        name = f"input_{index}"
        if kind == "vector":
            tensor = keras.Input((rng.randint(2, 20),), name=name)
            return tensor, tensor
        if kind == "sequence":
            tensor = keras.Input((rng.choice([None, rng.randint(3, 16)]), rng.randint(1, 8)), name=name)
            return tensor, tensor
        if kind == "image":
            tensor = keras.Input((rng.randint(4, 12), rng.randint(4, 12), rng.randint(1, 3)), name=name)
            return tensor, tensor
        tokens = keras.Input((rng.choice([None, rng.randint(3, 12)]),), dtype="int32", name=name)
        return tokens, self.layers.Embedding(rng.randint(10, 50), rng.randint(2, 8))(tokens)


def _clone(layer: Any) -> Any:
    return type(layer).from_config(layer.get_config())


def random_sequential(keras: ModuleType, seed: int) -> Any:
    """A chain of random layers, worked out on a scratch graph, then rebuilt as a Sequential."""
    rng = random.Random(seed)
    gen = _Generator(keras, rng)
    inputs, tensor = gen.input(0)
    chain = [] if tensor is inputs else [tensor._keras_history[0]]
    for _ in range(rng.randint(1, 7)):
        layer = gen.unary(_dims(tensor))
        tensor = layer(tensor)
        chain.append(layer)
    spec = keras.Input(tuple(inputs.shape)[1:], dtype=inputs.dtype)
    return keras.Sequential([spec] + [_clone(layer) for layer in chain], name=f"random_sequential_{seed}")


def _merge(keras: ModuleType, rng: random.Random, pool: list[Any]) -> Any | None:
    """Add or Concatenate over compatible tensors of the pool, if any two fit."""
    layers = keras.layers
    rng.shuffle(pool)
    for first in range(len(pool)):
        for second in range(first + 1, len(pool)):
            a, b = _dims(pool[first]), _dims(pool[second])
            if a == b and None not in a and rng.random() < 0.5:
                picks = [pool[first], pool[second]] + [t for t in pool[second + 1:] if _dims(t) == a][:1]
                return layers.Add()(picks) if rng.random() < 0.5 else layers.Concatenate()(picks)
            if len(a) == len(b) and a[:-1] == b[:-1]:
                return layers.Concatenate(axis=-1)([pool[first], pool[second]])
    return None


def random_functional(keras: ModuleType, seed: int) -> Any:
    """A random graph: several inputs, merges, shared layers and shared nested Sequentials."""
    rng = random.Random(seed)
    gen = _Generator(keras, rng)
    inputs, pool = [], []
    for index in range(rng.choice([1, 1, 2, 3])):
        model_input, tensor = gen.input(index)
        inputs.append(model_input)
        pool.append(gen.unary(_dims(tensor))(tensor))
    for _ in range(rng.randint(2, 8)):
        roll = rng.random()
        source = rng.choice(pool)
        if roll < 0.2 and len(pool) > 1:
            merged = _merge(keras, rng, list(pool))
            if merged is not None:
                pool.append(merged)
                continue
        if roll < 0.35:
            same = [t for t in pool if _dims(t) == _dims(source) and t is not source]
            shared = keras.layers.Dense(gen._units())
            pool.append(shared(source))
            if same:
                pool.append(shared(same[0]))
            continue
        if roll < 0.45:
            shape = _dims(source)
            scratch = keras.Input(shape)
            layers, tensor = [], scratch
            for _ in range(rng.randint(1, 3)):
                layer = gen.unary(_dims(tensor))
                tensor = layer(tensor)
                layers.append(layer)
            nested = keras.Sequential([keras.Input(shape)] + [_clone(layer) for layer in layers])
            if rng.random() < 0.15:
                nested.trainable = False
            pool.append(nested(source))
            same = [t for t in pool if _dims(t) == shape and t is not source]
            if same:
                pool.append(nested(same[0]))
            continue
        pool.append(gen.unary(_dims(source))(source))
    outputs = _leaves(pool)
    return keras.Model(inputs, outputs, name=f"random_functional_{seed}")


def _leaves(pool: list[Any]) -> list[Any]:
    """Tensors no other pooled tensor was computed from: every one must be an output."""
    used: set[int] = set()
    for tensor in pool:
        layer, node_index, _ = tensor._keras_history
        node = layer._inbound_nodes[node_index]
        sources = node.input_tensors if isinstance(node.input_tensors, (list, tuple)) else [node.input_tensors]
        used.update(id(t) for t in sources)
    return [t for t in pool if id(t) not in used] or pool[-1:]


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("seed", range(FIRST_SEED, FIRST_SEED + COUNT))
def test_random_model_agrees_with_keras(seed, flavor):
    keras = keras_module(flavor)
    build = random_functional if seed % 5 < 3 else random_sequential
    assert_agrees_with_keras(lambda _: build(keras, seed), flavor)
