"""kfx.callbacks._epoch_logger: when the loggers log, how they warn, what a copy keeps."""

import copy
import warnings

import keras
import numpy as np
import pytest

from kfx.callbacks._epoch_logger import EpochLogger


class Recorder(EpochLogger):
    _TRANSIENT = ("built",)

    def __init__(self, every_n_epochs=1):
        super().__init__(every_n_epochs)
        self.logged = []
        self.built = None

    def on_train_begin(self, logs=None):
        self.built = object()

    def _log(self, epoch):
        self.logged.append(epoch)


def fit(callback, epochs=5):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(np.zeros((4, 2)), np.zeros(4), epochs=epochs, verbose=0, callbacks=[callback])


def test_logs_every_n_epochs_of_a_real_fit():
    recorder = Recorder(every_n_epochs=2)
    fit(recorder)
    assert recorder.logged == [1, 3]


def test_is_chief_only_and_logs_on_the_chief_only(monkeypatch):
    assert EpochLogger.chief_only is True
    monkeypatch.setenv(
        "TF_CONFIG",
        '{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}',
    )
    recorder = Recorder()
    fit(recorder, epochs=2)
    assert recorder.logged == []


@pytest.mark.parametrize("every", [0, -1, 1.5, True])
def test_bad_every_n_epochs(every):
    with pytest.raises(ValueError, match="Recorder: argument `every_n_epochs`"):
        Recorder(every)


def test_folders_warn_once_and_training_goes_on(tmp_path):
    recorder = Recorder()
    blocked = tmp_path / "file"
    blocked.write_text("x")
    with pytest.warns(RuntimeWarning, match="Recorder: cannot create npz folder.*training goes on"):
        assert recorder._prepare_dir(blocked / "npz", "npz") is None
    assert recorder._prepare_dir(None, "npz") is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one warning per output: the npz output is done
        assert recorder._prepare_dir(blocked / "again", "npz") is None
    recorder = Recorder()
    folder = recorder._prepare_dir(tmp_path / "a" / "b", "npz")
    assert folder.is_dir() and recorder._usable(folder, "npz")
    folder.rmdir()
    with pytest.warns(RuntimeWarning, match="vanished during training"):
        assert not recorder._usable(folder, "npz")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second problem with the same output stays quiet
        assert not recorder._usable(folder, "npz")
    assert not folder.exists()  # not recreated


def test_deep_copy_keeps_settings_not_what_was_built_for_the_model():
    recorder = Recorder(every_n_epochs=3)
    fit(recorder, epochs=3)
    recorder._warned.add("npz")
    clone = copy.deepcopy(recorder)
    assert clone.every_n_epochs == 3 and clone.logged == [2] and clone.logged is not recorder.logged
    assert clone.model is None and clone.built is None and clone._warned == set()
    assert recorder.model is not None and recorder.built is not None
