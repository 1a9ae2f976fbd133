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
#: Feature maps shown per layer in an image, tiled in a square grid.
MAX_MAPS = 16


def summarize(tensor: Any, bins: int = BINS) -> dict[str, np.ndarray]:
    """Histogram (`counts`, `edges`), `mean`, `std`, `zero_fraction` and `norm` of a tensor.

    The edges split [min, max] evenly (a constant tensor gets one bucket around its value).
    """
    x = ops.reshape(ops.cast(tensor, "float32"), (-1,))
    lo, hi = ops.min(x), ops.max(x)
    width = ops.maximum(hi - lo, 1e-12)
    index = ops.cast(ops.clip(ops.floor((x - lo) / width * bins), 0, bins - 1), "int32")
    mean = ops.mean(x)
    reduced = ops.convert_to_numpy(
        ops.stack(
            [
                lo,
                hi,
                mean,
                ops.sqrt(ops.maximum(ops.mean(ops.square(x)) - mean**2, 0.0)),
                ops.mean(ops.cast(ops.equal(x, 0.0), "float32")),
                ops.sqrt(ops.sum(ops.square(x))),
            ]
        )
    )
    counts = ops.convert_to_numpy(ops.bincount(index, minlength=bins))[:bins]
    lo_v, hi_v = float(reduced[0]), float(reduced[1])
    if hi_v <= lo_v:  # constant: one bucket of width 1 centred on the value
        lo_v, hi_v = lo_v - 0.5, hi_v + 0.5
    return {
        "counts": counts.astype(np.int64),
        "edges": np.linspace(lo_v, hi_v, bins + 1),
        "mean": reduced[2],
        "std": reduced[3],
        "zero_fraction": reduced[4],
        "norm": reduced[5],
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
