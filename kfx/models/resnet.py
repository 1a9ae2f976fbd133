"""ResNet (He et al., 2016) assembled from :func:`kfx.blocks.residual`."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from kfx import _validation as v
from kfx.blocks import _primitives as c
from kfx.blocks.conv import conv_bn_act
from kfx.blocks.residual import KINDS, residual
from kfx.models._network import check_stages, finish, network_input

#: Stage widths of every standard ResNet (paper, table 1).
STANDARD_WIDTHS = (64, 128, 256, 512)
STEMS = ("imagenet", "small")


def _stem(x, stem: str):
    rank = len(x.shape) - 2
    if stem == "small":  # CIFAR-style stem for small images: 3x3, stride 1, no pooling.
        return conv_bn_act(x, STANDARD_WIDTHS[0], 3, name="conv1")
    x = conv_bn_act(x, STANDARD_WIDTHS[0], 7, strides=2, name="conv1")
    return c.pick(c.MAX_POOL, rank)(3, strides=2, padding="same", name="pool1")(x)


def _stages(x, depths, widths, kind: str, se_ratio, drop_path: float):
    """The residual stages; the drop-path rate rises linearly from 0 to `drop_path`."""
    total, index = sum(depths), 0
    for stage, (depth, width) in enumerate(zip(depths, widths, strict=False)):
        for block in range(depth):
            x = residual(
                x,
                width,
                kind=kind,
                strides=2 if stage > 0 and block == 0 else 1,
                se_ratio=se_ratio,
                drop_path=drop_path * index / max(1, total - 1),
                name=f"conv{stage + 2}_block{block + 1}",
            )
            index += 1
    return x


def resnet(
    input_shape: Sequence[int],
    num_classes: int,
    *,
    depths: Sequence[int],
    widths: Sequence[int] = STANDARD_WIDTHS,
    kind: str = "bottleneck",
    include_top: bool = True,
    stem: str = "imagenet",
    se_ratio: float | None = None,
    drop_path: float = 0.0,
    name: str | None = None,
) -> keras.Model:
    """A ResNet: stem, then stages of residual blocks, then average pool and softmax.

    Stage ``i`` has ``depths[i]`` blocks of width ``widths[i]``; every stage but the first
    starts with a stride-2 block. Layers are named as in keras.applications
    (``conv2_block1_out``, ...). 1D, 2D or 3D by the length of `input_shape`.

    Args:
        input_shape: shape without the batch axis, e.g. ``(224, 224, 3)``.
        num_classes: classifier width (ignored when `include_top` is False).
        depths: blocks per stage.
        widths: width per stage (bottleneck blocks output 4x that).
        kind: residual block kind: "basic", "bottleneck" or "preact".
        include_top: add global average pooling and the softmax classifier.
        stem: "imagenet" (7x7 stride-2 conv and max pool) or "small" (3x3 stride-1 conv).
        se_ratio: squeeze-and-excitation ratio in every block, or None.
        drop_path: stochastic-depth rate of the last block; it rises linearly from 0.
        name: model name (default ``"resnet"``).

    Returns:
        A functional ``keras.Model``.

    Example:
        >>> import kfx
        >>> model = kfx.models.resnet((32, 32, 3), 10, depths=(1, 1), widths=(16, 32),
        ...                           kind="basic", stem="small")
        >>> model.output_shape
        (None, 10)
    """
    builder = "resnet"
    v.check_choice(builder, "kind", kind, KINDS)
    v.check_choice(builder, "stem", stem, STEMS)
    v.check_rate(builder, "drop_path", drop_path)
    check_stages(builder, depths=depths, widths=widths)
    inputs = network_input(input_shape, builder)

    x = _stages(_stem(inputs, stem), depths, widths, kind, se_ratio, drop_path)
    if kind == "preact":  # pre-activation blocks end without norm/activation
        x = c.apply_activation(c.apply_norm(x, "batch", "post_bn"), "relu", "post_relu")
    return finish(inputs, x, num_classes, include_top, name or builder, builder)


#: Blocks per stage and block kind of each standard ResNet (ResNet paper, table 1).
PRESETS: dict[str, tuple[tuple[int, ...], str]] = {
    "resnet18": ((2, 2, 2, 2), "basic"),
    "resnet34": ((3, 4, 6, 3), "basic"),
    "resnet50": ((3, 4, 6, 3), "bottleneck"),
    "resnet101": ((3, 4, 23, 3), "bottleneck"),
}


def _build_preset(preset: str, input_shape: Sequence[int], num_classes: int, kwargs) -> keras.Model:
    """The standard ResNet `preset` (see PRESETS), named after it unless kwargs name it."""
    depths, kind = PRESETS[preset]
    kwargs.setdefault("name", preset)
    return resnet(input_shape, num_classes, depths=depths, kind=kind, **kwargs)


def resnet18(input_shape: Sequence[int], num_classes: int, **kwargs) -> keras.Model:
    """ResNet-18: basic blocks, depths (2, 2, 2, 2), widths (64, 128, 256, 512).

    Args:
        input_shape: shape without the batch axis, e.g. ``(224, 224, 3)``.
        num_classes: classifier width.
        **kwargs: the other keyword arguments of :func:`resnet` (``widths``, ``include_top``,
            ``stem``, ``se_ratio``, ``drop_path``, ``name``; default name ``"resnet18"``).

    Returns:
        A functional ``keras.Model`` with 8 basic blocks.

    Example:
        >>> import kfx
        >>> kfx.models.resnet18((64, 64, 3), 5).output_shape
        (None, 5)
    """
    return _build_preset("resnet18", input_shape, num_classes, kwargs)


def resnet34(input_shape: Sequence[int], num_classes: int, **kwargs) -> keras.Model:
    """ResNet-34: basic blocks, depths (3, 4, 6, 3), widths (64, 128, 256, 512).

    Args:
        input_shape: shape without the batch axis, e.g. ``(224, 224, 3)``.
        num_classes: classifier width.
        **kwargs: the other keyword arguments of :func:`resnet` (default name ``"resnet34"``).

    Returns:
        A functional ``keras.Model`` with 16 basic blocks.

    Example:
        >>> import kfx
        >>> kfx.models.resnet34((32, 32, 3), 10, stem="small").name
        'resnet34'
    """
    return _build_preset("resnet34", input_shape, num_classes, kwargs)


def resnet50(input_shape: Sequence[int], num_classes: int, **kwargs) -> keras.Model:
    """ResNet-50: bottleneck blocks, depths (3, 4, 6, 3), widths (64, 128, 256, 512).

    The blocks output four times their width, so the classifier sees 2048 channels.

    Args:
        input_shape: shape without the batch axis, e.g. ``(224, 224, 3)``.
        num_classes: classifier width.
        **kwargs: the other keyword arguments of :func:`resnet` (default name ``"resnet50"``).

    Returns:
        A functional ``keras.Model`` with 16 bottleneck blocks.

    Example:
        >>> import kfx
        >>> tuple(kfx.models.resnet50((64, 64, 3), 5).get_layer("predictions").kernel.shape)
        (2048, 5)
    """
    return _build_preset("resnet50", input_shape, num_classes, kwargs)


def resnet101(input_shape: Sequence[int], num_classes: int, **kwargs) -> keras.Model:
    """ResNet-101: bottleneck blocks, depths (3, 4, 23, 3), widths (64, 128, 256, 512).

    Args:
        input_shape: shape without the batch axis, e.g. ``(224, 224, 3)``.
        num_classes: classifier width.
        **kwargs: the other keyword arguments of :func:`resnet` (default name ``"resnet101"``).

    Returns:
        A functional ``keras.Model`` with 33 bottleneck blocks.

    Example:
        >>> import kfx
        >>> headless = kfx.models.resnet101((64, 64, 3), 5, include_top=False)
        >>> headless.output_shape
        (None, 2, 2, 2048)
    """
    return _build_preset("resnet101", input_shape, num_classes, kwargs)


def ResNet50(  # noqa: N802 - named after keras.applications.ResNet50
    input_shape: Sequence[int] = (224, 224, 3),
    num_classes: int = 1000,
    *,
    include_top: bool = True,
    name: str | None = None,
) -> keras.Model:
    """ResNet-50 laid out as ``keras.applications.ResNet50(weights=None)``.

    Same stages, strides (on the first 1x1 conv of a bottleneck), layer names and softmax
    classifier; convolutions followed by batch norm carry no bias, so it has 25,610,152
    parameters against keras.applications' 25,636,712 (0.10% fewer).

    Example:
        >>> import kfx
        >>> kfx.models.ResNet50(num_classes=10).count_params()
        23581642
    """
    return resnet50(input_shape, num_classes, include_top=include_top, name=name or "resnet50")
