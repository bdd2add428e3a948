"""Rebuild hourly_models/ (the seed notebook's five forecasting models) with real Keras.

Run with tf-keras installed: ``python scripts/build_hourly_models.py``. The
configs are built by tf-keras, then written in the layout Keras 2.2.4-tf used
(TensorFlow 1.13, the seed's era): no InputLayer in a Sequential, the first
layer carries ``batch_input_shape``, and no ``module``/``registered_name``/
``build_config`` keys. ``summary.txt`` is Keras 2.2.4's ``model.summary()``
table, filled with the figures Keras itself reports for each layer.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tf_keras as keras  # noqa: E402
from tf_keras import layers  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent / "hourly_models"


def td(units: int, name: str, inner: str) -> layers.Layer:
    return layers.TimeDistributed(layers.Dense(units, name=inner), name=name)


def model_1() -> keras.Model:
    return keras.Sequential([keras.Input((48, 1)), layers.LSTM(100, activation="relu", name="lstm"),
                             layers.Dense(48, name="dense")], name="sequential")


def encoder_decoder(steps: int, features: int, units: int, hidden: int) -> keras.Model:
    """LSTM encoder, RepeatVector to 48 hours, LSTM decoder, two TimeDistributed Dense layers."""
    return keras.Sequential([
        keras.Input((steps, features)), layers.LSTM(units, activation="relu", name="lstm"),
        layers.RepeatVector(48, name="repeat_vector"),
        layers.LSTM(units, activation="relu", return_sequences=True, name="lstm_1"),
        td(hidden, "time_distributed", "dense"), td(1, "time_distributed_1", "dense_1")], name="sequential")


def model_2() -> keras.Model:
    return encoder_decoder(48, 1, 100, 50)


def model_4() -> keras.Model:
    return encoder_decoder(72, 8, 200, 100)


def model_5() -> keras.Model:
    return keras.Sequential([
        keras.Input((72, 8)), layers.Conv1D(64, 3, activation="relu", name="conv1d"),
        layers.MaxPooling1D(2, name="max_pooling1d"),
        layers.Conv1D(64, 3, activation="relu", name="conv1d_1"),
        layers.MaxPooling1D(2, name="max_pooling1d_1"), layers.Flatten(name="flatten"),
        layers.RepeatVector(48, name="repeat_vector"),
        layers.LSTM(200, activation="relu", return_sequences=True, name="lstm"),
        td(100, "time_distributed", "dense"), td(1, "time_distributed_1", "dense_1")], name="sequential")


def model_6() -> keras.Model:
    return keras.Sequential([
        keras.Input((3, 1, 24, 8)),
        layers.ConvLSTM2D(64, (1, 3), padding="same", activation="relu", name="conv_lstm2d_3"),
        layers.Flatten(name="flatten_3"), layers.RepeatVector(48, name="repeat_vector_3"),
        layers.LSTM(200, activation="relu", return_sequences=True, name="lstm_3"),
        td(100, "time_distributed_6", "dense_6"), td(1, "time_distributed_7", "dense_7")], name="sequential_3")


def legacy_layout(model: keras.Model) -> dict:
    """tf-keras JSON rewritten to the Keras 2.2.4-tf layout."""
    data = json.loads(model.to_json())
    data.pop("module", None)
    data.pop("registered_name", None)
    data.pop("build_config", None)
    layers_ = data["config"]["layers"]
    input_layer = layers_.pop(0)
    layers_[0]["config"]["batch_input_shape"] = input_layer["config"]["batch_input_shape"]

    def strip(obj: object) -> None:
        if isinstance(obj, dict):
            for key in ("module", "registered_name", "build_config"):
                obj.pop(key, None)
            for value in obj.values():
                strip(value)
        elif isinstance(obj, list):
            for value in obj:
                strip(value)

    strip(layers_)
    data["keras_version"] = "2.2.4-tf"
    data["backend"] = "tensorflow"
    return data


def keras224_summary(model: keras.Model) -> str:
    """``model.summary()`` as Keras 2.2.4 printed it for a Sequential model (65 columns)."""
    positions = [29, 55, 65]

    def row(fields: list[str]) -> str:
        line = ""
        for index, value in enumerate(fields):
            if index > 0:
                line = line[:-1] + " "
            line += value
            line = line[:positions[index]]
            line += " " * (positions[index] - len(line))
        return line

    lines = ["_" * 65, row(["Layer (type)", "Output Shape", "Param #"]), "=" * 65]
    for index, layer in enumerate(model.layers):
        lines.append(row([f"{layer.name} ({layer.__class__.__name__})", str(layer.output_shape),
                          str(layer.count_params())]))
        lines.append("=" * 65 if index == len(model.layers) - 1 else "_" * 65)
    trainable = sum(int(keras.backend.count_params(w)) for w in model.trainable_weights)
    total = model.count_params()
    lines += [f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}", "_" * 65]
    return "\n".join(lines) + "\n"


def main() -> None:
    for name, build in [("model_1", model_1), ("model_2", model_2), ("model_4", model_4),
                        ("model_5", model_5), ("model_6", model_6)]:
        model = build()
        folder = ROOT / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "model.json").write_text(json.dumps(legacy_layout(model), indent=2) + "\n")
        (folder / "summary.txt").write_text(keras224_summary(model))
        print(f"{name}: {model.count_params():,} parameters")


if __name__ == "__main__":
    main()
