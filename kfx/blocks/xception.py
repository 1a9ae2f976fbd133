"""Xception block (Chollet, 2017): separable convolutions with a residual connection."""

from __future__ import annotations

import keras

from kfx import _validation as v
from kfx.blocks import _primitives as c
from kfx.blocks.conv import conv_bn_act, separable


def xception(
    x,
    filters: int,
    *,
    strides: int = 2,
    repeats: int = 2,
    name: str | None = None,
    data_format: str | None = None,
    dtype=None,
):
    """``repeats`` x (ReLU, separable conv, BN), a max pool when strided, plus a shortcut.

    This is the entry/middle-flow block of Xception: with ``strides=2`` the main path ends in
    a 3x3 max pool with stride 2 and the shortcut is a strided 1x1 projection; with
    ``strides=1`` and unchanged channels the shortcut is the identity.

    Args:
        x: Keras tensor of rank 3, 4 or 5.
        filters: output channels.
        strides: downsampling factor of the block.
        repeats: number of separable convolutions.
        name: prefix of the layers' names; a fresh unique prefix when None.
        data_format: "channels_last", "channels_first" or None (the global setting).
        dtype: dtype or dtype policy of every layer (None for the global policy).

    Returns:
        Keras tensor with `filters` channels.

    Example:
        >>> import keras, kfx
        >>> x = keras.Input((32, 32, 64))
        >>> tuple(kfx.blocks.xception(x, 128, name="entry2").shape)
        (None, 16, 16, 128)
    """
    block = "xception"
    name = c.block_name(name, block)
    data_format = c.data_format(block, data_format)
    rank = c.spatial_rank(x, block, data_format=data_format)
    v.check_positive_int(block, "filters", filters)
    v.check_positive_int(block, "strides", strides)
    v.check_positive_int(block, "repeats", repeats)
    options = {"data_format": data_format, "dtype": dtype}

    identity = strides == 1 and c.channels(x, block, data_format) == filters
    shortcut = x
    if not identity:
        shortcut = conv_bn_act(x, filters, 1, strides, None, name=name + "_proj", **options)
    y = x
    for i in range(1, repeats + 1):
        y = keras.layers.Activation("relu", name=f"{name}_{i}_relu", dtype=dtype)(y)
        y = separable(y, filters, activation=None, name=f"{name}_{i}", **options)
    if strides > 1:
        pool = c.pick(c.MAX_POOL, rank)
        pool_options = c.layer_options(pool, data_format, dtype)
        y = pool(3, strides=strides, padding="same", name=name + "_pool", **pool_options)(y)
    return keras.layers.Add(name=name + "_add", dtype=dtype)([shortcut, y])
