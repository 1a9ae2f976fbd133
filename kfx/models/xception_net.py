"""A small Xception network for examples and searches."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from kfx import _validation as v
from kfx.blocks import _primitives as c
from kfx.blocks.conv import conv_bn_act, separable
from kfx.blocks.xception import xception
from kfx.models._network import check_stages, finish, network_input
from kfx.models._registry import register_model


@register_model
def xception_net(
    input_shape: Sequence[int],
    num_classes: int,
    *,
    stem_filters: int = 32,
    widths: Sequence[int] = (64, 128),
    middle_blocks: int = 1,
    include_top: bool = True,
    pooling: str | None = None,
    data_format: str | None = None,
    dtype=None,
    name: str = "xception_net",
) -> keras.Model:
    """Xception's three flows, scaled down.

    Entry flow: a stem conv and one stride-2 Xception block per width; middle flow:
    `middle_blocks` identity-shortcut blocks of three separable convs; exit flow: a
    separable conv to twice the last width.

    Args:
        input_shape: shape without the batch axis.
        num_classes: classifier width.
        stem_filters: channels of the stem convolution.
        widths: output channels of the entry-flow blocks.
        middle_blocks: number of middle-flow blocks (0 for none).
        include_top: add global average pooling and the softmax classifier.
        pooling: without the top: None (the feature map), "avg" or "max" (global pooling).
        data_format: "channels_last", "channels_first" or None (the global setting).
        dtype: dtype or dtype policy of every layer (None for the global policy).
        name: model name.

    Example:
        >>> import kfx
        >>> kfx.models.xception_net((32, 32, 3), 10).output_shape
        (None, 10)
    """
    builder = "xception_net"
    v.check_positive_int(builder, "stem_filters", stem_filters)
    v.check_int(builder, "middle_blocks", middle_blocks, minimum=0)
    check_stages(builder, widths=widths)
    options = {"data_format": c.data_format(builder, data_format), "dtype": dtype}
    inputs = network_input(input_shape, builder)

    x = conv_bn_act(inputs, stem_filters, 3, name="stem", **options)
    for i, width in enumerate(widths, start=1):
        x = xception(x, width, strides=2, name=f"entry{i}", **options)
    for i in range(1, middle_blocks + 1):
        x = xception(x, widths[-1], strides=1, repeats=3, name=f"middle{i}", **options)
    x = separable(x, 2 * widths[-1], name="exit", **options)
    return finish(inputs, x, num_classes, include_top, name, builder, pooling=pooling, **options)
