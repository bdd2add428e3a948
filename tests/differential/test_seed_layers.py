"""The seed's layer classes against real Keras, in both flavors."""

from __future__ import annotations

import pytest

from tests.keras_oracle import FLAVORS, assert_agrees_with_keras


def _lstm_encoder_decoder(keras):
    return keras.Sequential([
        keras.Input((48, 1)),
        keras.layers.LSTM(100),
        keras.layers.RepeatVector(48),
        keras.layers.LSTM(100, return_sequences=True),
        keras.layers.TimeDistributed(keras.layers.Dense(50)),
        keras.layers.TimeDistributed(keras.layers.Dense(1)),
    ])


def _cnn_lstm(keras):
    return keras.Sequential([
        keras.Input((72, 8)),
        keras.layers.Conv1D(64, 3, activation="relu"),
        keras.layers.MaxPooling1D(2),
        keras.layers.Conv1D(64, 3, activation="relu"),
        keras.layers.MaxPooling1D(2),
        keras.layers.Flatten(),
        keras.layers.RepeatVector(48),
        keras.layers.LSTM(200, return_sequences=True),
        keras.layers.TimeDistributed(keras.layers.Dense(100)),
        keras.layers.TimeDistributed(keras.layers.Dense(1)),
    ])


def _conv_lstm(keras):
    return keras.Sequential([
        keras.Input((3, 1, 24, 8)),
        keras.layers.ConvLSTM2D(64, (1, 3), padding="same"),
        keras.layers.Flatten(),
        keras.layers.RepeatVector(48),
        keras.layers.LSTM(200, return_sequences=True),
        keras.layers.TimeDistributed(keras.layers.Dense(100)),
        keras.layers.TimeDistributed(keras.layers.Dense(1)),
    ])


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("build", [_lstm_encoder_decoder, _cnn_lstm, _conv_lstm])
def test_seed_architectures(build, flavor):
    assert_agrees_with_keras(build, flavor)
