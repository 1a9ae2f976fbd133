"""kfx.tuning.pruners: the rules alone, then real searches on the digits where half the
trials cannot learn (a learning rate of 1e-7 against 1e-2)."""

from __future__ import annotations

import collections

import keras
import pytest

from kfx import datasets
from kfx.tuning import ASHAPruner, MedianPruner, hparams, make_tuner, pruners, search
from kfx.tuning.pruners import TrialHistory

# -- the rules ----------------------------------------------------------------------------------


def _trials(status, *values_by_epoch):
    return [TrialHistory(str(i), status, values) for i, values in enumerate(values_by_epoch)]


def test_median_compares_with_completed_trials_at_the_same_epoch():
    done = _trials("COMPLETED", {1: 9.0, 2: 1.0}, {1: 9.0, 2: 2.0}, {1: 9.0, 2: 3.0})
    pruner = MedianPruner(warmup_epochs=1, min_trials=3)
    assert pruner.prune(2, 2.5, done, "min")
    assert not pruner.prune(2, 1.5, done, "min")
    assert not pruner.prune(2, 2.5, done, "max")  # better than the median when maximized
    assert not pruner.prune(1, 99.0, done, "min")  # warm-up: never at epoch 1
    assert not pruner.prune(3, 99.0, done, "min")  # nobody has an epoch 3
    # Running and pruned trials are not the reference; too few completed ones prune nothing.
    assert not pruner.prune(2, 2.5, done[:2] + _trials("STOPPED", {2: 0.1}), "min")
    assert MedianPruner(warmup_epochs=0, min_trials=1).prune(1, 10.0, done[:1], "min")
    assert pruner.prune(2, float("nan"), done, "min")


def test_asha_keeps_the_best_third_at_each_rung():
    pruner = ASHAPruner(min_epochs=2, reduction_factor=3)
    assert [pruner.rung(e) for e in (1, 2, 3, 6, 18)] == [None, 0, None, 1, 2]
    seen = _trials("COMPLETED", *({2: v} for v in (0.1, 0.2, 0.3, 0.4, 0.5)))
    assert not pruner.prune(2, 0.15, seen, "min")  # 6 at the rung: the best 2 go on
    assert pruner.prune(2, 0.25, seen, "min")
    assert not pruner.prune(3, 9.0, seen, "min")  # no rung at epoch 3
    # The first trials at a rung go on only if they are the best so far.
    assert not pruner.prune(2, 0.05, seen[:1], "min")
    assert pruner.prune(2, 0.15, seen[:1], "min")
    # Failed trials do not compete; pruned ones do (they reached the rung).
    assert not pruner.prune(2, 0.15, _trials("FAILED", {2: 0.1}), "min")
    assert pruner.prune(2, 0.15, _trials("STOPPED", {2: 0.1}), "min")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: MedianPruner(warmup_epochs=-1), "`warmup_epochs` got -1; expected an int >= 0"),
        (lambda: MedianPruner(min_trials=0), "`min_trials` got 0; expected a positive int"),
        (lambda: ASHAPruner(reduction_factor=1), "`reduction_factor` got 1; expected an int >= 2"),
        (lambda: ASHAPruner(min_epochs=0), "`min_epochs` got 0; expected a positive int"),
        (
            lambda: pruners.get("hyper"),
            "search: argument `pruner` got 'hyper'; expected None, 'median'",
        ),
    ],
)
def test_bad_pruners_name_the_argument(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_no_pruner_with_hyperband(tmp_path):
    with pytest.raises(ValueError, match="`pruner` got MedianPruner.*None with 'hyperband'"):
        make_tuner(lambda hp: None, "hyperband", pruner="median", directory=tmp_path)


# -- real searches --------------------------------------------------------------------------------

EPOCHS = 4
TRIALS = 8


@pytest.fixture(scope="module")
def digits():
    (x, y), (xv, yv) = datasets.digits()
    return x.reshape(len(x), -1)[:400], y[:400], xv.reshape(len(xv), -1)[:200], yv[:200]


def _build(hp):
    keras.utils.set_random_seed(0)  # the same weights and data order for the same values
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(hp.Int("units", 8, 64, step=8), activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        keras.optimizers.Adam(hp.Choice("lr", [1e-7, 1e-2])),
        "sparse_categorical_crossentropy",
        run_eagerly=True,  # a few steps a trial: faster than tracing them
    )
    return model


#: Epochs run by each search (keras-tuner deep-copies callbacks: they count here).
_RAN: collections.Counter = collections.Counter()


class _Epochs(keras.callbacks.Callback):
    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def on_epoch_end(self, epoch, logs=None):
        _RAN[self.name] += 1


def _search(digits, tmp_path, name, capsys, *, tuner="random", pruner=None, trials=TRIALS):
    x, y, xv, yv = digits
    found = search(
        _build,
        x,
        y,
        validation_data=(xv, yv),
        tuner=tuner,
        max_trials=trials,
        epochs=EPOCHS,
        batch_size=100,
        directory=tmp_path,
        project_name=name,
        log_dir=tmp_path / f"{name}_hparams",
        seed=3,
        pruner=pruner,
        callbacks=[_Epochs(name)],
    )
    return found, _RAN[name], capsys.readouterr().out


def test_median_pruning_stops_the_losers_and_keeps_the_best(digits, tmp_path, capsys):
    plain, plain_epochs, _ = _search(digits, tmp_path, "plain", capsys)
    tuner, epochs, out = _search(digits, tmp_path, "median", capsys, pruner="median")
    trials = tuner.oracle.trials
    assert [t.hyperparameters.values for t in trials.values()] == [
        t.hyperparameters.values for t in plain.oracle.trials.values()
    ]
    pruned = {tid: t for tid, t in trials.items() if t.status == "STOPPED"}
    # Once 3 trials completed, every trial that cannot learn stops after epoch warmup + 1.
    losers = [t for t in list(trials.values())[3:] if t.hyperparameters.values["lr"] == 1e-7]
    assert losers and all(t.trial_id in pruned for t in losers)
    assert all(t.best_step + 1 == 2 for t in pruned.values())
    # Its score is its last epoch's, and it never ranks before a completed trial.
    for t in pruned.values():
        history = t.metrics.get_history("val_loss")
        assert [obs.step for obs in history] == [0, 1]
        assert t.score == pytest.approx(history[-1].mean())
    best = tuner.oracle.get_best_trials(1)[0]
    assert best.status == "COMPLETED"
    assert best.hyperparameters.values == plain.oracle.get_best_trials(1)[0].hyperparameters.values
    assert epochs <= plain_epochs - (EPOCHS - 2) * len(losers)
    # Shown as pruned in the trial line, the final table and the HParams dashboard.
    some = next(iter(pruned))
    assert f"trial {some} pruned after epoch 2 in " in out
    assert (
        f"{TRIALS} trials, {TRIALS - len(pruned)} completed, {len(pruned)} pruned, 0 failed" in out
    )
    sessions = hparams.read_sessions(tmp_path / "median_hparams")
    assert sessions[f"trial_{some}"]["status"] == "pruned"
    assert "pruned after epoch 2" in sessions[f"trial_{some}"]["group"]
    assert {s["status"] for s in sessions.values()} == {"pruned", "success"}


@pytest.mark.parametrize("tuner", ["bayesian", "grid"])
def test_pruning_works_with_other_tuners(digits, tmp_path, capsys, tuner):
    found, epochs, out = _search(
        digits, tmp_path, tuner, capsys, tuner=tuner, pruner="median", trials=5
    )
    statuses = [t.status for t in found.oracle.trials.values()]
    assert "STOPPED" in statuses and set(statuses) <= {"STOPPED", "COMPLETED"}
    assert epochs < 5 * EPOCHS
    assert found.get_best_hyperparameters()[0].values["lr"] == 1e-2


def test_asha_prunes_at_its_rungs(digits, tmp_path, capsys):
    found, epochs, out = _search(
        digits,
        tmp_path,
        "asha",
        capsys,
        pruner=ASHAPruner(min_epochs=1, reduction_factor=2),
        trials=5,
    )
    pruned = [t for t in found.oracle.trials.values() if t.status == "STOPPED"]
    assert pruned and all(t.best_step + 1 in (1, 2) for t in pruned)  # rungs at 1, 2, 4
    assert epochs < 5 * EPOCHS
    assert found.get_best_hyperparameters()[0].values["lr"] == 1e-2
    assert "pruned@" in out  # the table's status column
