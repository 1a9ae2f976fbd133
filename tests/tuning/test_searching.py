"""kfx.tuning.searching: one-call searches, reports, resume and failed trials."""

from __future__ import annotations

import inspect
import pydoc
import re

import keras
import keras_tuner
import numpy as np
import pytest

import kfx
from kfx.tuning import make_tuner, search

X = np.random.default_rng(0).random((16, 4)).astype("float32")
Y = X.sum(axis=1)


class Counting(keras_tuner.HyperModel):
    """A tiny regression model that counts its fits and can refuse a width."""

    def __init__(self, bad_units=None):
        super().__init__()
        self.fits: list[int] = []
        self.bad_units = bad_units

    def build(self, hp):
        units = hp.Int("units", 1, 10_000)
        if units == self.bad_units:
            raise ValueError(f"units={units} is not allowed")
        model = keras.Sequential(
            [keras.Input((4,)), keras.layers.Dense(units, activation="relu"), keras.layers.Dense(1)]
        )
        model.compile("adam", "mse")
        return model

    def fit(self, hp, model, *args, **kwargs):
        self.fits.append(hp.values["units"])
        return model.fit(*args, **kwargs)


def _search(tmp_path, hypermodel, **kwargs):
    kwargs.setdefault("epochs", 1)
    return search(hypermodel, X, Y, validation_data=(X, Y), directory=tmp_path, seed=3, **kwargs)


def test_function_is_exposed_lazily():
    assert kfx.tuning.search is search and callable(kfx.tuning.search)
    assert kfx.tuning.make_tuner is make_tuner


def test_search_prints_one_line_per_trial_and_a_table(tmp_path, capsys):
    hypermodel = Counting()
    tuner = _search(tmp_path, hypermodel, max_trials=3)
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("trial ")]
    assert len(lines) == 3
    assert all(
        re.match(r"trial \d completed in [\d.]+ s: val_loss=[\d.e+-]+ \| units=\d+", ln)
        for ln in lines
    )
    assert "3 trials, 3 completed, 0 failed" in out
    assert re.search(r"^rank\s+trial\s+val_loss\s+units$", out, re.MULTILINE)
    assert "Search: Running Trial" not in out  # keras-tuner's own tables are replaced
    assert "Epoch 1/1" not in out  # fit's verbose defaults to 0
    assert isinstance(tuner, keras_tuner.RandomSearch) and isinstance(tuner, kfx.tuning.TunerMixin)
    best = tuner.get_best_hyperparameters()[0].values["units"]
    assert best in hypermodel.fits and len(hypermodel.fits) == 3
    assert not (tmp_path / "logs").exists()  # no HParams without log_dir


def test_rerun_resumes_and_never_redoes_a_completed_trial(tmp_path, capsys):
    first = Counting()
    _search(tmp_path, first, max_trials=2)
    second = Counting()
    tuner = _search(tmp_path, second, max_trials=4)
    assert len(second.fits) == 2 and not set(second.fits) & set(first.fits)
    assert all(t.status == "COMPLETED" for t in tuner.oracle.trials.values())
    assert len(tuner.oracle.trials) == 4
    third = Counting()
    _search(tmp_path, third, max_trials=4)
    assert third.fits == []
    out = capsys.readouterr().out
    assert "Reloading Tuner" in out
    # overwrite=True starts over.
    fourth = Counting()
    tuner = _search(tmp_path, fourth, max_trials=1, overwrite=True)
    assert len(fourth.fits) == 1 and len(tuner.oracle.trials) == 1


def test_failed_trial_leaves_its_traceback_and_the_search_goes_on(tmp_path, capsys):
    def build(hp):
        units = hp.Choice("units", [4, 5, 8])
        if units == 5:
            raise ValueError("5 units are not allowed")
        model = keras.Sequential(
            [keras.Input((4,)), keras.layers.Dense(units), keras.layers.Dense(1)]
        )
        model.compile("adam", "mse")
        return model

    tuner = _search(tmp_path, build, tuner=keras_tuner.GridSearch)
    out = capsys.readouterr().out
    failed = [t for t in tuner.oracle.trials.values() if t.status == "FAILED"]
    assert len(failed) == 1 and len(tuner.oracle.trials) == 3
    trial_id = failed[0].trial_id
    traceback_file = tmp_path / "kfx" / f"trial_{trial_id}" / "traceback.txt"
    text = traceback_file.read_text()
    assert "Traceback (most recent call last)" in text
    assert "ValueError: 5 units are not allowed" in text
    line = next(ln for ln in out.splitlines() if ln.startswith(f"trial {trial_id} "))
    assert line == (
        f"trial {trial_id} FAILED in {line.split(' in ')[1].split(' s:')[0]} s: "
        f"ValueError: 5 units are not allowed | units=5 | traceback: {traceback_file}"
    )
    assert "3 trials, 2 completed, 1 failed" in out


def test_tuner_names_classes_and_instances(tmp_path, capsys):
    tuner = make_tuner(Counting(), "hyperband", epochs=3, max_trials=2, directory=tmp_path)
    assert isinstance(tuner, keras_tuner.Hyperband) and tuner.oracle.max_epochs == 3
    tuner.search(X, Y, validation_data=(X, Y), verbose=0)
    assert len(tuner.oracle.trials) == 2  # max_trials caps Hyperband too
    bayes = make_tuner(Counting(), "bayesian", directory=tmp_path, project_name="b")
    assert isinstance(bayes, keras_tuner.BayesianOptimization)

    plain = keras_tuner.RandomSearch(
        Counting(), objective="val_loss", max_trials=1, directory=tmp_path, project_name="plain"
    )
    returned = search(None, X, Y, validation_data=(X, Y), tuner=plain, epochs=1)
    assert returned is plain and isinstance(plain, kfx.tuning.TunerMixin)
    assert "1 trials, 1 completed, 0 failed" in capsys.readouterr().out


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="search: argument `tuner` got 'nope'; expected one of"):
        make_tuner(Counting(), "nope", directory=tmp_path)
    with pytest.raises(ValueError, match="argument `max_trials` got 0"):
        make_tuner(Counting(), max_trials=0, directory=tmp_path)
    with pytest.raises(ValueError, match="argument `epochs` got 1.5"):
        make_tuner(Counting(), epochs=1.5, directory=tmp_path)
    with pytest.raises(ValueError, match="argument `hypermodel` got None"):
        make_tuner(None, directory=tmp_path)
    with pytest.raises(ValueError, match="argument `tuner_kwargs`"):
        make_tuner(Counting(), tuner_kwargs=[1], directory=tmp_path)
    with pytest.raises(ValueError, match="build other tuners yourself"):
        make_tuner(Counting(), keras_tuner.Tuner, directory=tmp_path)
    plain = keras_tuner.RandomSearch(Counting(), objective="val_loss", directory=tmp_path)
    with pytest.raises(ValueError, match="None when `tuner` is a tuner instance"):
        search(Counting(), X, Y, tuner=plain)


def test_tuner_kwargs_reach_the_tuner(tmp_path):
    tuner = make_tuner(
        Counting(),
        directory=tmp_path,
        tuner_kwargs={"executions_per_trial": 2, "max_consecutive_failed_trials": 7},
    )
    assert tuner.executions_per_trial == 2
    assert tuner.oracle.max_consecutive_failed_trials == 7


def test_signature_shows_the_tuner_arguments():
    params = inspect.signature(search).parameters
    tuner_params = inspect.signature(make_tuner).parameters
    assert list(params)[:5] == ["hypermodel", "x", "y", "validation_data", "tuner"]
    for name, param in tuner_params.items():
        if name not in ("hypermodel", "tuner"):
            assert params[name].kind is param.KEYWORD_ONLY, name
            assert params[name].default == param.default, name
    assert list(params)[-1] == "fit_kwargs" and params["fit_kwargs"].kind is param.VAR_KEYWORD
    shown = pydoc.render_doc(search, renderer=pydoc.plaintext)
    assert "max_trials: 'int | None' = 10" in shown and "**fit_kwargs" in shown
    with pytest.raises(TypeError):
        search(Counting(), X, Y, (X, Y))  # validation_data is keyword-only, as before


def test_a_misspelled_tuner_argument_goes_to_fit(tmp_path, capsys):
    # Not a tuner argument, so a fit argument: every trial fails with fit's error, and
    # keras-tuner stops after max_consecutive_failed_trials (3) in a row.
    with pytest.raises(RuntimeError, match="consecutive failures exceeded the limit of 3"):
        _search(tmp_path, Counting(), max_trial=2)
    out = capsys.readouterr().out
    failed = [ln for ln in out.splitlines() if re.match(r"trial \d+ FAILED", ln)]
    assert len(failed) == 3
    assert all("unexpected keyword argument 'max_trial'" in ln for ln in failed)


def test_importing_kfx_tuning_stays_cheap(fresh_python):
    out = fresh_python(
        """
        import sys
        import kfx.tuning
        from kfx.tuning import search
        print(sorted(m for m in ("keras_tuner", "kfx.tuning.tuners", "tensorboard")
                     if m in sys.modules))
        """
    )
    assert out.strip().splitlines()[-1] == "[]"
