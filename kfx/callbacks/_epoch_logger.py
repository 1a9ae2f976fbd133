"""EpochLogger: the base of the kfx loggers, what they do alike around their own `_log`.

Every kfx logger writes at the end of every n-th epoch, on the chief only, and must never stop
training because of its files: a folder it cannot create, one removed under it or a full disk
gives one warning per output. keras-tuner deep-copies callbacks for each trial, so a copy
keeps the settings and the data read but not what was built for the previous model.

Example:
    >>> from kfx.callbacks._epoch_logger import EpochLogger
    >>> class Every2(EpochLogger):
    ...     def _log(self, epoch):
    ...         print("log", epoch)
    >>> logger = Every2(every_n_epochs=2)
    >>> for epoch in range(4):
    ...     logger.on_epoch_end(epoch)
    log 1
    log 3
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import keras

from kfx._validation import check_positive_int
from kfx.callbacks._chief import is_chief


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
