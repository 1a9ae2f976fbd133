"""Which callbacks :func:`kfx.distribute.fit` runs on which worker, and which it refuses.

Every worker runs the same script with the same callbacks. Those that write files or talk
to a server run on the chief only (two workers writing one checkpoint or one TensorBoard
run would corrupt it); the others (early stopping, schedules, anything that only reads the
logs) run everywhere, so every worker takes the same decisions. A callback says which kind
it is with a ``chief_only`` class attribute, as kfx's loggers do; Keras' own writers are
recognised by their classes.

Example:
    >>> import keras
    >>> from kfx.distribute import is_chief_only
    >>> is_chief_only(keras.callbacks.CSVLogger("log.csv"))
    True
    >>> is_chief_only(keras.callbacks.EarlyStopping())
    False
    >>> class Upload(keras.callbacks.Callback):
    ...     chief_only = True
    >>> is_chief_only(Upload())
    True
"""

from __future__ import annotations

import keras

from kfx._validation import fail
from kfx.distribute._backend import WHERE
from kfx.distribute.strategies import strategy_name

#: Keras callbacks that write files or talk to a server: chief only.
CHIEF_ONLY = (
    keras.callbacks.ModelCheckpoint,
    keras.callbacks.TensorBoard,
    keras.callbacks.CSVLogger,
    keras.callbacks.RemoteMonitor,
)
#: Callbacks whose work fit() cannot do under a strategy: class -> what to use instead.
UNSUPPORTED = {
    keras.callbacks.BackupAndRestore: (
        "it restores through Model.fit's internal epoch counter, which kfx.distribute.fit "
        "does not use; pass checkpoint_dir= instead (it resumes after a worker dies)"
    ),
}


def is_chief_only(callback: keras.callbacks.Callback) -> bool:
    """Whether `callback` runs on the chief only under :func:`kfx.distribute.fit`.

    The callback's own ``chief_only`` attribute when it has one that is not None (kfx's
    loggers set it to True; a user callback may set True or False); else whether it is one
    of Keras' callbacks that write files or talk to a server: ``ModelCheckpoint``,
    ``TensorBoard``, ``CSVLogger``, ``RemoteMonitor`` (or a subclass).

    Example:
        >>> import keras
        >>> from kfx.distribute import is_chief_only
        >>> is_chief_only(keras.callbacks.TensorBoard("logs"))
        True
        >>> is_chief_only(keras.callbacks.ReduceLROnPlateau())
        False
    """
    own = getattr(callback, "chief_only", None)
    if own is not None:
        return bool(own)
    return isinstance(callback, CHIEF_ONLY)


def split_callbacks(callbacks, strategy, chief: bool) -> list:
    """The callbacks this process runs; a ValueError for one that cannot run under fit()."""
    kept = []
    for callback in list(callbacks or []):
        if not isinstance(callback, keras.callbacks.Callback):
            fail(WHERE, "callbacks", callback, "keras.callbacks.Callback instances")
        for cls, why in UNSUPPORTED.items():
            if isinstance(callback, cls):
                raise ValueError(
                    f"{WHERE}: callback {type(callback).__name__} cannot run under "
                    f"{strategy_name(strategy)} here: {why}."
                )
        if chief or not is_chief_only(callback):
            kept.append(callback)
    return kept
