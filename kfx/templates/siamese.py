"""Siamese networks: two inputs through one shared encoder, merged."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import keras

from kfx._validation import check_choice, fail
from kfx.blocks._primitives import block_name
from kfx.templates._graphs import is_graph_model
from kfx.templates._vectors import check_vector
from kfx.templates.heads import Head

MERGES = ("abs_diff", "concat", "cosine", "l2")

#: Norm floor of the cosine and l2 merges. Normalising an all-zero vector has an undefined
#: gradient, and on JAX it is NaN (keras.layers.UnitNormalization and Dot(normalize=True)
#: alike), which happens as soon as a pair holds two equal items. Padding a vector v with
#: constants c = EPSILON / sqrt(features) gives [v, c, ..., c]: same direction (up to
#: EPSILON), squared norm ||v||^2 + EPSILON^2, never zero.
EPSILON = 1e-6


def _floored(x, prefix: str):
    """``[x, c, ..., c]`` whose norm is ``sqrt(||x||^2 + EPSILON^2)``, with core layers only."""
    pad = keras.layers.Rescaling(
        scale=0.0, offset=EPSILON / math.sqrt(x.shape[-1]), name=f"{prefix}_eps"
    )(x)
    return keras.layers.Concatenate(name=f"{prefix}_floored")([x, pad])


def merge_pair(a, b, merge: str, name: str):
    """Merge two (batch, features) tensors; the layers are named ``name + "_..."``."""
    if merge == "abs_diff":  # |a - b| = max(a, b) - min(a, b)
        high = keras.layers.Maximum(name=f"{name}_max")([a, b])
        low = keras.layers.Minimum(name=f"{name}_min")([a, b])
        return keras.layers.Subtract(name=f"{name}_abs_diff")([high, low])
    if merge == "concat":
        return keras.layers.Concatenate(name=f"{name}_concat")([a, b])
    if merge == "cosine":
        a, b = _floored(a, f"{name}_a"), _floored(b, f"{name}_b")
        return keras.layers.Dot(axes=-1, normalize=True, name=f"{name}_cosine")([a, b])
    # l2: ||d|| = d . (d / ||d||), with d floored so that the gradient at a == b is finite.
    diff = _floored(keras.layers.Subtract(name=f"{name}_diff")([a, b]), f"{name}_diff")
    unit = keras.layers.UnitNormalization(axis=-1, name=f"{name}_diff_unit")(diff)
    return keras.layers.Dot(axes=-1, name=f"{name}_l2")([diff, unit])


def siamese(
    encoder: Callable,
    input_shape: Sequence[int | None],
    *,
    merge: str = "abs_diff",
    head: Head | None = None,
    name: str | None = None,
) -> keras.Model:
    """Two inputs through one shared encoder, merged, optionally into a head.

    The encoder's weights are shared between the two branches: a layer or a model is called
    twice; a plain function that creates layers (``lambda x: kfx.blocks.mlp(x)``) is first
    wrapped into one model, ``name + "_encoder"``, so that its layers exist once.

    Args:
        encoder: a Keras layer or model, or a callable building layers, mapping one input to a
            (batch, features) tensor.
        input_shape: shape of one item, without the batch axis.
        merge: ``"abs_diff"`` (|a - b|, features wide), ``"concat"`` ([a, b]), ``"cosine"``
            (cosine similarity, 1 wide) or ``"l2"`` (Euclidean distance, 1 wide).
        head: a :class:`Head` on the merged features (e.g. ``Head("same", 1)``), or None to
            output the merged features.
        name: model name and prefix of the layers the template creates (the inputs are
            ``name + "_a"`` and ``name + "_b"``); unique when None.

    Returns:
        A functional ``keras.Model`` taking ``[a, b]``.

    Raises:
        ValueError: unknown `merge`, `head` not a Head, an `input_shape` the encoder model
            does not take, or an encoder that does not return a (batch, features) tensor.

    Example:
        >>> import keras, numpy as np
        >>> from kfx.templates import Head, siamese
        >>> shared_lstm = keras.layers.LSTM(8)
        >>> model = siamese(shared_lstm, (5, 3), merge="cosine")
        >>> model.predict([np.ones((2, 5, 3)), np.ones((2, 5, 3))], verbose=0).shape
        (2, 1)
        >>> len(model.trainable_weights) == len(shared_lstm.trainable_weights)
        True
    """
    where = "siamese"
    name = block_name(name, where)
    check_choice(where, "merge", merge, MERGES)
    if head is not None and not isinstance(head, Head):
        fail(where, "head", head, "None or a kfx.templates.Head")
    if not callable(encoder):
        fail(where, "encoder", encoder, "a Keras layer or model, or a callable building layers")
    if isinstance(input_shape, int) and not isinstance(input_shape, bool):
        input_shape = (input_shape,)
    try:
        shape = tuple(input_shape)
    except TypeError:
        shape = None
    if not shape or not all(
        d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0) for d in shape
    ):
        fail(where, "input_shape", input_shape, "a non-empty tuple of positive ints or None")
    dtype = None
    if is_graph_model(encoder) and len(encoder.inputs) == 1:
        accepted = tuple(encoder.inputs[0].shape)[1:]
        if len(accepted) != len(shape) or any(
            a is not None and s != a for s, a in zip(shape, accepted, strict=True)
        ):
            fail(where, "input_shape", input_shape, f"the encoder's input shape {accepted}")
        dtype = encoder.inputs[0].dtype

    if not isinstance(encoder, keras.layers.Layer):
        probe = keras.Input(shape, dtype=dtype, name=f"{name}_encoder_input")
        features = encoder(probe)
        check_vector(features, where, "encoder")
        encoder = keras.Model(probe, features, name=f"{name}_encoder")
    a = keras.Input(shape, dtype=dtype, name=f"{name}_a")
    b = keras.Input(shape, dtype=dtype, name=f"{name}_b")
    encoded_a, encoded_b = encoder(a), encoder(b)
    check_vector(encoded_a, where, "encoder")
    x = merge_pair(encoded_a, encoded_b, merge, name)
    if head is not None:
        x = head(x)
    return keras.Model([a, b], x, name=name)
