"""Channel attention: squeeze-and-excitation (Hu et al., 2018)."""

from __future__ import annotations

import keras

from kfx import _validation as v
from kfx.blocks import _primitives as c


def check_se_ratio(block: str, ratio) -> float:
    """The squeeze-and-excitation ratio, in (0, 1]; named `ratio` here, `se_ratio` elsewhere."""
    return v.check_fraction(block, "ratio" if block == "squeeze_excite" else "se_ratio", ratio)


def squeeze_excite(
    x,
    ratio: float = 0.25,
    name: str | None = None,
    *,
    data_format: str | None = None,
    dtype=None,
):
    """Squeeze-and-excitation: rescale each channel by a gate learned from global context.

    Global average pooling (kept as a 1x1 map), a 1x1 convolution down to
    ``max(1, round(channels * ratio))`` channels with ReLU, a 1x1 convolution back to
    `channels` with a sigmoid, and a multiplication with `x`. Core Keras layers only, so
    a model using it loads without kfx; both data formats work.

    Args:
        x: Keras tensor of rank 3, 4 or 5 with a known channel count.
        ratio: bottleneck width as a fraction of the channels, in (0, 1].
        name: prefix of the layers' names; a fresh unique prefix when None.
        data_format: "channels_last", "channels_first" or None (the global setting).
        dtype: dtype or dtype policy of every layer (None for the global policy).

    Returns:
        Keras tensor of the shape of `x`.

    Example:
        >>> import keras, kfx
        >>> x = keras.Input((8, 8, 32))
        >>> tuple(kfx.blocks.squeeze_excite(x, 0.25, name="se").shape)
        (None, 8, 8, 32)
    """
    block = "squeeze_excite"
    name = c.block_name(name, block)
    data_format = c.data_format(block, data_format)
    rank = c.spatial_rank(x, block, data_format=data_format)
    check_se_ratio(block, ratio)
    channels = c.channels(x, block, data_format)
    hidden = max(1, round(channels * ratio))
    conv, pool = c.pick(c.CONV, rank), c.pick(c.GLOBAL_AVG_POOL, rank)
    options = c.layer_options(conv, data_format, dtype)
    s = pool(keepdims=True, name=name + "_squeeze", **c.layer_options(pool, data_format, dtype))(x)
    s = conv(hidden, 1, activation="relu", name=name + "_reduce", **options)(s)
    s = conv(channels, 1, activation="sigmoid", name=name + "_expand", **options)(s)
    return keras.layers.Multiply(name=name + "_excite", dtype=dtype)([x, s])
