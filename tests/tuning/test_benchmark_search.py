"""benchmarks/search.py: the overhead split of one search, and the pruning section."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))  # the script imports its neighbour _common
_spec = importlib.util.spec_from_file_location("benchmark_search", BENCHMARKS / "search.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("which", "epochs", "expected"),
    [
        ("kfx_median", 2, 4),  # 2 trials of 2 epochs (too few completed trials to prune)
        # max_epochs=3, factor 3: 2 trials of 3 epochs; 3 of 1 epoch, the best 1 of them
        # trained on from epoch 1 to 3.
        ("keras_tuner_hyperband", 3, 2 * 3 + 3 * 1 + 1 * 2),
    ],
)
def test_a_search_counts_the_epochs_it_ran(tmp_path, which, epochs, expected):
    figures, tuner = bench.pruning_search(which, 0, epochs, 2, str(tmp_path))
    assert figures["epochs"] == expected
    assert figures["trials"] == len(tuner.oracle.trials)
    assert 0 <= figures["best_val_accuracy"] <= 100


def test_searches_are_compared_with_random_search():
    def search(epochs, best):
        return {"mean": {"epochs": epochs, "best_val_accuracy": best}}

    searches = {
        "keras_tuner_random": search(200, 97.0),
        "kfx_median": search(80, 96.8),
        "kfx_asha": search(40, 95.0),
        "keras_tuner_hyperband": search(120, 97.5),
    }
    bench.compare_with_baseline(searches)
    assert searches["kfx_median"]["epochs_ratio_vs_random_search"] == 2.5
    assert searches["kfx_median"]["score_gap_points"] == pytest.approx(0.2)
    assert searches["kfx_median"]["meets_target"]
    assert not searches["kfx_asha"]["meets_target"]  # 5x fewer epochs, but 2 points below
    assert "meets_target" not in searches["keras_tuner_hyperband"]  # no kfx pruner
    assert "epochs_ratio_vs_random_search" not in searches["keras_tuner_random"]


@pytest.mark.parametrize("which", ["kfx", "keras_tuner"])
def test_a_search_splits_its_overhead(tmp_path, which):
    import keras

    clear_session = keras.backend.clear_session
    figures, hypermodel = bench.run_search(which, 2, str(tmp_path))
    assert keras.backend.clear_session is clear_session  # the timer is gone again
    # keras-tuner clears the session before each of the 2 trials' builds; kfx once more.
    assert 0 < figures["clear_session_ms_per_trial"] < figures["tuner_ms_per_trial"]
    assert figures["tuner_ms_per_trial"] < figures["overhead_ms_per_trial"]
    assert figures["fit_s"] + figures["build_s"] < figures["wall_s"]
    assert [what for what, _, _ in hypermodel.events].count("fit") == 2
