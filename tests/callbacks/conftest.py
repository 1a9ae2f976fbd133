"""Small models and data the callback tests share."""

import keras
import numpy as np
import pytest


def _small_cnn(name="cnn"):
    inputs = keras.Input((8, 8, 1), name="image")
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = keras.layers.MaxPooling2D(name="pool")(x)
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="probs")(x)
    model = keras.Model(inputs, outputs, name=name)
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def _image_data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 8, 8, 1), dtype=np.float32), rng.integers(0, 3, n)


def _linear_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((64, 4), dtype=np.float32)
    return x, x @ np.array([[1.0], [-2.0], [0.5], [3.0]], np.float32)


def _linear_model(learning_rate=0.05):
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    m.compile(keras.optimizers.SGD(learning_rate), "mse")
    return m


@pytest.fixture
def linear_data():
    """``linear_data(seed=0) -> (x, y)``: 64 samples of a linear map of 4 features."""
    return _linear_data


@pytest.fixture
def linear_model():
    """``linear_model(learning_rate=0.05)``: a compiled 4 -> 1 linear regression (SGD, mse)."""
    return _linear_model


@pytest.fixture
def small_cnn():
    """``small_cnn(name="cnn")``: a compiled 8x8x1 -> 3-class CNN with known layer names."""
    return _small_cnn


@pytest.fixture
def image_data():
    """``image_data(n=32, seed=0) -> (x, y)`` for :func:`small_cnn`."""
    return _image_data
