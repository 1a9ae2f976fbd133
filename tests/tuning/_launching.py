"""Real ``kfx tune`` searches for the tests: a search script, the launcher as a process, and
helpers that read what it left (marks per trial, trial states) and stop what it started by PID.

Shared by test_launcher.py, test_resume_trial.py and test_heartbeat.py (loaded by
tests/tuning/conftest.py as the module ``tuning_launching``).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is no longer running.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def kill_leftovers(pids, marker: str) -> None:
    """SIGKILL the listed processes that are still ours (their command line has `marker`)."""
    for pid in pids:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


TRIALS = 6
SEARCH_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import keras, keras_tuner, numpy as np
    from kfx.tuning import search

    marks = Path(sys.argv[1])
    marks.mkdir(parents=True, exist_ok=True)

    class HyperModel(keras_tuner.HyperModel):
        def build(self, hp):
            model = keras.Sequential([
                keras.Input((4,)),
                keras.layers.Dense(hp.Int("units", 1, 100000), activation="relu"),
                keras.layers.Dense(1),
            ])
            model.compile("adam", "mse")
            return model

        def fit(self, hp, model, *args, **kwargs):
            units, pid = hp.values["units"], os.getpid()
            (marks / f"start_{units}_{pid}").touch()
            history = model.fit(*args, **kwargs)
            time.sleep(float(os.environ.get("TRIAL_SLEEP", "1.5")))  # time to kill us mid-trial
            (marks / f"done_{units}_{pid}").touch()
            return history

    x = np.random.default_rng(0).random((16, 4)).astype("float32")
    search(HyperModel(), x, x.sum(axis=1), validation_data=(x, x.sum(axis=1)),
           max_trials=int(sys.argv[2]), epochs=1, directory=str(marks / "project"),
           log_dir=str(marks / "hparams"), seed=7)
    """
)


class Run:
    """``kfx tune`` (via ``python -m kfx.tuning.launcher``) as a process, with its output file."""

    def __init__(
        self,
        tmp_path: Path,
        name: str,
        trials: int = TRIALS,
        *,
        prefix: tuple[str, ...] = (),
        workers: tuple[str, ...] = ("--workers", "2"),
        env: dict[str, str] | None = None,
        launcher_command: tuple[str, ...] = (sys.executable, "-m", "kfx.tuning.launcher"),
        script: str = SEARCH_SCRIPT,
        options: tuple[str, ...] = (),
    ):
        """`prefix` goes before the launcher (``srun -n 3``), `workers` and `options` are its
        options; `script` is the search script, run with the marks folder and `trials`."""
        self.tmp_path = tmp_path
        self.marks = tmp_path / "marks"
        self.out = tmp_path / f"{name}.out"
        script_text, script = script, tmp_path / "search_script.py"
        script.write_text(script_text)
        command = [
            *prefix,
            *launcher_command,
            *workers,
            *options,
            "--log-dir",
            str(tmp_path / "logs"),
            "--timeout",
            "240",
            "--",
            sys.executable,
            str(script),
            str(self.marks),
            str(trials),
        ]
        with open(self.out, "wb") as out:
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        self.ended_at = None

    def pids(self) -> dict[str, int]:
        text = self.out.read_text(errors="replace") if self.out.exists() else ""
        return {m[1]: int(m[2]) for m in re.finditer(r"kfx tune: (\w+) pid (\d+)", text)}

    def all_pids(self) -> list[int]:
        text = self.out.read_text(errors="replace") if self.out.exists() else ""
        return [int(m[1]) for m in re.finditer(r" pid (\d+)", text)]

    def wait(self, timeout: float) -> int:
        status = self.proc.wait(timeout=timeout)
        self.ended_at = time.time()
        return status

    def stop(self) -> None:
        """Stop the launcher (it stops its children), then anything of ours still alive."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        kill_leftovers(self.all_pids(), str(self.tmp_path))

    def marks_of(self, kind: str) -> list[tuple[int, int]]:
        return [tuple(int(v) for v in p.name.split("_")[1:]) for p in self.marks.glob(f"{kind}_*")]


def wait_for(predicate, timeout: float, what: str, run: Run):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if run.proc.poll() is not None:
            break
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}:\n{run.out.read_text(errors='replace')[-3000:]}")


def trial_states(project: Path) -> dict[str, tuple[str, int | None]]:
    states = {}
    for path in project.glob("trial_*/trial.json"):
        try:
            trial = json.loads(path.read_text())
        except ValueError:  # cut short by a kill: kfx restores it on resume
            continue
        units = trial["hyperparameters"]["values"].get("units")
        states[trial["trial_id"]] = (trial["status"], units)
    return states


#: A search whose trials run `EPOCHS` epochs (6) and mark each epoch begun; with
#: ``--reference UNITS OUT`` it trains that model once, uninterrupted, and saves its weights.
EPOCHS_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import keras, keras_tuner, numpy as np
    from kfx.tuning import search

    EPOCHS = int(os.environ.get('EPOCHS', '6'))

    def build(hp):
        units = hp.Int("units", 1, 1000)
        init = keras.initializers.GlorotUniform(seed=units)
        model = keras.Sequential([
            keras.Input((4,)),
            keras.layers.Dense(units, activation="relu", kernel_initializer=init),
            keras.layers.Dense(1, kernel_initializer=init),
        ])
        model.compile(keras.optimizers.Adam(0.01), "mse")
        return model

    class Marks(keras.callbacks.Callback):
        # One line per epoch begun ("<epoch> <pid>"); the final weights at the end.
        def __init__(self, marks):
            super().__init__()
            self.marks = marks

        def on_train_begin(self, logs=None):
            self.units = self.model.layers[0].units

        def on_epoch_begin(self, epoch, logs=None):
            with open(self.marks / f"epochs_{self.units}.txt", "a") as f:
                f.write(f"{epoch} {os.getpid()}\\n")
            time.sleep(float(os.environ.get("EPOCH_SLEEP", "0.6")))  # time to kill us

        def on_train_end(self, logs=None):
            np.savez(self.marks / f"final_{self.units}.npz", *self.model.get_weights())

    x = np.random.default_rng(0).random((64, 4)).astype("float32")
    fit = dict(epochs=EPOCHS, batch_size=16, shuffle=False)  # the data order is fixed
    if sys.argv[1] == "--reference":  # one uninterrupted run of the model with these units
        hp = keras_tuner.HyperParameters()
        hp.Fixed("units", int(sys.argv[2]))
        model = build(hp)
        model.fit(x, x.sum(axis=1), verbose=0, **fit)
        np.savez(sys.argv[3], *model.get_weights())
        sys.exit()
    marks = Path(sys.argv[1])
    marks.mkdir(parents=True, exist_ok=True)
    search(build, x, x.sum(axis=1), validation_data=(x, x.sum(axis=1)),
           max_trials=int(sys.argv[2]), directory=str(marks / "project"), seed=7,
           callbacks=[Marks(marks)], **fit)
    """
)


def epochs_begun(marks, units) -> list[tuple[int, int]]:
    path = marks / f"epochs_{units}.txt"
    lines = path.read_text().splitlines() if path.exists() else []
    return [tuple(int(v) for v in line.split()) for line in lines]


def in_epoch(marks, epoch: int):
    """(units, pid) of a trial whose epoch `epoch` (0-based) has begun, or None."""
    for path in marks.glob("epochs_*.txt"):
        units = int(path.stem.split("_")[1])
        begun = epochs_begun(marks, units)
        if begun and begun[-1][0] == epoch:
            return units, begun[-1][1]
    return None
