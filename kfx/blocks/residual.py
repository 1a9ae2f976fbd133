"""Residual blocks (He et al., 2016): basic, bottleneck and pre-activation, and a dense one."""

from __future__ import annotations

import keras

from kfx import _validation as v
from kfx.blocks import _primitives as c
from kfx.blocks.attention import check_se_ratio, squeeze_excite
from kfx.blocks.conv import conv_bn_act

KINDS = ("basic", "bottleneck", "preact", "preact_bottleneck")

#: Output channels of a bottleneck block per unit of `filters` (ResNet paper, table 1).
BOTTLENECK_EXPANSION = 4


def _output_channels(kind: str, filters: int) -> int:
    return BOTTLENECK_EXPANSION * filters if kind.endswith("bottleneck") else filters


def _branch(x, kind, filters, kernel_size, strides, activation, name, options):
    """The residual branch, ending without activation. Layer names follow keras.applications."""
    out = _output_channels(kind, filters)
    if kind == "basic":
        y = conv_bn_act(x, filters, kernel_size, strides, activation, name=name + "_1", **options)
        return conv_bn_act(y, filters, kernel_size, 1, None, name=name + "_2", **options)
    if kind == "bottleneck":
        # The stride sits on the first 1x1 convolution, as in keras.applications.ResNet50.
        y = conv_bn_act(x, filters, 1, strides, activation, name=name + "_1", **options)
        y = conv_bn_act(y, filters, kernel_size, 1, activation, name=name + "_2", **options)
        return conv_bn_act(y, out, 1, 1, None, name=name + "_3", **options)
    if kind == "preact_bottleneck":
        # keras.applications.ResNet50V2: the stride sits on the KxK convolution and the
        # last 1x1 convolution has a bias and no norm (the next block's pre-activation).
        y = conv_bn_act(x, filters, 1, 1, activation, name=name + "_1", **options)
        y = conv_bn_act(y, filters, kernel_size, strides, activation, name=name + "_2", **options)
        return conv_bn_act(y, out, 1, 1, None, norm=None, name=name + "_3", **options)
    # preact: x is already normalized and activated; BN-act sits inside, none at the end.
    y = conv_bn_act(x, filters, kernel_size, strides, activation, name=name + "_1", **options)
    return conv_bn_act(y, filters, kernel_size, 1, None, norm=None, name=name + "_2", **options)


def _shortcut(x, preact, identity: bool, kind, out_channels, strides, name, options):
    """Identity, a strided subsampling (pre-activation bottleneck) or a 1x1 projection."""
    if identity:
        return x
    if kind == "preact_bottleneck" and c.channels(x, "residual", options["data_format"]) == (
        out_channels
    ):
        # keras.applications' V2 subsamples the un-normalized input with a 1x1 max pool.
        pool = c.pick(c.MAX_POOL, len(x.shape) - 2)
        layer_options = c.layer_options(pool, options["data_format"], options["dtype"])
        return pool(1, strides=strides, name=name + "_0_pool", **layer_options)(x)
    norm = None if kind.startswith("preact") else "batch"
    return conv_bn_act(preact, out_channels, 1, strides, None, norm, name + "_0", **options)


def _check_residual_args(block, kind, filters, kernel_size, strides, activation, drop_path):
    v.check_choice(block, "kind", kind, KINDS)
    v.check_positive_int(block, "filters", filters)
    v.check_positive_int(block, "kernel_size", kernel_size)
    v.check_positive_int(block, "strides", strides)
    c.check_activation(block, activation)
    v.check_rate(block, "drop_path", drop_path)


# Over 60 lines for its docstring alone, which documents the kinds where help() shows them.
def residual(
    x,
    filters: int,
    *,
    kernel_size: int = 3,
    strides: int = 1,
    kind: str = "basic",
    activation="relu",
    se_ratio: float | None = None,
    drop_path: float = 0.0,
    padding: str = "same",
    name: str | None = None,
    data_format: str | None = None,
    dtype=None,
):
    """A residual block: ``out = act(shortcut(x) + branch(x))``.

    The shortcut is the identity when the branch keeps the shape (``strides == 1`` and the
    same channel count), and a projection (1x1 convolution with stride, then batch norm)
    otherwise. 1D, 2D or 3D by the rank of `x`, in either data format.

    Kinds:
        * ``"basic"``: two KxK convolutions (ResNet-18/34); output has `filters` channels.
        * ``"bottleneck"``: 1x1, KxK, 1x1 (ResNet-50/101); `filters` is the inner width and
          the output has ``4 * filters`` channels.
        * ``"preact"``: pre-activation (He et al., 2016b): BN-act before each convolution,
          no activation after the addition; output has `filters` channels.
        * ``"preact_bottleneck"``: the pre-activation bottleneck of keras.applications'
          ResNet50V2 (stride on the KxK convolution; a strided block that keeps the channel
          count subsamples its input with a 1x1 max pool); ``4 * filters`` channels.

    Args:
        x: Keras tensor of rank 3, 4 or 5.
        filters: branch width (see kinds).
        kernel_size: size of the KxK convolutions.
        strides: stride of the block (2 halves each spatial size).
        kind: "basic", "bottleneck", "preact" or "preact_bottleneck".
        activation: a keras activation name, a callable or None.
        se_ratio: if set, squeeze-and-excitation with this ratio on the branch.
        drop_path: stochastic-depth rate on the branch (whole samples dropped in training).
        padding: "same" or "symmetric" for the strided convolutions (see
            :func:`kfx.blocks.conv_bn_act`).
        name: prefix of the layers' names; a fresh unique prefix when None.
        data_format: "channels_last", "channels_first" or None (the global setting).
        dtype: dtype or dtype policy of every layer (None for the global policy).

    Returns:
        Keras tensor.

    Example:
        >>> import keras, kfx
        >>> x = keras.Input((32, 32, 64))
        >>> y = kfx.blocks.residual(x, 64, kind="bottleneck", strides=2, name="res")
        >>> tuple(y.shape)
        (None, 16, 16, 256)
    """
    block = "residual"
    name = c.block_name(name, block)
    data_format = c.data_format(block, data_format)
    c.spatial_rank(x, block, data_format=data_format)
    _check_residual_args(block, kind, filters, kernel_size, strides, activation, drop_path)
    v.check_choice(block, "padding", padding, c.PADDINGS)
    if se_ratio is not None:
        check_se_ratio(block, se_ratio)

    options = {"padding": padding, "data_format": data_format, "dtype": dtype}
    out_channels = _output_channels(kind, filters)
    identity = strides == 1 and c.channels(x, block, data_format) == out_channels
    preact = x
    if kind.startswith("preact"):  # the identity skips the pre-activation
        preact = c.apply_norm(x, "batch", name + "_preact_bn", data_format=data_format, dtype=dtype)
        preact = c.apply_activation(preact, activation, name + "_preact_act", dtype)
    shortcut = _shortcut(x, preact, identity, kind, out_channels, strides, name, options)

    y = _branch(preact, kind, filters, kernel_size, strides, activation, name, options)
    if se_ratio is not None:
        y = squeeze_excite(y, se_ratio, name=name + "_se", data_format=data_format, dtype=dtype)
    y = c.drop_path(y, drop_path, name + "_drop_path", dtype)
    y = keras.layers.Add(name=name + "_add", dtype=dtype)([shortcut, y])
    if kind.startswith("preact"):
        return y
    return c.apply_activation(y, activation, name + "_out", dtype)


def dense_residual(
    x,
    units: int,
    *,
    activation="relu",
    dropout: float = 0.0,
    norm: str | None = "layer",
    name: str | None = None,
    dtype=None,
):
    """A pre-norm residual block on feature vectors: ``x + Dense(drop(act(Dense(norm(x)))))``.

    The shortcut is the identity when `x` has `units` features and a Dense projection
    otherwise. Works on any tensor of rank >= 2 (features on the last axis).

    Args:
        x: Keras tensor of rank >= 2.
        units: width of the block and of its output.
        activation: a keras activation name, a callable or None.
        dropout: dropout rate after the activation.
        norm: "layer", "batch" or None.
        name: prefix of the layers' names; a fresh unique prefix when None.
        dtype: dtype or dtype policy of every layer (None for the global policy).

    Returns:
        Keras tensor with `units` features on the last axis.

    Example:
        >>> import keras, kfx
        >>> x = keras.Input((20,))
        >>> tuple(kfx.blocks.dense_residual(x, 32).shape)
        (None, 32)
    """
    block = "dense_residual"
    name = c.block_name(name, block)
    c.check_feature_tensor(x, block)
    v.check_positive_int(block, "units", units)
    c.check_activation(block, activation)
    v.check_rate(block, "dropout", dropout)
    v.check_choice(block, "norm", norm, c.NORMS)

    shortcut = x
    if x.shape[-1] != units:
        shortcut = keras.layers.Dense(units, name=name + "_proj", dtype=dtype)(x)
    y = c.apply_norm(x, norm, name + "_norm", axis=-1, dtype=dtype)
    y = keras.layers.Dense(units, name=name + "_dense1", dtype=dtype)(y)
    y = c.apply_activation(y, activation, name + "_act", dtype)
    if dropout:
        y = keras.layers.Dropout(dropout, name=name + "_dropout", dtype=dtype)(y)
    y = keras.layers.Dense(units, name=name + "_dense2", dtype=dtype)(y)
    return keras.layers.Add(name=name + "_add", dtype=dtype)([shortcut, y])
