"""Multi-layer perceptron block."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from kfx import _validation as v
from kfx.blocks import _primitives as c


def mlp(
    x,
    units: int | Sequence[int] = (256, 128),
    *,
    activation="relu",
    dropout: float = 0.0,
    norm: str | None = None,
    name: str | None = None,
    dtype=None,
):
    """A stack of Dense, [norm], activation, [dropout] layers.

    Args:
        x: Keras tensor of rank >= 2 (features on the last axis).
        units: width of each Dense layer (an int for one layer).
        activation: a keras activation name, a callable or None.
        dropout: dropout rate after each activation.
        norm: "batch", "layer" or None, after each Dense.
        name: prefix of the layers' names (``name + "_1_dense"``, ...); unique when None.
        dtype: dtype or dtype policy of every layer (None for the global policy).

    Returns:
        Keras tensor with ``units[-1]`` features.

    Example:
        >>> import keras, kfx
        >>> x = keras.Input((784,))
        >>> tuple(kfx.blocks.mlp(x, (64, 32), dropout=0.1).shape)
        (None, 32)
    """
    block = "mlp"
    name = c.block_name(name, block)
    c.check_feature_tensor(x, block)
    widths = (units,) if isinstance(units, int) and not isinstance(units, bool) else units
    if not isinstance(widths, Sequence) or not widths:
        v.fail(block, "units", units, "a positive int or a non-empty sequence of positive ints")
    for width in widths:
        v.check_positive_int(block, "units", width)
    c.check_activation(block, activation)
    v.check_rate(block, "dropout", dropout)
    v.check_choice(block, "norm", norm, c.NORMS)

    for i, width in enumerate(widths, start=1):
        x = keras.layers.Dense(width, use_bias=norm is None, name=f"{name}_{i}_dense", dtype=dtype)(
            x
        )
        x = c.apply_norm(x, norm, f"{name}_{i}_norm", axis=-1, dtype=dtype)
        x = c.apply_activation(x, activation, f"{name}_{i}_act", dtype)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"{name}_{i}_dropout", dtype=dtype)(x)
    return x
