"""Reductions of a tensor computed with keras.ops on its device; only small arrays come back.

Example:
    >>> import numpy as np
    >>> from kfx.callbacks._stats import summarize
    >>> s = summarize(np.array([[0.0, 1.0, 2.0, 3.0]], "float32"), bins=3)
    >>> s["counts"].tolist(), s["edges"].tolist(), float(s["zero_fraction"])
    ([1, 1, 2], [0.0, 1.0, 2.0, 3.0], 0.25)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops

#: Histogram buckets per tensor (TensorFlow's summaries use 30 too).
BINS = 30
#: Tensors with at least this many values are reduced on their device (see summarize).
DEVICE_MIN_SIZE = 2**16
#: Feature maps shown per layer in an image, tiled in a square grid.
MAX_MAPS = 16


def summarize(tensor: Any, bins: int = BINS, device_min_size: int = DEVICE_MIN_SIZE) -> dict:
    """Histogram (`counts`, `edges`), `mean`, `std`, `zero_fraction` and `norm` of a tensor.

    The edges split [min, max] evenly (a constant tensor gets one bucket around its value).
    A tensor of at least `device_min_size` values is reduced with ``keras.ops`` where it lives
    and only the results come back; a smaller one is copied and reduced with numpy, which
    is cheaper than dispatching a dozen device ops for it.
    """
    size = int(np.prod(tensor.shape))
    if size >= device_min_size:
        xp, x = ops, ops.reshape(tensor, (-1,))
        if x.dtype != "float32":
            x = ops.cast(x, "float32")
    else:
        xp, x = np, np.asarray(ops.convert_to_numpy(tensor), np.float32).reshape(-1)
    lo, hi = xp.min(x), xp.max(x)
    # min, max, mean, mean square, number of nonzeros (as a float: sum of |sign|)
    moments = xp.stack([lo, hi, xp.mean(x), xp.mean(xp.square(x)), xp.sum(xp.abs(xp.sign(x)))])
    scale = bins / xp.maximum(hi - lo, 1e-12)
    index = xp.clip(xp.floor((x - lo) * scale), 0, bins - 1)
    index = ops.cast(index, "int32") if xp is ops else index.astype(np.int32)
    counts = np.asarray(ops.convert_to_numpy(xp.bincount(index, minlength=bins)))[:bins]
    lo_v, hi_v, mean, square_mean, nonzero = (float(v) for v in ops.convert_to_numpy(moments))
    if hi_v <= lo_v:  # constant: one bucket of width 1 centred on the value
        lo_v, hi_v = lo_v - 0.5, hi_v + 0.5
    return {
        "counts": counts.astype(np.int64),
        "edges": np.linspace(lo_v, hi_v, bins + 1),
        "mean": mean,
        "std": max(square_mean - mean**2, 0.0) ** 0.5,
        "zero_fraction": 1.0 - nonzero / size,
        "norm": (square_mean * size) ** 0.5,
    }


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
