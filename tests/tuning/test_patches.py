"""kfx.tuning._patches: kfx's patches of keras-tuner objects, installed and removed for real."""

from __future__ import annotations

import ast
import pathlib

import keras
import keras_tuner
import numpy as np
import pytest

import kfx
from kfx.tuning import _patches, make_tuner

X = np.random.default_rng(0).random((16, 4)).astype("float32")
Y = X.sum(axis=1)


def _oracle(tmp_path):
    tuner = keras_tuner.RandomSearch(
        lambda hp: None, objective="val_loss", max_trials=3, directory=tmp_path
    )
    oracle = tuner.oracle
    oracle.verbose = 0
    oracle.hyperparameters.Int("units", 1, 100)
    return oracle


def _run_one_trial(oracle, tuner_id="tuner0"):
    trial = oracle.create_trial(tuner_id)
    oracle.update_trial(trial.trial_id, {"val_loss": 1.0})
    trial.status = "COMPLETED"
    oracle.end_trial(trial)
    return trial


def test_the_patched_methods_exist_in_this_keras_tuner():
    oracle_class = keras_tuner.Oracle
    for name in _patches.ORACLE_METHODS:
        assert callable(getattr(oracle_class, name, None)), name
    assert callable(getattr(keras_tuner.HyperModel, "build", None))


def test_watch_reports_created_and_ended_trials_then_unwatch_removes_it(tmp_path):
    oracle = _oracle(tmp_path)
    created, ended = [], []
    _patches.watch_oracle(
        oracle,
        on_create=lambda trial: created.append((trial.trial_id, trial.status)),
        on_end=lambda trial, runner: ended.append((trial.trial_id, runner, trial.status)),
    )
    assert _patches.is_watched(oracle)
    assert set(_patches.ORACLE_METHODS) <= set(vars(oracle))
    trial = _run_one_trial(oracle, "tuner7")
    assert created == [(trial.trial_id, "RUNNING")]
    assert ended == [(trial.trial_id, "tuner7", "COMPLETED")]
    assert oracle.trials[trial.trial_id].status == "COMPLETED"  # the real end_trial ran
    _patches.unwatch_oracle(oracle)
    assert not _patches.is_watched(oracle)
    assert not set(_patches.ORACLE_METHODS) & set(vars(oracle))
    _run_one_trial(oracle)  # the class' methods again: nothing reported
    assert len(created) == 1 and len(ended) == 1


def test_an_ended_trial_nobody_ran(tmp_path):
    oracle = _oracle(tmp_path)
    trial = oracle.create_trial("tuner0")
    oracle.update_trial(trial.trial_id, {"val_loss": 1.0})
    oracle.ongoing_trials.clear()  # e.g. taken off the list by a repair
    runners = []
    _patches.watch_oracle(oracle, on_end=lambda trial, runner: runners.append(runner))
    trial.status = "COMPLETED"
    oracle.end_trial(trial)
    assert runners == ["?"]


def test_watch_is_never_stacked_and_unwatch_keeps_what_is_not_kfx(tmp_path):
    oracle = _oracle(tmp_path)
    _patches.watch_oracle(oracle)
    with pytest.raises(_patches.PatchError, match="already replaced"):
        _patches.watch_oracle(oracle)
    _patches.unwatch_oracle(oracle)
    _patches.unwatch_oracle(oracle)  # twice: nothing left to remove, no error
    theirs = oracle.create_trial
    oracle.create_trial = theirs  # someone else's instance attribute
    _patches.unwatch_oracle(oracle)
    assert vars(oracle)["create_trial"] is theirs


def test_a_renamed_method_fails_clearly():
    class FutureOracle:  # a keras-tuner release whose oracle renamed create_trial
        ongoing_trials: dict = {}

        def end_trial(self, trial):
            pass

    with pytest.raises(_patches.PatchError, match="FutureOracle has no method `create_trial`"):
        _patches.watch_oracle(FutureOracle())
    with pytest.raises(_patches.PatchError, match="has no method `build`"):
        with _patches.wrapped_build(object()):
            pass


def _model(hp):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hp.Int("units", 1, 4))])
    model.compile("adam", "mse")
    return model


class _SubclassedHyperModel(keras_tuner.HyperModel):
    def build(self, hp):
        return _model(hp)


@pytest.mark.parametrize("kind", ["function", "subclass"])
def test_wrapped_build_calls_around_build_and_restores_it(kind, tmp_path):
    given = _model if kind == "function" else _SubclassedHyperModel()
    # keras-tuner's own hypermodel of a tuner: a build(hp) function becomes an instance
    # attribute of a DefaultHyperModel, a HyperModel subclass has it on its class.
    hypermodel = keras_tuner.RandomSearch(
        given, objective="val_loss", directory=tmp_path
    ).hypermodel
    had_own = "build" in vars(hypermodel)
    original = hypermodel.build
    calls = []
    with _patches.wrapped_build(
        hypermodel, before=lambda: calls.append("before"), after=lambda m: calls.append(m)
    ):
        assert "build" in vars(hypermodel)
        model = hypermodel.build(keras_tuner.HyperParameters())
    assert calls == ["before", model] and isinstance(model, keras.Model)
    assert ("build" in vars(hypermodel)) is had_own
    assert hypermodel.build == original


def test_wrapped_build_restores_build_when_it_raises():
    hypermodel = _SubclassedHyperModel()
    original = hypermodel.build
    with pytest.raises(ZeroDivisionError):
        with _patches.wrapped_build(hypermodel, before=lambda: 1 / 0):
            hypermodel.build(keras_tuner.HyperParameters())
    assert hypermodel.build == original and not hasattr(hypermodel.build, _patches.MARKER)


def test_a_build_on_the_class_only_is_shown_through_again():
    class Plain:  # not a keras-tuner HyperModel: `build` lives on the class alone
        def build(self, hp):
            return hp

    plain = Plain()
    with _patches.wrapped_build(plain):
        assert "build" in vars(plain) and plain.build(3) == 3
    assert "build" not in vars(plain)


def test_a_search_patches_only_while_it_runs(tmp_path):
    seen, made = [], []

    class Recording(_SubclassedHyperModel):
        def build(self, hp):
            wrapped = hasattr(self.build, _patches.MARKER)
            seen.append((wrapped, bool(made) and _patches.is_watched(made[0].oracle)))
            return super().build(hp)

    hypermodel = Recording()
    made.append(make_tuner(hypermodel, max_trials=2, directory=tmp_path))
    seen.clear()  # the tuner builds the search space once when it is made
    tuner = kfx.tuning.search(None, X, Y, validation_data=(X, Y), tuner=made[0], epochs=1)
    # One build a trial, each inside the search.
    assert seen == [(True, True)] * 2
    assert not hasattr(hypermodel.build, _patches.MARKER) and not _patches.is_watched(tuner.oracle)
    assert not set(_patches.ORACLE_METHODS) & set(vars(tuner.oracle))


def test_adopt_class(tmp_path):
    plain = keras_tuner.RandomSearch(_model, objective="val_loss", directory=tmp_path)
    cls = kfx.tuning.tuner_class(keras_tuner.RandomSearch)
    _patches.adopt_class(plain, cls)
    assert type(plain) is cls
    with pytest.raises(_patches.PatchError, match="is not a subclass of"):
        _patches.adopt_class(plain, keras_tuner.Hyperband)


def test_no_other_kfx_module_patches_keras_tuner():
    """Assignments to the patched names happen in _patches.py alone."""
    package = pathlib.Path(kfx.__file__).parent
    patched = {*_patches.ORACLE_METHODS, "build", "__class__"}
    users = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else []
            for target in targets:
                for element in target.elts if isinstance(target, ast.Tuple) else [target]:
                    if isinstance(element, ast.Attribute) and element.attr in patched:
                        users.add(path.relative_to(package).as_posix())
    assert users == {"tuning/_patches.py"}
