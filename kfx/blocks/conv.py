"""Convolution blocks: conv + norm + activation, and depthwise-separable convolution."""

from __future__ import annotations

import keras

from kfx import _validation as v
from kfx.blocks import _primitives as c


def _check_conv_args(block: str, filters, kernel_size, strides, activation) -> None:
    v.check_positive_int(block, "filters", filters)
    v.check_positive_int(block, "kernel_size", kernel_size)
    v.check_positive_int(block, "strides", strides)
    c.check_activation(block, activation)


def conv_bn_act(
    x,
    filters: int,
    kernel_size: int = 3,
    strides: int = 1,
    activation="relu",
    norm: str | None = "batch",
    name: str | None = None,
    *,
    padding: str = "same",
    data_format: str | None = None,
    dtype=None,
):
    """Convolution, then normalization, then activation: the triple every CNN repeats.

    The convolution is 1D, 2D or 3D by the rank of `x` (3, 4 or 5). It has no bias when a
    norm follows it. With ``padding="symmetric"`` a strided convolution pads
    ``kernel_size // 2`` on each side (a ``name + "_pad"`` layer) instead of Keras' "same"
    (which puts the odd row at the end): the layout of keras.applications and PyTorch, so
    their weights give the same outputs. Output shapes are those of "same" for odd kernels.

    Args:
        x: Keras tensor of rank 3, 4 or 5.
        filters: output channels.
        kernel_size: square/cubic kernel size.
        strides: stride on every spatial axis.
        activation: a keras activation name, a callable or None.
        norm: "batch", "layer" or None.
        name: prefix of the layers' names (``name + "_conv"``, ``"_bn"``, ``"_act"``);
            a fresh unique prefix when None.
        padding: "same" or "symmetric" (see above).
        data_format: "channels_last" or "channels_first"; None for
            ``keras.config.image_data_format()``.
        dtype: dtype or dtype policy of every layer (None for the global policy).

    Returns:
        Keras tensor with `filters` channels.

    Example:
        >>> import keras, kfx
        >>> x = keras.Input((32, 32, 3))
        >>> y = kfx.blocks.conv_bn_act(x, 16, strides=2, name="stem")
        >>> tuple(y.shape)
        (None, 16, 16, 16)
    """
    block = "conv_bn_act"
    name = c.block_name(name, block)
    data_format = c.data_format(block, data_format)
    rank = c.spatial_rank(x, block, data_format=data_format)
    _check_conv_args(block, filters, kernel_size, strides, activation)
    v.check_choice(block, "norm", norm, c.NORMS)
    v.check_choice(block, "padding", padding, c.PADDINGS)
    conv_padding = "same"
    if padding == "symmetric" and strides > 1 and kernel_size > 1:
        x = c.spatial_pad(x, kernel_size, rank, name + "_pad", data_format, dtype)
        conv_padding = "valid"
    layer = c.pick(c.CONV, rank)
    x = layer(
        filters,
        kernel_size,
        strides=strides,
        padding=conv_padding,
        use_bias=norm is None,
        name=name + "_conv",
        **c.layer_options(layer, data_format, dtype),
    )(x)
    x = c.apply_norm(x, norm, name + "_bn", data_format=data_format, dtype=dtype)
    return c.apply_activation(x, activation, name + "_act", dtype)


def _separable_conv(
    x, filters: int, kernel_size: int, strides: int, rank: int, name: str, data_format, dtype
):
    """SeparableConv1D/2D; for 3D (which Keras lacks) a grouped depthwise Conv3D + 1x1 Conv3D."""
    if rank < 3:
        layer = (keras.layers.SeparableConv1D, keras.layers.SeparableConv2D)[rank - 1]
        return layer(
            filters,
            kernel_size,
            strides=strides,
            padding="same",
            use_bias=False,
            name=name,
            **c.layer_options(layer, data_format, dtype),
        )(x)
    channels = c.channels(x, "separable", data_format)
    options = c.layer_options(keras.layers.Conv3D, data_format, dtype)
    x = keras.layers.Conv3D(
        channels,
        kernel_size,
        strides=strides,
        padding="same",
        groups=channels,
        use_bias=False,
        name=name + "_depthwise",
        **options,
    )(x)
    return keras.layers.Conv3D(filters, 1, use_bias=False, name=name + "_pointwise", **options)(x)


def separable(
    x,
    filters: int,
    *,
    kernel_size: int = 3,
    strides: int = 1,
    activation="relu",
    name: str | None = None,
    data_format: str | None = None,
    dtype=None,
):
    """Depthwise-separable convolution, batch norm and activation.

    Args:
        x: Keras tensor of rank 3, 4 or 5.
        filters: output channels.
        kernel_size: depthwise kernel size.
        strides: stride on every spatial axis.
        activation: a keras activation name, a callable or None.
        name: prefix of the layers' names; a fresh unique prefix when None.
        data_format: "channels_last", "channels_first" or None (the global setting).
        dtype: dtype or dtype policy of every layer (None for the global policy).

    Returns:
        Keras tensor with `filters` channels.

    Example:
        >>> import keras, kfx
        >>> x = keras.Input((32, 32, 8))
        >>> tuple(kfx.blocks.separable(x, 16, strides=2).shape)
        (None, 16, 16, 16)
    """
    block = "separable"
    name = c.block_name(name, block)
    data_format = c.data_format(block, data_format)
    rank = c.spatial_rank(x, block, data_format=data_format)
    _check_conv_args(block, filters, kernel_size, strides, activation)
    x = _separable_conv(
        x, filters, kernel_size, strides, rank, name + "_sepconv", data_format, dtype
    )
    x = c.apply_norm(x, "batch", name + "_bn", data_format=data_format, dtype=dtype)
    return c.apply_activation(x, activation, name + "_act", dtype)
