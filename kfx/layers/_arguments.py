"""Keras-object arguments of the kfx layers: data formats, activations, initializers.

Each resolves an argument the way Keras does and fails in kfx's one error format
(:func:`kfx._validation.fail`) when Keras cannot.
"""

from __future__ import annotations

from typing import Any

import keras

from kfx._validation import fail

DATA_FORMATS = ("channels_last", "channels_first")


def check_data_format(layer: str, value: Any) -> str:
    """``None`` means ``keras.config.image_data_format()``; the result is always explicit."""
    if value is None:
        return keras.config.image_data_format()
    if value not in DATA_FORMATS:
        fail(layer, "data_format", value, "None, 'channels_last' or 'channels_first'")
    return value


def get_activation(layer: str, value: Any):
    """``keras.activations.get(value)``, with kfx's error for an unknown name."""
    if value is not None and not callable(value) and not isinstance(value, (str, dict)):
        fail(layer, "activation", value, "None, a callable or a keras.activations name")
    try:
        return keras.activations.get(value)
    except (ValueError, TypeError):
        fail(layer, "activation", value, "None, a callable or a keras.activations name")


def get_initializer(layer: str, arg: str, value: Any):
    try:
        return keras.initializers.get(value)
    except (ValueError, TypeError):
        fail(layer, arg, value, "a keras.initializers name, instance or config")
