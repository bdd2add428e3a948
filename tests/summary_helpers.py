"""Helpers for summary, weight and snapshot tests: build models with real Keras and capture what it prints.

``keras2_print_summary`` re-implements the Keras 2.2.4 ``print_summary``
layout (line_length 65 / 98, positions [.45, .85, 1.] / [.33, .55, .67, 1.],
each field cut at its column and its last character overwritten by a space
when the next field starts), fed with figures that real Keras reports, so
the old fixed-width format can be tested without installing Keras 2.2.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from tests.keras_oracle import keras_module

Build = Callable[[ModuleType], Any]


def capture_summary(model: Any, **kwargs: Any) -> str:
    """``model.summary()`` as text, as a user would paste it into summary.txt."""
    lines: list[str] = []
    model.summary(print_fn=lambda text, *args, **kw: lines.append(text), **kwargs)
    return "\n".join(lines).rstrip("\n") + "\n"


def sequential_model(keras: ModuleType) -> Any:
    layers = keras.layers
    return keras.Sequential([
        keras.Input((20,)),
        layers.Embedding(1000, 16),
        layers.Bidirectional(layers.LSTM(32, return_sequences=True)),
        layers.TimeDistributed(layers.Dense(8)),
        layers.BatchNormalization(),
        layers.GRU(12),
        layers.Dense(3, name="a_rather_long_layer_name_that_wraps_in_every_era"),
    ], name="seq_model")


def functional_model(keras: ModuleType) -> Any:
    layers = keras.layers
    first = keras.Input((16,), name="in_a")
    second = keras.Input((8,), name="in_b")
    inner = keras.Sequential([keras.Input((24,)), layers.Dense(5)], name="inner")
    joined = layers.Concatenate()([layers.Dense(16)(first), second])
    middle = inner(joined)
    sequence = layers.Reshape((1, 5))(middle)
    outputs = layers.LSTM(4, return_state=True)(sequence)
    return keras.Model([first, second], [middle, outputs[0]], name="func_model")


def conv_model(keras: ModuleType) -> Any:
    layers = keras.layers
    return keras.Sequential([
        keras.Input((28, 28, 3)),
        layers.Conv2D(8, 3, activation="relu", name="conv2d_with_a_name_longer_than_the_column"),
        layers.MaxPooling2D(),
        layers.Conv2D(16, 3, use_bias=False),
        layers.Flatten(),
        layers.Dense(10),
    ], name="conv_model")


def write_model(keras: ModuleType, build: Build, folder: Path, *, summary: bool = True,
                **summary_kwargs: Any) -> tuple[Any, Path]:
    """Build with real Keras, save model.json (and summary.txt) in ``folder``."""
    model = build(keras)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.json"
    path.write_text(model.to_json(), encoding="utf-8")
    if summary:
        (folder / "summary.txt").write_text(capture_summary(model, **summary_kwargs), encoding="utf-8")
    return model, path


def keras_figures(model: Any) -> list[tuple[str, str, Any, int, list[str]]]:
    """``(name, class, output shape, params, connections)`` per layer, as tf.keras reports them."""
    out = []
    for layer in model.layers:
        try:
            shape = layer.output_shape
        except AttributeError:
            shape = "multiple"
        if isinstance(shape, list) and len(shape) == 1 and layer.__class__.__name__ == "InputLayer":
            shape = shape[0]  # Keras 2.2 printed an InputLayer's shape as a plain tuple
        connections = []
        for node in layer._inbound_nodes:  # noqa: SLF001 - tf.keras offers no public accessor
            for inbound, node_index, tensor_index, _ in node.iterate_inbound():
                connections.append(f"{inbound.name}[{node_index}][{tensor_index}]")
        out.append((layer.name, layer.__class__.__name__, shape, layer.count_params(), connections))
    return out


def keras2_print_summary(model: Any, sequential: bool, line_length: int | None = None) -> str:
    """The Keras 2.2.4 ``print_summary`` layout, fed with figures tf.keras reports for ``model``."""
    length = line_length or (65 if sequential else 98)
    relative = [.45, .85, 1.] if sequential else [.33, .55, .67, 1.]
    positions = [int(length * p) for p in relative]
    header = ["Layer (type)", "Output Shape", "Param #"] + ([] if sequential else ["Connected to"])
    lines: list[str] = []

    def print_row(fields: list[Any]) -> None:
        line = ""
        for i in range(len(fields)):
            if i > 0:
                line = line[:-1] + " "
            line += str(fields[i])
            line = line[:positions[i]]
            line += " " * (positions[i] - len(line))
        lines.append(line)

    lines.append("_" * length)
    print_row(header)
    lines.append("=" * length)
    figures = keras_figures(model)
    for index, (name, cls, shape, params, connections) in enumerate(figures):
        if sequential:
            print_row([f"{name} ({cls})", shape, params])
        else:
            print_row([f"{name} ({cls})", shape, params, connections[0] if connections else ""])
            for extra in connections[1:]:
                print_row(["", "", "", extra])
        lines.append(("=" if index == len(figures) - 1 else "_") * length)
    trainable = sum(math.prod(int(d) for d in w.shape) for w in model.trainable_weights)
    non_trainable = sum(math.prod(int(d) for d in w.shape) for w in model.non_trainable_weights)
    lines.append(f"Total params: {trainable + non_trainable:,}")
    lines.append(f"Trainable params: {trainable:,}")
    lines.append(f"Non-trainable params: {non_trainable:,}")
    lines.append("_" * length)
    return "\n".join(lines) + "\n"


__all__ = ["capture_summary", "conv_model", "functional_model", "keras2_print_summary", "keras_module",
           "sequential_model", "write_model"]
