"""Reductions of activations and gradients: histogram counts and moments, small arrays only.

Example:
    >>> import numpy as np
    >>> from kfx.callbacks._stats import summarize
    >>> s = summarize(np.array([[0.0, 1.0, 2.0, 3.0]], "float32"), bins=3)
    >>> s["counts"].tolist(), s["edges"].tolist(), float(s["zero_fraction"])
    ([1, 1, 2], [0.0, 1.0, 2.0, 3.0], 0.25)
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

#: Histogram buckets per tensor (TensorFlow's summaries use 30 too).
BINS = 30
#: Tensors with at least this many values are reduced on their device (see summarize).
DEVICE_MIN_SIZE = 2**16
#: Feature maps shown per layer in an image, tiled in a square grid.
MAX_MAPS = 16


def moments_and_counts(x: Any, bins: int, xp: Any = ops) -> tuple[Any, Any]:
    """``(moments, counts)`` of a flat float32 tensor, with numpy or keras.ops (`xp`).

    `moments` is ``[min, max, mean, mean of squares, nonzero count]`` (float32), `counts` the
    int32 histogram of `bins` buckets splitting [min, max] evenly. One spelling of the math
    for both namespaces: it runs eagerly, on the host, or compiled inside a model.
    """
    lo, hi = xp.min(x), xp.max(x)
    scale = bins / xp.maximum(hi - lo, 1e-12)
    index = xp.clip(xp.floor((x - lo) * scale), 0, bins - 1)
    if xp is np:
        counts = np.bincount(index.astype(np.int64), minlength=bins)[:bins].astype(np.int32)
    else:  # a segment sum: fixed output size, so it also compiles under XLA and jax.jit
        index = ops.cast(index, "int32")
        counts = ops.segment_sum(ops.ones_like(index), index, num_segments=bins)
    moments = xp.stack([lo, hi, xp.mean(x), xp.mean(xp.square(x)), xp.sum(xp.abs(xp.sign(x)))])
    return moments, counts


def stats(moments: Any, counts: Any, size: int) -> dict:
    """Histogram (`counts`, `edges`), `mean`, `std`, `zero_fraction` and `norm`.

    From the output of :func:`moments_and_counts` over `size` values.

    A constant tensor gets one bucket of width 1 centred on its value.
    """
    lo, hi, mean, square_mean, nonzero = (float(v) for v in np.asarray(moments).reshape(-1))
    counts = np.asarray(counts).reshape(-1).astype(np.int64)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    return {
        "counts": counts,
        "edges": np.linspace(lo, hi, len(counts) + 1),
        "mean": mean,
        "std": max(square_mean - mean**2, 0.0) ** 0.5,
        "zero_fraction": 1.0 - nonzero / size,
        "norm": (square_mean * size) ** 0.5,
    }


def reduce_tensor(tensor: Any, bins: int = BINS, device_min_size: int = DEVICE_MIN_SIZE):
    """:func:`moments_and_counts` of one tensor, eagerly, as numpy arrays.

    A tensor of at least `device_min_size` values is reduced with ``keras.ops`` where it lives
    and only the results come back; a smaller one is copied and reduced with numpy, which
    is cheaper than dispatching a dozen eager device ops for it.
    """
    if int(np.prod(tensor.shape)) >= device_min_size:
        x = ops.reshape(tensor, (-1,))
        moments, counts = moments_and_counts(ops.cast(x, "float32"), bins)
        return ops.convert_to_numpy(moments), ops.convert_to_numpy(counts)
    flat = np.asarray(ops.convert_to_numpy(tensor), np.float32).reshape(-1)
    return moments_and_counts(flat, bins, np)


def summarize(tensor: Any, bins: int = BINS, device_min_size: int = DEVICE_MIN_SIZE) -> dict:
    """:func:`stats` of one tensor, eagerly (see :func:`reduce_tensor`)."""
    moments, counts = reduce_tensor(tensor, bins, device_min_size)
    return stats(moments, counts, int(np.prod(tensor.shape)))


class Summary(keras.layers.Layer):
    """:func:`moments_and_counts` as a layer: ``(1, 5)`` moments and ``(1, bins)`` counts.

    Inside a summary model (see ActivationLogger) the reductions compile with the forward
    pass, run where the activations live, and only these two rows come back. Never saved.
    """

    def __init__(self, bins: int = BINS, **kwargs):
        kwargs.setdefault("dtype", "float32")  # under mixed precision too: exact statistics
        super().__init__(**kwargs)
        self.bins = bins

    def call(self, x):
        moments, counts = moments_and_counts(ops.reshape(ops.cast(x, "float32"), (-1,)), self.bins)
        return ops.expand_dims(moments, 0), ops.expand_dims(counts, 0)

    def compute_output_shape(self, input_shape):
        return (1, 5), (1, self.bins)


class FirstSample(keras.layers.Layer):
    """The first sample of a batch (``x[:1]``): feature-map images need no more. Never saved."""

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)

    def call(self, x):
        return x[:1]

    def compute_output_shape(self, input_shape):
        return (1, *input_shape[1:])


def feature_map_grid(maps: np.ndarray, channels_last: bool = True) -> np.ndarray | None:
    """A uint8 grid image of one sample's 2D feature maps ``(H, W, C)``; None for other ranks.

    Each map is scaled to 0-255 on its own; at most :data:`MAX_MAPS` maps, 1-pixel gaps.
    """
    if maps.ndim != 3:
        return None
    if not channels_last:
        maps = np.moveaxis(maps, 0, -1)
    height, width, channels = maps.shape
    maps = maps[..., :MAX_MAPS].astype(np.float32)
    lo = maps.min(axis=(0, 1), keepdims=True)
    span = np.maximum(maps.max(axis=(0, 1), keepdims=True) - lo, 1e-12)
    maps = ((maps - lo) / span * 255).astype(np.uint8)
    count = maps.shape[-1]
    cols = int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / cols))
    grid = np.zeros((rows * (height + 1) - 1, cols * (width + 1) - 1), np.uint8)
    for i in range(count):
        r, c = divmod(i, cols)
        grid[
            r * (height + 1) : r * (height + 1) + height, c * (width + 1) : c * (width + 1) + width
        ] = maps[..., i]
    return grid
