"""Resume inside a trial (kfx.tuning._epochs through TunerMixin): a trial run again starts
after its last completed epoch, with the model and optimizer of that epoch.

The first tests stop a local search in the middle of a trial (a callback raises a
BaseException, which keras-tuner does not catch, as a kill would leave it) and run it again
in this process, with the saved epoch intact, damaged or of another model. The last one
SIGKILLs a ``kfx tune`` worker during epoch 4 of 6 and checks what the restarted worker did.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest
from tuning_launching import EPOCHS_SCRIPT, Run, epochs_begun, in_epoch, trial_states, wait_for

from kfx.tuning import _epochs, search


@pytest.fixture(autouse=True)
def _save_every_epoch(monkeypatch):
    """The epochs here are shorter than the default least time between saves: save each."""
    monkeypatch.setenv("KFX_EPOCH_STATE_SECONDS", "0")


EPOCHS = 6


class Crash(BaseException):
    """Ends the search like a kill: keras-tuner catches only Exception."""


class Epochs(keras.callbacks.Callback):
    """Appends each epoch begun to the file `log` (keras-tuner runs a deep copy of it);
    raises Crash when epoch `crash_at` begins."""

    def __init__(self, log, crash_at=None):
        super().__init__()
        self.log, self.crash_at = str(log), crash_at

    def on_epoch_begin(self, epoch, logs=None):
        with open(self.log, "a") as file:
            file.write(f"{epoch}\n")
        if epoch == self.crash_at:
            raise Crash


def _begun(log) -> list[int]:
    return [int(line) for line in log.read_text().split()] if log.exists() else []


def _builder(extra_units=0):
    def build(hp):
        units = hp.Int("units", 2, 8)
        init = keras.initializers.GlorotUniform(seed=units)
        model = keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Dense(units + extra_units, "relu", kernel_initializer=init),
                keras.layers.Dense(1, kernel_initializer=init),
            ]
        )
        model.compile(keras.optimizers.Adam(0.01), "mse")
        return model

    return build


def _search(tmp_path, log, *, crash_at=None, build=None):
    x = np.random.default_rng(0).random((32, 4)).astype("float32")
    return search(
        build or _builder(),
        x,
        x.sum(axis=1),
        validation_data=(x, x.sum(axis=1)),
        max_trials=1,
        epochs=EPOCHS,
        batch_size=8,
        shuffle=False,
        directory=str(tmp_path),
        seed=1,
        callbacks=[Epochs(log, crash_at)],
    )


def _crashed_at_epoch_3(tmp_path):
    """A search stopped as epoch 3 began: its one trial running, epoch 2 saved."""
    with pytest.raises(Crash):
        _search(tmp_path, tmp_path / "first.txt", crash_at=3)
    assert _begun(tmp_path / "first.txt") == [0, 1, 2, 3]
    trial_dir = next((tmp_path / "kfx").glob("trial_*"))
    state = _epochs.read(trial_dir)
    assert state.epoch == 2 and len(state.history["val_loss"]) == 3
    return trial_dir


def _completed(tuner):
    (trial,) = tuner.oracle.trials.values()
    assert trial.status == "COMPLETED"
    return trial


def test_a_stopped_trial_resumes_at_its_next_epoch(tmp_path, capsys):
    trial_dir = _crashed_at_epoch_3(tmp_path)
    tuner = _search(tmp_path, tmp_path / "second.txt")
    assert _begun(tmp_path / "second.txt") == [
        3,
        4,
        5,
    ]  # epochs run in all: 3 + 1 (the one cut short) + 3
    assert "resumed at epoch 3" in capsys.readouterr().out
    resumed = _completed(tuner)
    assert not (trial_dir / _epochs.STATE_DIR).exists()  # removed once the trial ended
    # As an uninterrupted run (seeded init, no shuffling): the same score and best epoch
    # (the epochs before the stop are back in the trial's history), the same weights.
    (tmp_path / "again").mkdir()
    plain_tuner = _search(tmp_path / "again", tmp_path / "plain.txt")
    plain = _completed(plain_tuner)
    assert resumed.best_step == plain.best_step
    np.testing.assert_allclose(resumed.score, plain.score, rtol=1e-5)
    weights = tuner.get_best_models()[0].get_weights()
    for a, b in zip(weights, plain_tuner.get_best_models()[0].get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("damage", ["state_cut_short", "weights_cut_short", "state_not_kfx"])
def test_a_damaged_epoch_state_is_moved_aside_and_the_trial_restarts(tmp_path, damage):
    trial_dir = _crashed_at_epoch_3(tmp_path)
    folder = trial_dir / _epochs.STATE_DIR
    state_file = folder / _epochs.STATE_FILE
    if damage == "state_cut_short":
        state_file.write_text(state_file.read_text()[:40])
    elif damage == "weights_cut_short":
        weights = next(folder.glob("*.weights.h5"))
        weights.write_bytes(weights.read_bytes()[:100])
    else:
        state_file.write_text(json.dumps({"epoch": 2}))
    with pytest.warns(RuntimeWarning, match=r"epoch state file .* moved to .*kfx_epoch\.damaged"):
        tuner = _search(tmp_path, tmp_path / "second.txt")
    assert _begun(tmp_path / "second.txt") == list(
        range(EPOCHS)
    )  # from epoch 0, and the search did not crash
    _completed(tuner)
    assert (trial_dir / _epochs.ASIDE_DIR / _epochs.STATE_FILE).exists()


def test_an_epoch_state_of_another_model_is_moved_aside(tmp_path):
    trial_dir = _crashed_at_epoch_3(tmp_path)
    with pytest.warns(RuntimeWarning, match=r"the epoch state of another model") as caught:
        tuner = _search(tmp_path, tmp_path / "second.txt", build=_builder(extra_units=3))
    (message,) = [str(w.message) for w in caught if "another model" in str(w.message)]
    assert str(trial_dir / _epochs.STATE_DIR / _epochs.STATE_FILE) in message
    assert "expected the state of this trial's model" in message
    assert _begun(tmp_path / "second.txt") == list(range(EPOCHS))
    _completed(tuner)


def test_read_names_the_file_and_what_is_accepted(tmp_path):
    assert _epochs.read(tmp_path) is None  # no state: nothing to resume
    state_file = tmp_path / _epochs.STATE_DIR / _epochs.STATE_FILE
    state_file.parent.mkdir()
    state_file.write_text('{"epoch": 2, "wei')
    with pytest.raises(
        ValueError, match=r"epoch state file `.*state\.json` got .*cut short"
    ) as err:
        _epochs.read(tmp_path)
    assert isinstance(err.value, _epochs.StateError)
    assert "expected the JSON object kfx writes at the end of an epoch" in str(err.value)


# -- a real kfx tune search ---------------------------------------------------------------------


@pytest.mark.slow
def test_a_killed_worker_resumes_its_trial_at_the_next_epoch(tmp_path):
    """SIGKILL the worker during epoch 4 of 6: the restarted worker runs epochs 4 to 6 of
    that trial (7 epochs begun in all, one of them cut short), and its final model equals
    one trained without interruption."""
    run = Run(tmp_path, "run", 1, workers=("--workers", "1"), script=EPOCHS_SCRIPT)
    try:
        units, pid = wait_for(lambda: in_epoch(run.marks, 3), 180, "epoch 4 of a trial", run)
        os.kill(pid, signal.SIGKILL)
        status = run.wait(timeout=240)
        out = run.out.read_text(errors="replace")
        assert status == 0, out[-3000:]
        assert "tuner0 exited with status 137; restart 1/3" in out
    finally:
        run.stop()
    begun = epochs_begun(run.marks, units)
    assert len(begun) <= EPOCHS + 1
    assert [epoch for epoch, p in begun if p == pid] == [0, 1, 2, 3]
    assert [epoch for epoch, p in begun if p != pid] == [3, 4, 5]
    worker_log = (tmp_path / "logs" / "tuner0.log").read_text()
    assert "resumed at epoch 3" in worker_log
    project = run.marks / "project" / "kfx"
    states = trial_states(project)
    assert len(states) == 1 and {s for s, _ in states.values()} == {"COMPLETED"}, states
    assert not list(project.glob(f"trial_*/{_epochs.STATE_DIR}"))  # removed at the trials' end
    reference = tmp_path / "reference.npz"
    subprocess.run(
        [sys.executable, str(tmp_path / "search_script.py"), "--reference", str(units)]
        + [str(reference)],
        check=True,
        timeout=120,
        capture_output=True,
    )
    resumed, plain = np.load(run.marks / f"final_{units}.npz"), np.load(reference)
    assert len(resumed.files) == len(plain.files) == 4
    for key in plain.files:
        np.testing.assert_allclose(resumed[key], plain[key], rtol=1e-5, atol=1e-6)


def test_epochs_shorter_than_the_least_time_between_saves_are_not_saved(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    x = np.ones((4, 2), "float32")
    checkpoint = _epochs.EpochCheckpoint(tmp_path, min_seconds=3600)
    model.fit(x, x[:, 0], epochs=3, verbose=0, callbacks=[checkpoint])
    assert _epochs.read(tmp_path) is None
    assert not (tmp_path / _epochs.STATE_DIR).exists()


@pytest.mark.parametrize("raw", ["-1", "soon", "nan"])
def test_the_least_time_between_saves_must_be_a_non_negative_number(raw):
    with pytest.raises(ValueError, match=r"KFX_EPOCH_STATE_SECONDS.*a number of seconds >= 0"):
        _epochs.min_seconds_between_saves({"KFX_EPOCH_STATE_SECONDS": raw})
    assert _epochs.min_seconds_between_saves({}) == _epochs.MIN_SECONDS
