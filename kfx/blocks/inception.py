"""Inception module (Szegedy et al., 2015, "Going deeper with convolutions", figure 2b)."""

from __future__ import annotations

import keras

from kfx import _validation as v
from kfx.blocks import _primitives as c
from kfx.blocks.conv import conv_bn_act


def _branch(x, reduce, filters, kernel_size, name, options):
    if reduce is not None:
        x = conv_bn_act(x, reduce, 1, name=name + "_reduce", **options)
    return conv_bn_act(x, filters, kernel_size, name=name, **options)


def inception(
    x,
    *,
    b1x1: int,
    b3x3: int,
    b5x5: int,
    pool_proj: int,
    b3x3_reduce: int | None = None,
    b5x5_reduce: int | None = None,
    name: str | None = None,
    data_format: str | None = None,
    dtype=None,
):
    """Four parallel branches concatenated on the channel axis.

    Branches: 1x1 conv; [1x1 reduce] + 3x3 conv; [1x1 reduce] + 5x5 conv; 3x3 max pool +
    1x1 projection. Every conv is conv + batch norm + ReLU. Spatial size is kept.

    Args:
        x: Keras tensor of rank 3, 4 or 5.
        b1x1, b3x3, b5x5, pool_proj: output channels of each branch.
        b3x3_reduce, b5x5_reduce: channels of the 1x1 reductions; None skips them.
        name: prefix of the layers' names; a fresh unique prefix when None.
        data_format: "channels_last", "channels_first" or None (the global setting).
        dtype: dtype or dtype policy of every layer (None for the global policy).

    Returns:
        Keras tensor with ``b1x1 + b3x3 + b5x5 + pool_proj`` channels.

    Example:
        >>> import keras, kfx
        >>> x = keras.Input((28, 28, 192))
        >>> y = kfx.blocks.inception(x, b1x1=64, b3x3=128, b5x5=32, pool_proj=32,
        ...                          b3x3_reduce=96, b5x5_reduce=16, name="inc3a")
        >>> tuple(y.shape)
        (None, 28, 28, 256)
    """
    block = "inception"
    name = c.block_name(name, block)
    data_format = c.data_format(block, data_format)
    rank = c.spatial_rank(x, block, data_format=data_format)
    options = {"data_format": data_format, "dtype": dtype}
    sizes = dict(b1x1=b1x1, b3x3=b3x3, b5x5=b5x5, pool_proj=pool_proj)
    for arg, value in sizes.items():
        v.check_positive_int(block, arg, value)
    for arg, value in dict(b3x3_reduce=b3x3_reduce, b5x5_reduce=b5x5_reduce).items():
        if value is not None:
            v.check_positive_int(block, arg, value)

    pool = c.pick(c.MAX_POOL, rank)
    pool_options = c.layer_options(pool, data_format, dtype)
    pooled = pool(3, strides=1, padding="same", name=name + "_pool", **pool_options)(x)
    branches = [
        conv_bn_act(x, b1x1, 1, name=name + "_1x1", **options),
        _branch(x, b3x3_reduce, b3x3, 3, name + "_3x3", options),
        _branch(x, b5x5_reduce, b5x5, 5, name + "_5x5", options),
        conv_bn_act(pooled, pool_proj, 1, name=name + "_pool_proj", **options),
    ]
    axis = c.channel_axis(data_format)
    return keras.layers.Concatenate(axis=axis, name=name + "_concat", dtype=dtype)(branches)
