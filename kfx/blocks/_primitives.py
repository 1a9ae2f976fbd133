"""What every block builds with: names, rank dispatch, channel axis, norm and activation.

Blocks never build layer names, pick a 1D/2D/3D class or check a tensor on their own;
they call these helpers (and :mod:`kfx._validation` for plain arguments), so every block
behaves and fails the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import keras

from kfx._validation import fail

NORMS = ("batch", "layer", None)

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


def spatial_rank(x: Any, block: str, ranks: Iterable[int] = (1, 2, 3)) -> int:
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
    channels(x, block)
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


def channel_axis() -> int:
    """The channel axis of image tensors under the current `image_data_format`."""
    return 1 if keras.config.image_data_format() == "channels_first" else -1


def channels(x: Any, block: str) -> int:
    """Static channel count of `x`; a block cannot size its layers without it."""
    value = x.shape[channel_axis()]
    if value is None:
        fail(block, "x", f"shape {tuple(x.shape)}", "a tensor with a known channel dimension")
    return int(value)


def pick(classes: tuple, rank: int):
    """Pick the 1D/2D/3D layer class from a ``(Cls1D, Cls2D, Cls3D)`` tuple."""
    return classes[rank - 1]


CONV = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
MAX_POOL = (keras.layers.MaxPooling1D, keras.layers.MaxPooling2D, keras.layers.MaxPooling3D)
GLOBAL_AVG_POOL = (
    keras.layers.GlobalAveragePooling1D,
    keras.layers.GlobalAveragePooling2D,
    keras.layers.GlobalAveragePooling3D,
)


def norm_layer(norm: str | None, name: str, axis: int):
    """The normalization layer for `norm` ("batch", "layer") or None for no norm."""
    if norm == "batch":
        return keras.layers.BatchNormalization(axis=axis, epsilon=BN_EPSILON, name=name)
    if norm == "layer":
        return keras.layers.LayerNormalization(axis=axis, name=name)
    return None


def apply_norm(x, norm: str | None, name: str, axis: int | None = None):
    layer = norm_layer(norm, name, channel_axis() if axis is None else axis)
    return x if layer is None else layer(x)


def apply_activation(x, activation, name: str):
    return x if activation is None else keras.layers.Activation(activation, name=name)(x)


def drop_path(x, rate: float, name: str):
    """Stochastic depth on a residual branch: drop whole samples, scale survivors by 1/(1-rate).

    A core ``Dropout`` whose noise shape is 1 on every axis but the batch does exactly that,
    so a model with drop-path still loads where kfx is not installed.
    """
    if not rate:
        return x
    noise_shape = (None,) + (1,) * (len(x.shape) - 1)
    return keras.layers.Dropout(rate, noise_shape=noise_shape, name=name)(x)
