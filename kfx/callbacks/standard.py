"""standard(): the callbacks nearly every training run wants, writing under one folder."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import keras

from kfx._validation import check_choice, check_positive_int, fail

#: File names under `log_dir`.
CHECKPOINT = "best.keras"
HISTORY = "history.csv"


def standard(
    log_dir: str | os.PathLike,
    *,
    monitor: str = "val_loss",
    mode: str = "auto",
    patience: int = 5,
    min_delta: float = 0.0,
    checkpoint: bool = True,
    early_stopping: bool = True,
    reduce_lr: bool = True,
    csv: bool = True,
    tensorboard: bool | str = "auto",
    lr_factor: float = 0.5,
    restore_best_weights: bool = True,
) -> list[keras.callbacks.Callback]:
    """Best-model checkpoint, early stopping, LR reduction, CSV log and TensorBoard.

    Everything writes under `log_dir`: ``best.keras`` (the best model by `monitor`),
    ``history.csv`` (one row per epoch, appended on resume) and TensorBoard's ``train`` and
    ``validation`` runs, beside which :class:`ActivationLogger` and :class:`GradientLogger`
    put their ``activations`` and ``gradients`` runs when given the same folder.

    Args:
        log_dir: the run's folder (created).
        monitor: the quantity to watch; ``val_...`` needs validation data in ``fit``.
        mode: ``"auto"``, ``"min"`` or ``"max"``.
        patience: epochs without improvement before stopping; the learning rate is reduced
            after half as many (at least 1).
        min_delta: the smallest change that counts as an improvement.
        checkpoint, early_stopping, reduce_lr, csv: include that callback.
        tensorboard: include ``keras.callbacks.TensorBoard``; ``"auto"``: when TensorFlow is
            installed (Keras' TensorBoard callback writes through ``tf.summary``).
        lr_factor: factor of each learning-rate reduction.
        restore_best_weights: early stopping puts the best epoch's weights back.

    Returns:
        A list of Keras callbacks for ``fit(callbacks=...)``.

    Example:
        >>> import tempfile
        >>> from kfx.callbacks import standard
        >>> [type(c).__name__ for c in standard(tempfile.mkdtemp(), tensorboard=False)]
        ['ModelCheckpoint', 'EarlyStopping', 'ReduceLROnPlateau', 'CSVLogger']
    """
    where = "standard"
    check_choice(where, "mode", mode, ("auto", "min", "max"))
    check_positive_int(where, "patience", patience)
    check_choice(where, "tensorboard", tensorboard, (True, False, "auto"))
    if not isinstance(monitor, str) or not monitor:
        fail(where, "monitor", monitor, "a metric name such as 'val_loss' or 'val_accuracy'")
    if (
        isinstance(lr_factor, bool)
        or not isinstance(lr_factor, (int, float))
        or not 0 < lr_factor < 1
    ):
        fail(where, "lr_factor", lr_factor, "a number in (0, 1)")
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    callbacks: list[keras.callbacks.Callback] = []
    if checkpoint:
        callbacks.append(
            keras.callbacks.ModelCheckpoint(
                str(log_dir / CHECKPOINT), monitor=monitor, mode=mode, save_best_only=True
            )
        )
    if early_stopping:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=monitor,
                mode=mode,
                patience=patience,
                min_delta=min_delta,
                restore_best_weights=restore_best_weights,
            )
        )
    if reduce_lr:
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=monitor,
                mode=mode,
                factor=lr_factor,
                patience=max(1, patience // 2),
                min_delta=min_delta,
            )
        )
    if csv:
        callbacks.append(keras.callbacks.CSVLogger(str(log_dir / HISTORY), append=True))
    if tensorboard is True or (tensorboard == "auto" and importlib.util.find_spec("tensorflow")):
        callbacks.append(keras.callbacks.TensorBoard(str(log_dir)))
    return callbacks
