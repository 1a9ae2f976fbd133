"""kfx/distribute/callback_roles.py: which callbacks run on the chief only, which fit() refuses."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kfx.callbacks import ActivationLogger, GradientLogger
from kfx.distribute import is_chief_only
from kfx.distribute.callback_roles import split_callbacks

needs_tf = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="tf.distribute needs the TensorFlow backend"
)
X = np.array([[0.0, 1.0], [1.0, 0.0]], "float32")
Y = np.array([[0.0], [1.0]], "float32")


def test_kfx_loggers_are_chief_only(tmp_path):
    assert is_chief_only(ActivationLogger(X, log_dir=tmp_path / "a"))
    assert is_chief_only(GradientLogger((X, Y), log_dir=tmp_path / "g"))


def test_keras_writers_are_chief_only_and_the_others_are_not(tmp_path):
    writers = [
        keras.callbacks.ModelCheckpoint(str(tmp_path / "m.keras")),
        keras.callbacks.TensorBoard(str(tmp_path / "tb")),
        keras.callbacks.CSVLogger(str(tmp_path / "log.csv")),
        keras.callbacks.RemoteMonitor(),
    ]
    assert [is_chief_only(c) for c in writers] == [True] * 4
    readers = [
        keras.callbacks.EarlyStopping(),
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.ReduceLROnPlateau(),
        keras.callbacks.History(),
        keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr),
    ]
    assert [is_chief_only(c) for c in readers] == [False] * 5

    class MyCheckpoint(keras.callbacks.ModelCheckpoint):
        pass

    assert is_chief_only(MyCheckpoint(str(tmp_path / "n.keras")))  # a subclass writes too


def test_a_callback_own_attribute_decides(tmp_path):
    class Upload(keras.callbacks.Callback):
        chief_only = True

    class EveryWorkerCsv(keras.callbacks.CSVLogger):
        chief_only = False  # e.g. one file per worker

    class Undecided(keras.callbacks.CSVLogger):
        chief_only = None  # None: not set, Keras' class decides

    assert is_chief_only(Upload())
    assert not is_chief_only(EveryWorkerCsv(str(tmp_path / "a.csv")))
    assert is_chief_only(Undecided(str(tmp_path / "b.csv")))


def test_a_class_name_alone_does_not_make_a_callback_chief_only():
    class ProgressLogger(keras.callbacks.Callback):  # a "Logger" in kfx.callbacks' namespace
        pass

    ProgressLogger.__module__ = "kfx.callbacks.progress"
    assert not is_chief_only(ProgressLogger())


@needs_tf
def test_only_the_chief_runs_callbacks_with_side_effects(tmp_path):
    import tensorflow as tf

    strategy = tf.distribute.get_strategy()
    callbacks = [
        keras.callbacks.CSVLogger(str(tmp_path / "log.csv")),
        keras.callbacks.ModelCheckpoint(str(tmp_path / "m.keras")),
        keras.callbacks.TensorBoard(str(tmp_path / "tb")),
        keras.callbacks.EarlyStopping(patience=1),
        keras.callbacks.TerminateOnNaN(),
        GradientLogger((X, Y), log_dir=tmp_path / "g"),
    ]
    assert split_callbacks(callbacks, strategy, chief=True) == callbacks
    kept = split_callbacks(callbacks, strategy, chief=False)
    assert [type(c).__name__ for c in kept] == ["EarlyStopping", "TerminateOnNaN"]

    class Writes(keras.callbacks.Callback):
        chief_only = True

    assert split_callbacks([Writes()], strategy, chief=False) == []
    assert split_callbacks(None, strategy, chief=False) == []


@needs_tf
def test_refused_callbacks_and_non_callbacks(tmp_path):
    import tensorflow as tf

    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")

    class MyBackup(keras.callbacks.BackupAndRestore):
        pass

    with pytest.raises(
        ValueError, match=r"MyBackup cannot run under OneDeviceStrategy.*checkpoint_dir"
    ):
        split_callbacks([MyBackup(str(tmp_path))], strategy, chief=True)
    with pytest.raises(ValueError) as info:
        split_callbacks(["csv"], strategy, chief=True)
    assert str(info.value) == (
        "kfx.distribute.fit: argument `callbacks` got 'csv'; "
        "expected keras.callbacks.Callback instances."
    )
