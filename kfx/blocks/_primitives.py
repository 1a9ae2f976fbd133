"""What every block builds with: names, rank dispatch, channel axis, norm and activation.

Blocks never build layer names, pick a 1D/2D/3D class or check a tensor on their own;
they call these helpers (and :mod:`kfx._validation` for plain arguments), so every block
behaves and fails the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import keras

from kfx._validation import check_choice, fail

NORMS = ("batch", "layer", None)
DATA_FORMATS = ("channels_last", "channels_first")
#: How a strided convolution pads: Keras' "same" (the extra row at the end) or "symmetric"
#: (``kernel_size // 2`` on each side, then "valid", as keras.applications and PyTorch do).
PADDINGS = ("same", "symmetric")

# Keras' own default epsilon (1e-3) differs from the 1.001e-5 that keras.applications'
# ResNet uses (taken from the original Caffe models); blocks use the latter so that a
# kfx ResNet50 matches keras.applications.ResNet50 numerically as well as in layout.
BN_EPSILON = 1.001e-5


def block_name(name: str | None, family: str) -> str:
    """Return `name`, or a fresh unique prefix such as ``"residual_3"`` when it is None."""
    if name is None:
        return f"{family}_{keras.backend.get_uid(family)}"
    if not isinstance(name, str) or not name:
        fail(family, "name", name, "a non-empty str or None")
    return name


def check_activation(block: str, value: Any) -> None:
    """Accept None, a callable, or a name that keras.activations knows."""
    if value is None or callable(value):
        return
    try:
        keras.activations.get(value)
    except (ValueError, TypeError):
        fail(
            block,
            "activation",
            value,
            "None, a callable or a keras.activations name such as 'relu'",
        )


def spatial_rank(
    x: Any, block: str, ranks: Iterable[int] = (1, 2, 3), data_format: str | None = None
) -> int:
    """Spatial rank (1, 2 or 3) of a tensor of rank 3, 4 or 5 with a known channel count.

    Convolutions size their kernels from the channels, so an unknown count is an error here.
    """
    accepted = sorted(r + 2 for r in ranks)
    rank = len(x.shape)
    if rank not in accepted:
        fail(
            block,
            "x",
            f"a tensor of rank {rank} (shape {tuple(x.shape)})",
            "a tensor of rank "
            + " or ".join(map(str, accepted))
            + " (batch, spatial..., channels)",
        )
    channels(x, block, data_format)
    return rank - 2


def check_feature_tensor(x: Any, block: str) -> None:
    """Dense blocks work on any tensor of rank >= 2 (batch, ..., features)."""
    if len(x.shape) < 2:
        fail(
            block,
            "x",
            f"a tensor of rank {len(x.shape)}",
            "a tensor of rank >= 2 (batch, ..., features)",
        )


def data_format(block: str, value: str | None) -> str:
    """`value` checked ("channels_last" or "channels_first"), or the global setting when None."""
    if value is None:
        return keras.config.image_data_format()
    return check_choice(block, "data_format", value, DATA_FORMATS)


def channel_axis(data_format: str | None = None) -> int:
    """The channel axis of image tensors in `data_format` (default: `image_data_format()`)."""
    data_format = data_format or keras.config.image_data_format()
    return 1 if data_format == "channels_first" else -1


def channels(x: Any, block: str, data_format: str | None = None) -> int:
    """Static channel count of `x`; a block cannot size its layers without it."""
    value = x.shape[channel_axis(data_format)]
    if value is None:
        fail(block, "x", f"shape {tuple(x.shape)}", "a tensor with a known channel dimension")
    return int(value)


def pick(classes: tuple, rank: int):
    """Pick the 1D/2D/3D layer class from a ``(Cls1D, Cls2D, Cls3D)`` tuple."""
    return classes[rank - 1]


CONV = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
ZERO_PAD = (keras.layers.ZeroPadding1D, keras.layers.ZeroPadding2D, keras.layers.ZeroPadding3D)
MAX_POOL = (keras.layers.MaxPooling1D, keras.layers.MaxPooling2D, keras.layers.MaxPooling3D)
GLOBAL_AVG_POOL = (
    keras.layers.GlobalAveragePooling1D,
    keras.layers.GlobalAveragePooling2D,
    keras.layers.GlobalAveragePooling3D,
)
GLOBAL_MAX_POOL = (
    keras.layers.GlobalMaxPooling1D,
    keras.layers.GlobalMaxPooling2D,
    keras.layers.GlobalMaxPooling3D,
)


def layer_options(layer_class, data_format: str, dtype) -> dict:
    """``data_format`` (for the layer classes that take one) and ``dtype`` keyword arguments.

    Every block builds its layers with these, so one model can be channels_first or
    bfloat16 while another is not (the global settings are only the default).
    """
    options = {"dtype": dtype}
    if layer_class in _HAS_DATA_FORMAT:
        options["data_format"] = data_format
    return options


_HAS_DATA_FORMAT = frozenset(
    CONV
    + ZERO_PAD
    + MAX_POOL
    + GLOBAL_AVG_POOL
    + GLOBAL_MAX_POOL
    + (keras.layers.SeparableConv1D, keras.layers.SeparableConv2D)
)


def spatial_pad(x, kernel_size: int, rank: int, name: str, data_format: str, dtype=None):
    """Zero padding of ``kernel_size // 2`` on each side of every spatial axis."""
    layer = pick(ZERO_PAD, rank)
    return layer(kernel_size // 2, name=name, **layer_options(layer, data_format, dtype))(x)


def norm_layer(norm: str | None, name: str, axis: int, dtype=None):
    """The normalization layer for `norm` ("batch", "layer") or None for no norm."""
    if norm == "batch":
        return keras.layers.BatchNormalization(
            axis=axis, epsilon=BN_EPSILON, name=name, dtype=dtype
        )
    if norm == "layer":
        return keras.layers.LayerNormalization(axis=axis, name=name, dtype=dtype)
    return None


def apply_norm(
    x,
    norm: str | None,
    name: str,
    axis: int | None = None,
    data_format: str | None = None,
    dtype=None,
):
    """`norm` over `axis` (default: the channel axis of `data_format`), or `x` for None."""
    layer = norm_layer(norm, name, channel_axis(data_format) if axis is None else axis, dtype)
    return x if layer is None else layer(x)


def apply_activation(x, activation, name: str, dtype=None):
    if activation is None:
        return x
    return keras.layers.Activation(activation, name=name, dtype=dtype)(x)


def drop_path(x, rate: float, name: str, dtype=None):
    """Stochastic depth on a residual branch: drop whole samples, scale survivors by 1/(1-rate).

    A core ``Dropout`` whose noise shape is 1 on every axis but the batch does exactly that,
    so a model with drop-path still loads where kfx is not installed.
    """
    if not rate:
        return x
    noise_shape = (None,) + (1,) * (len(x.shape) - 1)
    return keras.layers.Dropout(rate, noise_shape=noise_shape, name=name, dtype=dtype)(x)
