"""The check that a template's encoder or member gives (batch, features) vectors.

Templates merge their parts' outputs (concatenate, average, compare) and feed them to dense
heads, which only makes sense for flat feature vectors; an image-shaped output is caught here,
with the fix in the message, instead of as a shape error deep inside Keras.

Example:
    >>> import keras
    >>> from kfx.templates._vectors import check_vector
    >>> check_vector(keras.Input((8,)), "siamese", "encoder")  # (None, 8): accepted
    >>> check_vector(keras.Input((4, 4, 3)), "siamese", "encoder")
    Traceback (most recent call last):
    ...
    ValueError: siamese: argument `encoder` got 'output of shape (None, 4, 4, 3)'; expected a (batch, features) tensor: end it with Flatten or a global pooling layer.
"""

from __future__ import annotations

from typing import Any

from kfx._validation import fail


def check_vector(tensor: Any, where: str, what: str) -> None:
    """`tensor` must be (batch, features): the templates merge and feed vectors."""
    if not hasattr(tensor, "shape") or len(tensor.shape) != 2:
        shape = tuple(tensor.shape) if hasattr(tensor, "shape") else type(tensor).__name__
        fail(
            where,
            what,
            f"output of shape {shape}",
            "a (batch, features) tensor: end it with Flatten or a global pooling layer",
        )
