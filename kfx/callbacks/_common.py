"""What the kfx logging callbacks share: reading `data` once, the chief check, safe writing.

Example:
    >>> import numpy as np
    >>> from kfx.callbacks._common import read_data
    >>> x, y = read_data((np.zeros((10, 3)), np.ones(10)), 4, "ActivationLogger")
    >>> x.shape, y.shape
    ((4, 3), (4,))
"""

from __future__ import annotations

import copy
import json
import os
import warnings
from pathlib import Path
from typing import Any

import keras
import numpy as np

from kfx._validation import check_positive_int, fail

_ACCEPTED_DATA = (
    "an array, a list or dict of arrays (model inputs), a tuple (x,), (x, y) or "
    "(x, y, sample_weight), or a tf.data.Dataset yielding those"
)


def is_chief() -> bool:
    """True unless TF_CONFIG names this process as a non-chief task of a cluster.

    The chief is the task of type ``chief``, or worker 0 when the cluster has no chief
    (TensorFlow's own rule for MultiWorkerMirroredStrategy).

    Example:
        >>> is_chief()  # no TF_CONFIG: a single process is its own chief
        True
    """
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return True
    try:
        config = json.loads(raw)
        task, cluster = config.get("task") or {}, config.get("cluster") or {}
    except (ValueError, AttributeError):
        return True
    kind, index = task.get("type"), int(task.get("index", 0) or 0)
    if kind in (None, "chief"):
        return True
    return kind == "worker" and index == 0 and "chief" not in cluster


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


class EpochLogger(keras.callbacks.Callback):
    """Base of the kfx loggers: runs `_log(epoch)` every n epochs, on the chief only.

    Writing problems (an unwritable or vanished folder, a full disk) give one warning per
    output and never stop training. Deep-copying (keras-tuner copies callbacks for each
    trial) copies the settings and the data read, not the model or what was built for it.
    """

    #: Writes files: under a multi-worker strategy only the chief keeps it
    #: (:func:`kfx.distribute.fit` reads this attribute).
    chief_only = True
    #: Attributes that belong to the model being trained; reset by a deep copy.
    _TRANSIENT = ("_model",)

    def __init__(self, every_n_epochs: int):
        super().__init__()
        check_positive_int(type(self).__name__, "every_n_epochs", every_n_epochs)
        self.every_n_epochs = every_n_epochs
        self._warned: set[str] = set()

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs == 0 and is_chief():
            self._log(epoch)

    def _log(self, epoch: int) -> None:
        raise NotImplementedError

    def _warn(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(
                f"{type(self).__name__}: {message}; training goes on", RuntimeWarning, stacklevel=3
            )

    def _prepare_dir(self, folder: Path | None, key: str) -> Path | None:
        """Create `folder` at the start of training; None (and a warning) if it cannot be."""
        if folder is None:
            return None
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            self._warn(
                key, f"cannot create {key} folder {str(folder)!r} ({err}), {key} output is off"
            )
            return None
        return folder

    def _usable(self, folder: Path | None, key: str) -> bool:
        """Whether `folder` still exists; a folder removed during training is not recreated."""
        if folder is None:
            return False
        if not folder.is_dir():
            self._warn(
                key, f"{key} folder {str(folder)!r} vanished during training, {key} output stops"
            )
            return False
        return True

    def __deepcopy__(self, memo):
        clone = type(self).__new__(type(self))
        memo[id(self)] = clone
        for key, value in self.__dict__.items():
            transient = key in self._TRANSIENT or key in EpochLogger._TRANSIENT
            setattr(clone, key, None if transient else copy.deepcopy(value, memo))
        clone._warned = set()
        return clone
