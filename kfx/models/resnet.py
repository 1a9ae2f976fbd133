"""ResNet (He et al., 2016) assembled from :func:`kfx.blocks.residual`."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from kfx import _validation as v
from kfx.blocks import _primitives as c
from kfx.blocks.conv import conv_bn_act
from kfx.blocks.residual import KINDS, residual
from kfx.models._network import check_stages, finish, network_input
from kfx.models._registry import register_model

#: Stage widths of every standard ResNet (paper, table 1).
STANDARD_WIDTHS = (64, 128, 256, 512)
STEMS = ("imagenet", "small")
#: Where each stage but the first halves the size: on its first block (ResNet paper,
#: keras.applications' V1) or on the last block of the stage before (keras.applications' V2).
DOWNSAMPLES = ("first", "last")


def _stem(x, stem: str, kind: str, options: dict):
    rank = len(x.shape) - 2
    # keras.applications' V2 stem is a plain convolution (with bias): the first block's
    # pre-activation normalises it.
    plain = {"activation": None, "norm": None} if kind == "preact_bottleneck" else {}
    if stem == "small":  # CIFAR-style stem for small images: 3x3, stride 1, no pooling.
        return conv_bn_act(x, STANDARD_WIDTHS[0], 3, name="conv1", **plain, **options)
    # Pad 3 on each side, then a "valid" 7x7 convolution (keras.applications' `conv1_pad`):
    # Keras' "same" would pad 2 before and 3 after, shifting every feature of the network.
    x = conv_bn_act(
        x, STANDARD_WIDTHS[0], 7, strides=2, padding="symmetric", name="conv1", **plain, **options
    )
    # Pad 1 on each side, then a "valid" 3x3 max pool: keras.applications' layout.
    data_format, dtype = options["data_format"], options["dtype"]
    x = c.spatial_pad(x, 3, rank, "pool1_pad", data_format, dtype)
    pool = c.pick(c.MAX_POOL, rank)
    return pool(3, strides=2, name="pool1_pool", **c.layer_options(pool, data_format, dtype))(x)


def _block_strides(depths, downsample: str) -> list[list[int]]:
    """The stride of every block of every stage."""
    last = len(depths) - 1
    if downsample == "first":
        return [[2 if s > 0 and b == 0 else 1 for b in range(d)] for s, d in enumerate(depths)]
    return [[2 if s < last and b == d - 1 else 1 for b in range(d)] for s, d in enumerate(depths)]


def _stages(x, depths, widths, kind: str, downsample: str, se_ratio, drop_path, options):
    """The residual stages; the drop-path rate rises linearly from 0 to `drop_path`."""
    total, index = sum(depths), 0
    strides = _block_strides(depths, downsample)
    for stage, (depth, width) in enumerate(zip(depths, widths, strict=False)):
        for block in range(depth):
            x = residual(
                x,
                width,
                kind=kind,
                strides=strides[stage][block],
                se_ratio=se_ratio,
                drop_path=drop_path * index / max(1, total - 1),
                padding="symmetric",
                name=f"conv{stage + 2}_block{block + 1}",
                **options,
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
    pooling: str | None = None,
    stem: str = "imagenet",
    downsample: str = "first",
    se_ratio: float | None = None,
    drop_path: float = 0.0,
    data_format: str | None = None,
    dtype=None,
    name: str | None = None,
) -> keras.Model:
    """A ResNet: stem, then stages of residual blocks, then average pool and softmax.

    Stage ``i`` has ``depths[i]`` blocks of width ``widths[i]``; every stage but the first
    halves the size (see `downsample`). Layers are named as in keras.applications
    (``conv2_block1_out``, ...) and strided convolutions pad as there, so that its weights
    load (:func:`kfx.models.load_weights`). 1D, 2D or 3D by the length of `input_shape`.

    Args:
        input_shape: shape without the batch axis, e.g. ``(224, 224, 3)``.
        num_classes: classifier width (ignored when `include_top` is False).
        depths: blocks per stage.
        widths: width per stage (bottleneck blocks output 4x that).
        kind: residual block kind: "basic", "bottleneck", "preact" or "preact_bottleneck".
        include_top: add global average pooling and the softmax classifier.
        pooling: without the top: None (the feature map), "avg" or "max" (global pooling).
        stem: "imagenet" (7x7 stride-2 conv and max pool) or "small" (3x3 stride-1 conv).
        downsample: "first" (the first block of a stage is strided) or "last" (the last
            block of the stage before is, as in keras.applications' ResNet50V2).
        se_ratio: squeeze-and-excitation ratio in every block, or None.
        drop_path: stochastic-depth rate of the last block; it rises linearly from 0.
        data_format: "channels_last", "channels_first" or None (the global setting).
        dtype: dtype or dtype policy of every layer (None for the global policy).
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
    v.check_choice(builder, "downsample", downsample, DOWNSAMPLES)
    v.check_rate(builder, "drop_path", drop_path)
    check_stages(builder, depths=depths, widths=widths)
    options = {"data_format": c.data_format(builder, data_format), "dtype": dtype}
    inputs = network_input(input_shape, builder)

    x = _stem(inputs, stem, kind, options)
    x = _stages(x, depths, widths, kind, downsample, se_ratio, drop_path, options)
    if kind.startswith("preact"):  # pre-activation blocks end without norm/activation
        x = c.apply_norm(x, "batch", "post_bn", **options)
        x = c.apply_activation(x, "relu", "post_relu", dtype)
    head = {"pooling": pooling, **options}
    return finish(inputs, x, num_classes, include_top, name or builder, builder, **head)


#: Blocks per stage and block kind of each standard ResNet (ResNet paper, table 1; the V2
#: layouts as keras.applications' ResNet50V2/101V2/152V2).
PRESETS: dict[str, tuple[tuple[int, ...], str]] = {
    "resnet18": ((2, 2, 2, 2), "basic"),
    "resnet34": ((3, 4, 6, 3), "basic"),
    "resnet50": ((3, 4, 6, 3), "bottleneck"),
    "resnet101": ((3, 4, 23, 3), "bottleneck"),
    "resnet152": ((3, 8, 36, 3), "bottleneck"),
    "resnet50v2": ((3, 4, 6, 3), "preact_bottleneck"),
    "resnet101v2": ((3, 4, 23, 3), "preact_bottleneck"),
    "resnet152v2": ((3, 8, 36, 3), "preact_bottleneck"),
}

#: The ImageNet weights keras.applications publishes for a preset: its file stem and the
#: MD5 hashes of the files with and without the classifier (keras/applications/resnet.py).
IMAGENET_FILES: dict[str, tuple[str, str]] = {
    "resnet50": ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    "resnet50v2": ("3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917"),
    "resnet101v2": ("6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5"),
    "resnet152v2": ("a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33"),
}


def _build_preset(preset: str, input_shape: Sequence[int], num_classes: int, kwargs) -> keras.Model:
    """The standard ResNet `preset` (see PRESETS), named after it unless kwargs name it."""
    depths, kind = PRESETS[preset]
    kwargs.setdefault("name", preset)
    if kind == "preact_bottleneck":
        kwargs.setdefault("downsample", "last")
    return resnet(input_shape, num_classes, depths=depths, kind=kind, **kwargs)


def _imagenet(preset: str) -> dict:
    return {"imagenet": (preset, *IMAGENET_FILES[preset])}


@register_model
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


@register_model
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


@register_model(**_imagenet("resnet50"))
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


@register_model(**_imagenet("resnet101"))
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


@register_model(**_imagenet("resnet152"))
def resnet152(input_shape: Sequence[int], num_classes: int, **kwargs) -> keras.Model:
    """ResNet-152: bottleneck blocks, depths (3, 8, 36, 3), widths (64, 128, 256, 512).

    Args:
        input_shape: shape without the batch axis, e.g. ``(224, 224, 3)``.
        num_classes: classifier width.
        **kwargs: the other keyword arguments of :func:`resnet` (default name ``"resnet152"``).

    Returns:
        A functional ``keras.Model`` with 50 bottleneck blocks, keras.applications.ResNet152's
        layout.

    Example:
        >>> import kfx
        >>> kfx.models.resnet152((32, 32, 3), 5).output_shape
        (None, 5)
    """
    return _build_preset("resnet152", input_shape, num_classes, kwargs)


@register_model(**_imagenet("resnet50v2"))
def resnet50v2(input_shape: Sequence[int], num_classes: int, **kwargs) -> keras.Model:
    """ResNet-50 V2: preact_bottleneck blocks, depths (3, 4, 6, 3), widths (64, 128, 256, 512).

    keras.applications.ResNet50V2's layout: pre-activation bottlenecks with the stride on
    the 3x3 convolution of each stage's last block, a plain stem convolution and a final
    batch norm and ReLU (``post_bn``, ``post_relu``).

    Args:
        input_shape: shape without the batch axis, e.g. ``(224, 224, 3)``.
        num_classes: classifier width.
        **kwargs: the other keyword arguments of :func:`resnet` (default name ``"resnet50v2"``).

    Returns:
        A functional ``keras.Model`` with 16 pre-activation bottleneck blocks.

    Example:
        >>> import kfx
        >>> kfx.models.resnet50v2((64, 64, 3), 5).get_layer("post_relu").output.shape
        (None, 2, 2, 2048)
    """
    return _build_preset("resnet50v2", input_shape, num_classes, kwargs)


@register_model(**_imagenet("resnet101v2"))
def resnet101v2(input_shape: Sequence[int], num_classes: int, **kwargs) -> keras.Model:
    """ResNet-101 V2: preact_bottleneck blocks, depths (3, 4, 23, 3), widths (64, 128, 256, 512).

    Args:
        input_shape: shape without the batch axis, e.g. ``(224, 224, 3)``.
        num_classes: classifier width.
        **kwargs: the other keyword arguments of :func:`resnet` (default name
            ``"resnet101v2"``).

    Returns:
        A functional ``keras.Model``, keras.applications.ResNet101V2's layout.

    Example:
        >>> import kfx
        >>> kfx.models.resnet101v2((32, 32, 3), 5).name
        'resnet101v2'
    """
    return _build_preset("resnet101v2", input_shape, num_classes, kwargs)


@register_model(**_imagenet("resnet152v2"))
def resnet152v2(input_shape: Sequence[int], num_classes: int, **kwargs) -> keras.Model:
    """ResNet-152 V2: preact_bottleneck blocks, depths (3, 8, 36, 3), widths (64, 128, 256, 512).

    Args:
        input_shape: shape without the batch axis, e.g. ``(224, 224, 3)``.
        num_classes: classifier width.
        **kwargs: the other keyword arguments of :func:`resnet` (default name
            ``"resnet152v2"``).

    Returns:
        A functional ``keras.Model``, keras.applications.ResNet152V2's layout.

    Example:
        >>> import kfx
        >>> kfx.models.resnet152v2((32, 32, 3), 5).name
        'resnet152v2'
    """
    return _build_preset("resnet152v2", input_shape, num_classes, kwargs)


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
