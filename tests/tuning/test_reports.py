"""kfx.tuning.reports: the per-trial lines and the summary of a search."""

from __future__ import annotations

import re

import keras
import keras_tuner
import numpy as np
import pytest

from kfx.tuning import reports, search, tuners

X = np.random.default_rng(0).random((16, 4)).astype("float32")
Y = X.sum(axis=1)


def build(hp):
    units = hp.Choice("units", [2, 3, 4, 5])
    if units == 3:
        raise ValueError("3 units are not allowed")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(units), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    return model


@pytest.fixture(scope="module")
def tuner(tmp_path_factory):
    directory = tmp_path_factory.mktemp("reports")
    return search(build, X, Y, validation_data=(X, Y), tuner="grid", epochs=1, directory=directory)


def test_summary_of_a_real_search(tuner):
    text = reports.summary(tuner, top=2, elapsed=3.25)
    lines = text.splitlines()
    assert lines[0] == (
        f"search done in 3.2 s: 4 trials, 3 completed, 1 failed (project {tuner.project_dir})"
    )
    best = tuner.oracle.get_best_trials(1)[0]
    assert lines[1] == f"best val_loss: {best.score:.4g} (trial {best.trial_id})"
    assert re.fullmatch(r"rank\s+trial\s+val_loss\s+units", lines[2])
    assert len(lines) == 5  # the header and the top 2
    ranks = [line.split() for line in lines[3:]]
    assert [r[0] for r in ranks] == ["1", "2"] and ranks[0][1] == best.trial_id
    scores = [float(r[2]) for r in ranks]
    assert scores == sorted(scores)  # val_loss: lower is better
    assert all(r[3] in {"2", "4", "5"} for r in ranks)  # never the failed width
    # Columns line up.
    starts = {[m.start() for m in re.finditer(r"\S+", line)][2] for line in lines[2:]}
    assert len(starts) == 1
    assert reports.summary(tuner).startswith("search: 4 trials")
    assert tuners.summary is reports.summary  # kept where scripts import it from


def test_summary_without_a_completed_trial(tmp_path):
    empty = keras_tuner.RandomSearch(build, objective="val_loss", directory=tmp_path)
    assert reports.summary(empty).splitlines() == [
        f"search: 0 trials, 0 completed, 0 failed (project {empty.project_dir})",
        "no completed trial",
    ]


def test_trial_lines():
    values = {"units": 4, "lr": 0.000123456, "tuner/epochs": 3, "tuner/trial_id": "2"}
    line = reports.trial_line("7", "COMPLETED", values, "val_acc", 0.912345, 2.04, who="tuner1")
    assert (
        line
        == "[tuner1] trial 7 completed in 2.0 s: val_acc=0.9123 | units=4, lr=0.0001235, epochs=3"
    )
    assert reports.trial_line("7", "COMPLETED", {}, "val_acc", None, None) == (
        "trial 7 completed: no score | "
    )
    failed = reports.trial_line(
        "8", "FAILED", {"units": 3}, "val_acc", None, 0.5, traceback_file="t/traceback.txt"
    )
    assert failed == "trial 8 FAILED in 0.5 s: FAILED | units=3 | traceback: t/traceback.txt"
    assert reports.trial_line("9", "INVALID", {}, "v", None, None, error="E: x").startswith(
        "trial 9 FAILED: E: x"
    )


def test_last_line():
    assert reports.last_line("Traceback:\n  File x\nKeyError: 'a'\n  \n") == "KeyError: 'a'"
    assert reports.last_line("") is None and reports.last_line(None) is None


def test_metric_series_of_a_real_fit_and_best_score():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(X, Y, validation_data=(X, Y), epochs=3, verbose=0)
    series = reports.metric_series(history, "val_loss")
    assert set(series) == {"loss", "val_loss"} and len(series["val_loss"]) == 3
    assert series["val_loss"] == pytest.approx(history.history["val_loss"])
    objective = keras_tuner.Objective("val_loss", "min")
    assert reports.best_score(series, objective) == min(series["val_loss"])
    maximized = keras_tuner.Objective("val_loss", "max")
    assert reports.best_score(series, maximized) == max(series["val_loss"])
    # Two executions of a trial: averaged epoch by epoch, over the shorter one.
    twice = reports.metric_series([{"val_loss": [1.0, 2.0]}, 3.0], "val_loss")
    assert twice == {"val_loss": [3.0]}  # the list is not a number: only the 3.0 counts
    runs = [{"val_loss": 1.0, "acc": float("nan")}, {"val_loss": 2.0}]
    assert reports.metric_series(runs, "val_loss") == {"val_loss": [1.5]}
    assert reports.best_score({}, objective) is None


def test_worker_line():
    stats = {"trials": 2, "failed": 0, "requests": 4, "idle": 1, "idle_seconds": 0.1}
    assert reports.worker_line("tuner0", 1.0, stats) == (
        "[tuner0] done in 1.0 s: ran 2 trials (0 failed); 4 trial requests, "
        "1 answered idle, 0.1 s in backoff"
    )
