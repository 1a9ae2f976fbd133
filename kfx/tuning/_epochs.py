"""A running trial's last completed epoch, kept in its trial folder so that it resumes there.

:class:`EpochCheckpoint` is a Keras callback that :class:`kfx.tuning.tuners.TunerMixin` puts
first in each trial's callbacks. At the end of every epoch but the last (and at least
``KFX_EPOCH_STATE_SECONDS``, default 1 s, of training after the previous save, so that short
epochs cost no writes) it saves the model's
and the optimizer's variables to ``trial_<id>/kfx_epoch/epoch_<n>.weights.h5``, then
``state.json``: the epoch number, that file's name and size, a fingerprint of the model
(the shapes of its weights and of its optimizer's variables, the optimizer's class) and the
metrics of every epoch so far. Each file goes to a temporary file first, then
``os.replace``; ``state.json`` comes last, so it only ever names a weights file written in
full. A trial run again (its worker killed and restarted under the same tuner id, or the
chief rerun) reads the state (:func:`read`), starts ``fit`` at the next epoch
(``initial_epoch``) and loads the variables when training begins (:func:`restore`); its
``History`` gets the earlier epochs back in front (:func:`merge_history`), so the trial's
score covers every epoch. The state is removed once the oracle has recorded the trial's end.

A state that cannot be used (cut short, damaged, of another model) raises
:class:`StateError`, a ``ValueError`` naming the file and what is accepted; the tuner then
moves it aside (:func:`set_aside`) and runs the trial from epoch 0 with a warning.

Example:
    >>> import tempfile, keras, numpy as np
    >>> from kfx.tuning import _epochs
    >>> def model():
    ...     m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    ...     m.compile("adam", "mse")
    ...     return m
    >>> trial_dir, x = tempfile.mkdtemp(), np.ones((4, 2), "float32")
    >>> first = model()
    >>> _ = first.fit(x, x[:, 0], epochs=3, verbose=0,
    ...               callbacks=[_epochs.EpochCheckpoint(trial_dir, min_seconds=0)])
    >>> state = _epochs.read(trial_dir)  # the last epoch (2) is never saved: epoch 1 is
    >>> state.epoch, state.next_epoch, len(state.history["loss"])
    (1, 2, 2)
    >>> again = model()
    >>> history = again.fit(x, x[:, 0], epochs=3, initial_epoch=state.next_epoch, verbose=0,
    ...                     callbacks=[_epochs.EpochCheckpoint(trial_dir, resume=state, min_seconds=0)])
    >>> _epochs.merge_history(history, state)
    >>> len(history.history["loss"]), int(again.optimizer.iterations)
    (3, 3)
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras

from kfx import _io
from kfx._validation import fail
from kfx.tuning.reports import is_number

STATE_DIR = "kfx_epoch"
#: Default least training time between two saves of the epoch state, in seconds.
MIN_SECONDS = 1.0
STATE_FILE = "state.json"
#: Where an unusable state goes (replacing an older one), beside the trial's other files.
ASIDE_DIR = "kfx_epoch.damaged"
#: What ``state.json`` must hold, as :func:`save` writes it.
ACCEPTED = (
    "the JSON object kfx writes at the end of an epoch (epoch, weights, size, fingerprint, "
    "history) naming a weights file of that size"
)


class StateError(ValueError):
    """An epoch state that cannot be used: cut short, damaged, or of another model."""


@dataclass(frozen=True)
class EpochState:
    """A trial's saved epoch: `epoch` (0-based) is the last one that completed."""

    folder: Path
    epoch: int
    weights: str
    fingerprint: dict[str, Any]
    history: dict[str, list[float]]

    @property
    def next_epoch(self) -> int:
        """The epoch the resumed ``fit`` starts at (its ``initial_epoch``)."""
        return self.epoch + 1


def fingerprint(model: keras.Model) -> dict[str, Any]:
    """What a saved state must match to load into `model` (its optimizer built)."""
    optimizer = model.optimizer
    return {
        "weights": [list(v.shape) for v in model.weights],
        "optimizer": None if optimizer is None else type(optimizer).__name__,
        "optimizer_variables": []
        if optimizer is None
        else [list(v.shape) for v in optimizer.variables],
    }


def save(trial_dir: str | os.PathLike, model: keras.Model, epoch: int, history) -> Path:
    """Save `model` (and its optimizer) after `epoch`, with the metrics so far; return the folder."""
    folder = Path(trial_dir) / STATE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    name = f"epoch_{epoch:04d}.weights.h5"
    # Keras wants the ".weights.h5" ending, which _io's temporary names do not keep.
    partial = folder / f".partial-{os.getpid()}-{name}"
    model.save_weights(partial)
    os.replace(partial, folder / name)
    state = {
        "epoch": epoch,
        "weights": name,
        "size": (folder / name).stat().st_size,
        "fingerprint": fingerprint(model),
        "history": history,
    }
    _io.write_text(folder / STATE_FILE, json.dumps(state))
    for old in folder.glob("*.weights.h5"):  # earlier epochs, partial files of dead processes
        if old.name != name:
            old.unlink(missing_ok=True)
    return folder


def read(trial_dir: str | os.PathLike) -> EpochState | None:
    """The trial's saved epoch, or None when it has none.

    Raises:
        StateError: ``state.json`` does not parse, lacks a field, or names a weights file
            that is missing or of another size (cut short).
    """
    folder = Path(trial_dir) / STATE_DIR
    path = folder / STATE_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as err:
        _unusable(path, f"an unreadable file ({err})")
    try:
        data = json.loads(text)
        state = EpochState(
            folder,
            int(data["epoch"]),
            str(data["weights"]),
            dict(data["fingerprint"]),
            {str(k): [float(v) for v in vals] for k, vals in data["history"].items()},
        )
        size = int(data["size"])
    except (ValueError, TypeError, KeyError, AttributeError) as err:
        _unusable(path, f"content that is cut short or not kfx's ({type(err).__name__}: {err})")
    weights = folder / state.weights
    if weights.parent != folder or not weights.is_file():
        _unusable(path, f"a state naming a weights file that does not exist ({weights})")
    if weights.stat().st_size != size:
        _unusable(weights, f"a file of {weights.stat().st_size} bytes (cut short)", f"{size} bytes")
    return state


def restore(state: EpochState, model: keras.Model) -> None:
    """Load `state` into `model` and its optimizer (which this builds if needed).

    Raises:
        StateError: the state is of another model, or its weights file does not load.
    """
    optimizer = model.optimizer
    if optimizer is not None and not optimizer.built:
        optimizer.build(model.trainable_variables)
    found = fingerprint(model)
    if found != state.fingerprint:
        _unusable(
            state.folder / STATE_FILE,
            f"the epoch state of another model ({_describe(state.fingerprint)})",
            f"the state of this trial's model ({_describe(found)})",
        )
    weights = state.folder / state.weights
    try:
        model.load_weights(weights)
    except Exception as err:  # noqa: BLE001 - h5py and Keras raise many kinds; all mean damaged
        _unusable(weights, f"a weights file that does not load ({type(err).__name__}: {err})")


def merge_history(results: Any, state: EpochState) -> None:
    """Put the epochs before `state.next_epoch` back in front of a resumed ``History``."""
    if not isinstance(results, keras.callbacks.History):
        return  # a hypermodel's fit may return a dict or a number: nothing to extend
    new = results.history
    results.history = {
        k: state.history.get(k, []) + list(new.get(k, [])) for k in {*state.history, *new}
    }
    results.epoch = list(range(state.next_epoch)) + list(results.epoch)


def set_aside(trial_dir: str | os.PathLike) -> Path:
    """Move the trial's epoch state to ``kfx_epoch.damaged`` (replacing an older one)."""
    aside = Path(trial_dir) / ASIDE_DIR
    shutil.rmtree(aside, ignore_errors=True)
    os.replace(Path(trial_dir) / STATE_DIR, aside)
    return aside


def clear(trial_dir: str | os.PathLike) -> None:
    """Remove the trial's epoch state (its trial has ended)."""
    shutil.rmtree(Path(trial_dir) / STATE_DIR, ignore_errors=True)


class EpochCheckpoint(keras.callbacks.Callback):
    """Save each completed epoch but the last to the trial folder; with `resume`, load it first.

    Args:
        trial_dir: the trial's folder.
        resume: the state the ``fit`` resumes from (its ``initial_epoch`` is
            ``resume.next_epoch``); loaded when training begins, before any other
            callback starts, so that a :class:`StateError` leaves no trace.
    """

    def __init__(
        self,
        trial_dir: str | os.PathLike,
        resume: EpochState | None = None,
        min_seconds: float | None = None,
    ):
        super().__init__()
        self.trial_dir = str(trial_dir)
        self.resume = resume
        self.history = {k: list(v) for k, v in (resume.history if resume else {}).items()}
        self.min_seconds = min_seconds_between_saves() if min_seconds is None else min_seconds
        self._last_save = time.monotonic()

    def on_train_begin(self, logs=None):
        if self.resume is not None:
            restore(self.resume, self.model)
        self._last_save = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            if is_number(value):
                self.history.setdefault(key, []).append(float(value))
        # The last epoch is never saved: a trial killed after it runs that epoch again, so
        # that its fit (and what keras-tuner writes after it) always runs.
        # Epochs shorter than `min_seconds` since the last save are not saved: redoing them
        # costs less than writing the state every time (the search overhead of short trials).
        now = time.monotonic()
        if (
            epoch + 1 < self.params.get("epochs", math.inf)
            and now - self._last_save >= self.min_seconds
        ):
            save(self.trial_dir, self.model, epoch, self.history)
            self._last_save = time.monotonic()


def min_seconds_between_saves(environ=None) -> float:
    """``KFX_EPOCH_STATE_SECONDS`` (default :data:`MIN_SECONDS`): the least training time
    between two saves of a trial's epoch state; 0 saves every epoch."""
    environ = os.environ if environ is None else environ
    raw = environ.get("KFX_EPOCH_STATE_SECONDS", str(MIN_SECONDS))
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        fail("kfx.tuning", "KFX_EPOCH_STATE_SECONDS", raw, "a number of seconds >= 0",
             kind="environment variable")  # fmt: skip
    return value


def _describe(print_: dict[str, Any]) -> str:
    shapes = print_.get("weights") or []
    return f"{len(shapes)} weights of shapes {shapes[:4]}{' ...' if len(shapes) > 4 else ''}, optimizer {print_.get('optimizer')}"


def _unusable(path: Path, got: str, accepted: str = ACCEPTED):
    fail("kfx.tuning", str(path), got, accepted, error=StateError, kind="epoch state file")
