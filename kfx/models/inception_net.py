"""A small Inception network (GoogLeNet-style) for examples and searches."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from kfx import _validation as v
from kfx.blocks import _primitives as c
from kfx.blocks.conv import conv_bn_act
from kfx.blocks.inception import inception
from kfx.models._network import check_stages, finish, network_input
from kfx.models._registry import register_model

#: A module of width ``w`` splits it 4:8:2:2 over its branches with 1/16-wide 5x5 reductions
#: (GoogLeNet's inception(3a)), so every width is a multiple of this.
WIDTH_MULTIPLE = 16


def check_widths(
    where: str, widths: int | Sequence[int], arg: str = "widths"
) -> int | Sequence[int]:
    """Every width in `widths` (one int or a sequence of ints) is a multiple of WIDTH_MULTIPLE.

    Returns `widths` unchanged; the error shows it as given.

    Example:
        >>> from kfx.models.inception_net import check_widths
        >>> check_widths("inception_net", (32, 64))
        (32, 64)
        >>> check_widths("inception_net", (24,))
        Traceback (most recent call last):
        ...
        ValueError: inception_net: argument `widths` got (24,); expected multiples of 16 ...
    """
    values = (widths,) if isinstance(widths, int) else widths
    if any(width % WIDTH_MULTIPLE for width in values):
        accepted = f"multiples of {WIDTH_MULTIPLE} (each module splits its width 4:8:2:2)"
        v.fail(where, arg, widths, accepted)
    return widths


@register_model
def inception_net(
    input_shape: Sequence[int],
    num_classes: int,
    *,
    stem_filters: int = 32,
    widths: Sequence[int] = (64, 128),
    blocks_per_stage: int = 1,
    include_top: bool = True,
    pooling: str | None = None,
    data_format: str | None = None,
    dtype=None,
    name: str = "inception_net",
) -> keras.Model:
    """Stem conv, then stages of Inception modules separated by stride-2 max pools.

    A module of width ``w`` splits it as GoogLeNet's inception(3a) does: 1x1 ``w/4``,
    3x3 ``w/2`` (reduce ``w/4``), 5x5 ``w/8`` (reduce ``w/16``), pool projection ``w/8``.

    Args:
        input_shape: shape without the batch axis.
        num_classes: classifier width.
        stem_filters: channels of the stem convolution.
        widths: output channels of the modules of each stage (multiples of 16).
        blocks_per_stage: Inception modules per stage.
        include_top: add global average pooling and the softmax classifier.
        pooling: without the top: None (the feature map), "avg" or "max" (global pooling).
        data_format: "channels_last", "channels_first" or None (the global setting).
        dtype: dtype or dtype policy of every layer (None for the global policy).
        name: model name.

    Example:
        >>> import kfx
        >>> kfx.models.inception_net((32, 32, 3), 10).output_shape
        (None, 10)
    """
    builder = "inception_net"
    v.check_positive_int(builder, "stem_filters", stem_filters)
    v.check_positive_int(builder, "blocks_per_stage", blocks_per_stage)
    check_stages(builder, widths=widths)
    check_widths(builder, tuple(widths))
    data_format = c.data_format(builder, data_format)
    options = {"data_format": data_format, "dtype": dtype}
    inputs = network_input(input_shape, builder)
    rank = len(inputs.shape) - 2
    pool = c.pick(c.MAX_POOL, rank)

    x = conv_bn_act(inputs, stem_filters, 3, name="stem", **options)
    for stage, width in enumerate(widths, start=1):
        if stage > 1:
            pool_options = c.layer_options(pool, data_format, dtype)
            x = pool(3, strides=2, padding="same", name=f"pool{stage}", **pool_options)(x)
        for block in range(1, blocks_per_stage + 1):
            x = inception(
                x,
                b1x1=width // 4,
                b3x3=width // 2,
                b3x3_reduce=width // 4,
                b5x5=width // 8,
                b5x5_reduce=width // 16,
                pool_proj=width // 8,
                name=f"inception{stage}_{block}",
                **options,
            )
    return finish(inputs, x, num_classes, include_top, name, builder, pooling=pooling, **options)
