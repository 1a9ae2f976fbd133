"""Reading a logger's `data` once: the first samples of arrays, tuples or a tf.data.Dataset.

The loggers record the same few samples at every logging epoch, so `data` is read once, at
construction, into numpy structures; a dataset is iterated only as far as those samples. Bad
`data` fails there, with the kinds accepted, rather than at the first logging epoch.

Example:
    >>> import numpy as np
    >>> from kfx.callbacks._data import read_data
    >>> x, y = read_data((np.zeros((10, 3)), np.ones(10)), 4, "ActivationLogger")
    >>> x.shape, y.shape
    ((4, 3), (4,))
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from kfx._validation import fail

_ACCEPTED_DATA = (
    "an array, a list or dict of arrays (model inputs), a tuple (x,), (x, y) or "
    "(x, y, sample_weight), or a tf.data.Dataset yielding those"
)


def read_data(data: Any, max_samples: int, where: str) -> tuple[Any, Any]:
    """``(x, y)`` as numpy structures holding the first `max_samples` samples of `data`.

    `y` is None when `data` carries no targets. A dataset is iterated only as far as needed.
    """
    if _is_dataset(data):
        return _read_dataset(data, max_samples, where)
    if isinstance(data, tuple):
        if not 1 <= len(data) <= 3:
            fail(where, "data", f"a tuple of {len(data)} items", _ACCEPTED_DATA)
        x, y = data[0], data[1] if len(data) > 1 else None
    else:
        x, y = data, None
    return _head(x, max_samples, where), None if y is None else _head(y, max_samples, where)


def _is_dataset(data: Any) -> bool:
    return type(data).__module__.startswith("tensorflow") and hasattr(data, "as_numpy_iterator")


def _read_dataset(dataset, max_samples: int, where: str) -> tuple[Any, Any]:
    xs, ys, count = [], [], 0
    for element in dataset.as_numpy_iterator():
        x, y = read_data(element if isinstance(element, tuple) else (element,), max_samples, where)
        xs.append(x)
        ys.append(y)
        count += len(keras.tree.flatten(x)[0])
        if count >= max_samples:
            break
    if not xs:
        fail(where, "data", "an empty dataset", _ACCEPTED_DATA)

    def joined(parts):
        if parts[0] is None:
            return None
        return keras.tree.map_structure(lambda *a: np.concatenate(a)[:max_samples], *parts)

    return joined(xs), joined(ys)


def _head(structure: Any, n: int, where: str) -> Any:
    def first(leaf):
        if leaf is None:
            return None
        try:
            array = np.asarray(leaf)
        except Exception:  # noqa: BLE001 - reported as the accepted kinds of data
            fail(where, "data", f"a {type(leaf).__name__}", _ACCEPTED_DATA)
        if array.ndim == 0 or len(array) == 0:
            fail(
                where, "data", f"an array of shape {array.shape}", f"{_ACCEPTED_DATA}, with samples"
            )
        return array[:n]

    return keras.tree.map_structure(first, structure)
