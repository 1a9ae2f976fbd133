"""kfx.tuning.search vs plain keras-tuner: per-trial overhead, memory over trials, workers,
pruning.

(a) Overhead per trial, the way a user sees it: the wall time of one ``search()`` call
    minus the time its trials spent in ``model.fit`` (validation included), divided by the
    trials, for ``kfx.tuning.search`` (HParams logging on, pruning off and on) and for a
    plain ``keras_tuner.RandomSearch`` on the same two-Dense model and data, each search
    the first one of a fresh process that has only imported Keras, keras-tuner and kfx
    (no warm-up search: what the first trial's build pays once is overhead too), the
    searches alternating. Building the model, keras-tuner's bookkeeping, checkpoints,
    kfx's lines, HParams and the per-epoch reports of pruning all count as overhead.
    Target: kfx <= 50 ms a trial, with pruning off and on.
(b) Memory: resident set size (``VmRSS`` in ``/proc/self/status``) after 5 trials and after
    50 trials of one search, each tuner and Keras backend (TensorFlow, JAX) in a fresh
    process (plain keras-tuner with ``--memory-tuners kfx keras_tuner``; kfx also with
    ``MALLOC_ARENA_MAX=2``), and the growth over the second half of the trials alone.
    Target: kfx grows < 50 MB.
(c) Distributed: trials per minute of ``kfx tune --workers 1`` and ``--workers 2`` running
    ``examples/search_digits.py --quick --trials N``; the rate is the trials divided by the
    span from the first trial's start to the last trial's end (the trials' HParams session
    times), and the command's wall time is reported too (it includes starting the
    processes and evaluating the best model).
(d) Pruning: the same 20-trial space on the digits (``kfx.datasets.digits()``; one Dense
    layer of searched width, Adam at a log-uniform learning rate of 1e-7 to 1e-1, so that
    about half the trials cannot learn in the budget), objective ``val_accuracy``, searched
    by kfx's random search without a pruner, with ``pruner="median"`` and with
    ``pruner="asha"`` (their defaults), by plain keras-tuner's ``RandomSearch`` (20 trials of
    E epochs) and by its ``Hyperband`` (``max_epochs=E``, factor 3, one iteration: 120 epochs
    for E=10, below RandomSearch's 200), seeds 0, 1, 2, each search in a fresh process: the
    epochs run (a callback's ``on_epoch_end`` calls, Hyperband's continued trials included),
    the search's wall time and the best trial's score (its best ``val_accuracy``, in
    percent). Target: each kfx pruner runs at least 2x fewer epochs than RandomSearch, for a
    mean best score at most 0.5 points below RandomSearch's.

Run: python benchmarks/search.py [--trials 20 --rounds 2 --memory-trials 50 --launcher-trials 12
--pruning-seeds 3 --pruning-epochs 10]
(about 6 minutes on 2 CPUs for (a) to (c), 9 with ``--memory-tuners kfx keras_tuner``; 18 more
for (d))
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS, print_result, run_child, write_result

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "examples" / "search_digits.py"
#: The sections, in the order they run (and the names --skip takes).
SECTIONS = ("overhead", "memory", "workers", "pruning")
#: Trial counts of the memory measurement: RSS after the first, growth up to the second.
MEMORY_FROM = 5


def rss_mb() -> float:
    """This process' resident set size in MB, from /proc/self/status (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS line in /proc/self/status")


def make_hypermodel(record_rss: bool = False):
    import keras
    import keras_tuner

    class Trivial(keras_tuner.HyperModel):
        """One Dense layer of searched width: the trial's work is almost nothing."""

        def __init__(self):
            super().__init__()
            self.wall = {"fit": 0.0, "build": 0.0, "clear_session": 0.0}
            # The same on the main thread's CPU clock.
            self.cpu = {"fit": 0.0, "build": 0.0, "clear_session": 0.0}
            self.rss_at_build: list[float] = []  # entry k: RSS after k trials
            self.events: list[tuple[str, float, float]] = []  # (what, start, end)

        def timed(self, what, function, *args, **kwargs):
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                end = time.perf_counter()
                self.wall[what] += end - wall
                self.cpu[what] += time.thread_time() - cpu
                self.events.append((what, wall, end))

        def build(self, hp):
            if record_rss:
                self.rss_at_build.append(rss_mb())
            return self.timed("build", self._make, hp)

        def _make(self, hp):
            model = keras.Sequential(
                [
                    keras.Input((4,)),
                    keras.layers.Dense(hp.Int("units", 1, 100_000), activation="relu"),
                    keras.layers.Dense(1),
                ]
            )
            model.compile(keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-1, sampling="log")), "mse")
            return model

        def fit(self, hp, model, *args, **kwargs):
            return self.timed("fit", model.fit, *args, **kwargs)

    return Trivial()


def data():
    import numpy as np

    x = np.random.default_rng(0).random((64, 4)).astype("float32")
    return x, x.sum(axis=1)


#: The searches of (a): which tuner, and kfx's pruner.
OVERHEAD_SEARCHES = {"kfx": None, "kfx_median": "median", "keras_tuner": None}


def run_search(
    which: str,
    trials: int,
    directory: str,
    record_rss: bool = False,
    seed: int = 1,
    epochs: int = 1,
):
    """One search of `trials` trials; returns (timings, hypermodel)."""
    import keras_tuner

    from kfx.tuning import search

    hypermodel = make_hypermodel(record_rss)
    x, y = data()
    started, cpu = time.perf_counter(), time.thread_time()
    with (
        contextlib.redirect_stdout(io.StringIO()),  # kfx's trial lines, keras-tuner's tables
        timed_clear_session(hypermodel),
    ):
        if which.startswith("kfx"):
            tuner = search(
                hypermodel,
                x,
                y,
                validation_data=(x, y),
                max_trials=trials,
                epochs=epochs,
                directory=directory,
                overwrite=True,
                seed=1,
                log_dir=str(Path(directory) / "hparams"),
                pruner=OVERHEAD_SEARCHES.get(which),
            )
        else:
            tuner = keras_tuner.RandomSearch(
                hypermodel,
                objective="val_loss",
                max_trials=trials,
                directory=directory,
                project_name="kfx",
                overwrite=True,
                seed=1,
            )
            tuner.search(x, y, validation_data=(x, y), epochs=epochs, verbose=0)
    ended, cpu = time.perf_counter(), time.thread_time() - cpu
    wall = ended - started
    # The first trial's build is the build right before the first fit (keras-tuner builds
    # the model once before, to learn the search space).
    events = hypermodel.events
    first_fit = next(i for i, (what, _, _) in enumerate(events) if what == "fit")
    first_trial_start = events[first_fit - 1][1]
    last_trial_end = next(end for what, _, end in reversed(events) if what == "fit")
    completed = sum(t.status in ("COMPLETED", "STOPPED") for t in tuner.oracle.trials.values())
    if completed != trials:
        raise RuntimeError(f"{which}: {completed} of {trials} trials completed")
    ms = 1000 / trials
    timings: dict = {
        "wall_s": wall,
        "fit_s": hypermodel.wall["fit"],
        "build_s": hypermodel.wall["build"],
        # What the brief calls overhead: everything but fit (build and compile included).
        "overhead_ms_per_trial": ms * (wall - hypermodel.wall["fit"]),
        # The tuner's own share: neither fit nor the hypermodel's build and compile.
        "tuner_ms_per_trial": ms * (wall - hypermodel.wall["fit"] - hypermodel.wall["build"]),
        # The same two on the main thread's CPU clock: what a busy machine does not inflate.
        "overhead_cpu_ms_per_trial": ms * (cpu - hypermodel.cpu["fit"]),
        "tuner_cpu_ms_per_trial": ms * (cpu - hypermodel.cpu["fit"] - hypermodel.cpu["build"]),
        # Of the tuner's share, Keras' clear_session(): keras-tuner's before every build
        # (mostly freeing the last trial's traced functions and data pipelines), and kfx's
        # once when the search starts and once when it ends (its entry collection is
        # timed with the rest, not here).
        "clear_session_ms_per_trial": ms * hypermodel.wall["clear_session"],
        # Once a search: from its start to the first trial's build (the tuner, the search
        # space's build, kfx's entry collection) and from the last trial's
        # fit to its end (that trial's bookkeeping, the summary).
        "before_first_trial_ms": 1000 * (first_trial_start - started),
        "after_last_trial_ms": 1000 * (ended - last_trial_end),
    }
    timings["between_ms_per_trial"] = (
        1000 * (last_trial_end - first_trial_start - hypermodel.wall["fit"]) / trials
    )
    return timings, hypermodel


@contextlib.contextmanager
def timed_clear_session(hypermodel):
    """Inside the block, ``keras.backend.clear_session`` is timed by `hypermodel` as
    "clear_session" (keras-tuner looks it up at each call)."""
    import keras

    clear_session = keras.backend.clear_session
    keras.backend.clear_session = functools.partial(
        hypermodel.timed, "clear_session", clear_session
    )
    try:
        yield
    finally:
        keras.backend.clear_session = clear_session


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def overhead_child(which: str, trials: int, epochs: int) -> None:
    """In a fresh process that imported what a user's script imports: one search, timed;
    its timings as JSON on stdout."""
    import keras  # noqa: F401
    import keras_tuner  # noqa: F401

    import kfx.tuning  # noqa: F401

    with tempfile.TemporaryDirectory() as work:
        timings, _ = run_search(which, trials, str(Path(work) / "measured"), epochs=epochs)
    print_result(timings)


def child(*args: str, backend: str = "tensorflow", env: dict | None = None) -> dict:
    """Run this script with `args` in a fresh process under `backend`; its result."""
    return run_child(
        __file__, list(args), timeout=600, env={"KERAS_BACKEND": backend, **(env or {})}
    )


def overhead(trials: int, rounds: int, epochs: int) -> dict:
    """Each search in a fresh process, the searches alternating: a process runs one
    search, as a user's does (plain keras-tuner's trials leave graphs alive that would make
    every later collection in a shared process slower)."""
    runs: dict[str, list] = {which: [] for which in OVERHEAD_SEARCHES}
    for r in range(rounds):
        order = list(runs) if r % 2 == 0 else list(reversed(runs))
        for which in order:
            load = load_average()
            timings = child(
                "--overhead-child", which, "--trials", str(trials), "--epochs", str(epochs)
            )
            runs[which].append({**timings, "load_average_before": load})
            print(
                f"  {which:>11} round {r}: {trials} trials in {timings['wall_s']:.2f} s "
                f"(fit {timings['fit_s']:.2f} s, build {timings['build_s']:.2f} s); per trial: "
                f"overhead {timings['overhead_ms_per_trial']:.0f} ms "
                f"(CPU {timings['overhead_cpu_ms_per_trial']:.0f}), tuner alone "
                f"{timings['tuner_ms_per_trial']:.0f} ms (CPU {timings['tuner_cpu_ms_per_trial']:.0f})"
                f"; load {load:.1f}",
                flush=True,
            )
            print(
                f"              once: {timings['before_first_trial_ms']:.0f} ms before the first "
                f"trial, {timings['after_last_trial_ms']:.0f} ms after the last; between trials "
                f"{timings['between_ms_per_trial']:.0f} ms a trial (the build included); "
                f"clear_session() {timings['clear_session_ms_per_trial']:.0f} ms a trial",
                flush=True,
            )
    keys = (
        "overhead_ms_per_trial",
        "tuner_ms_per_trial",
        "overhead_cpu_ms_per_trial",
        "tuner_cpu_ms_per_trial",
    )
    best = {
        which: {key: min(run[key] for run in values if key in run) for key in keys}
        for which, values in runs.items()
    }
    # The split of the fastest round (one search's figures belong together).
    for which, values in runs.items():
        fastest = min(values, key=lambda run: run["overhead_ms_per_trial"])
        for key in (
            "before_first_trial_ms",
            "after_last_trial_ms",
            "between_ms_per_trial",
            "clear_session_ms_per_trial",
        ):
            best[which][key] = fastest[key]
    return {"trials": trials, "epochs": epochs, "rounds": runs, "best": best}


def memory_child(which: str, trials: int) -> None:
    """In a fresh process: RSS after MEMORY_FROM trials and after `trials`, as JSON on stdout."""
    with tempfile.TemporaryDirectory() as work:
        _, hypermodel = run_search(which, trials, work, record_rss=True)
        after_all = rss_mb()
    rss = hypermodel.rss_at_build
    print_result(
        {
            f"rss_after_{MEMORY_FROM}_mb": rss[MEMORY_FROM],
            f"rss_after_{trials}_mb": after_all,
            "growth_mb": after_all - rss[MEMORY_FROM],
            "growth_mb_per_trial": (after_all - rss[MEMORY_FROM]) / (trials - MEMORY_FROM),
            # The second half alone: what keeps growing once the allocator has warmed up.
            "growth_second_half_mb": after_all - rss[trials // 2],
            "rss_mb_by_trial": [round(value, 1) for value in rss],
        }
    )


def memory(trials: int, backends: list[str], tuners: list[str]) -> dict:
    result: dict = {"trials": trials}
    for backend in backends:
        result[backend] = {}
        # kfx once more with two malloc arenas: glibc gives each thread its own, and each
        # keeps the peak of the largest trial its thread served (see docs/tuning.md).
        runs = [(which, which, {}) for which in tuners]
        runs.append(("kfx_malloc_arena_max_2", "kfx", {"MALLOC_ARENA_MAX": "2"}))
        for key, which, env in runs:
            got = result[backend][key] = child(
                "--memory-child", which, "--memory-trials", str(trials), backend=backend, env=env
            )
            print(
                f"  {backend:>10} {key:>22}: RSS {got[f'rss_after_{MEMORY_FROM}_mb']:.0f} MB "
                f"after {MEMORY_FROM} trials, {got[f'rss_after_{trials}_mb']:.0f} MB after "
                f"{trials}: +{got['growth_mb']:.1f} MB (second half +"
                f"{got['growth_second_half_mb']:.1f} MB)",
                flush=True,
            )
    return result


def distributed(trials: int, work: Path) -> dict:
    from kfx.tuning import hparams

    result = {"trials": trials, "cpus": os.cpu_count()}
    for workers in (1, 2):
        out = work / f"workers_{workers}"
        command = [
            sys.executable,
            "-m",
            "kfx.cli",
            "tune",
            "--workers",
            str(workers),
            "--timeout",
            "400",
            "--log-dir",
            str(out / "logs"),
            "--",
            sys.executable,
            str(EXAMPLE),
            "--quick",
            "--trials",
            str(trials),
            "--directory",
            str(out),
        ]
        start = time.perf_counter()
        proc = subprocess.run(command, capture_output=True, text=True, timeout=450, check=False)
        wall = time.perf_counter() - start
        if proc.returncode:
            raise RuntimeError(f"kfx tune --workers {workers} failed:\n{proc.stdout[-3000:]}")
        sessions = hparams.read_sessions(out / "hparams").values()
        done = [s for s in sessions if s["status"] == "success"]
        span = max(s["end_time"] for s in done) - min(s["start_time"] for s in done)
        trial_s = sorted(s["end_time"] - s["start_time"] for s in done)
        result[f"workers_{workers}"] = {
            "command_wall_s": wall,
            "trials_completed": len(done),
            "trial_span_s": span,
            "trials_per_minute": 60 * len(done) / span,
            "median_trial_s": trial_s[len(trial_s) // 2],
        }
        print(
            f"  --workers {workers}: {len(done)} trials in {span:.1f} s "
            f"({60 * len(done) / span:.1f}/min, median trial "
            f"{trial_s[len(trial_s) // 2]:.1f} s); command {wall:.1f} s",
            flush=True,
        )
    result["speedup_2_vs_1"] = (
        result["workers_2"]["trials_per_minute"] / result["workers_1"]["trials_per_minute"]
    )
    return result


#: The searches of (d): the tuner ("kfx": kfx.tuning.search's random search; else a
#: keras_tuner class, plain) and kfx's pruner.
PRUNING_SEARCHES: dict[str, tuple[str, str | None]] = {
    "kfx_random": ("kfx", None),
    "kfx_median": ("kfx", "median"),
    "kfx_asha": ("kfx", "asha"),
    "keras_tuner_random": ("RandomSearch", None),
    "keras_tuner_hyperband": ("Hyperband", None),
}
#: The search that (d) compares the others with.
PRUNING_BASELINE = "keras_tuner_random"
#: (d)'s target for a kfx pruner: this many times fewer epochs, a best score this close.
TARGET_EPOCHS_RATIO = 2.0
TARGET_GAP_POINTS = 0.5
#: Hyperband's reduction factor and iterations: with max_epochs=10 one iteration runs 120
#: epochs (30 trial runs of 18 configurations), two would run 240 (RandomSearch: 200).
HYPERBAND_FACTOR = 3
HYPERBAND_ITERATIONS = 1
#: (d)'s learning rates, log-uniform: about half of them too small to learn in 10 epochs.
PRUNING_LEARNING_RATES = (1e-7, 1e-1)


def digits_hypermodel(hp):
    """(d)'s search space: the 8x8 digits through one hidden Dense layer of searched width."""
    import keras

    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(hp.Choice("units", [16, 32, 64, 128]), activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    learning_rate = hp.Float("learning_rate", *PRUNING_LEARNING_RATES, sampling="log")
    model.compile(
        keras.optimizers.Adam(learning_rate),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def epoch_counter():
    """A callback counting the epochs of every fit it is given to, in ``.epochs``.

    keras-tuner deep-copies a search's callbacks for each trial; the copy is the counter
    itself, so that one count covers the whole search.
    """
    import keras

    class EpochCounter(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epochs = 0

        def __deepcopy__(self, memo):
            return self

        def on_epoch_end(self, epoch, logs=None):
            self.epochs += 1

    return EpochCounter()


def make_keras_tuner(tuner: str, trials: int, epochs: int, **common):
    """Plain keras-tuner's `tuner` ("RandomSearch" or "Hyperband") on (d)'s space."""
    import keras_tuner

    if tuner == "Hyperband":
        limits = {
            "max_epochs": epochs,
            "factor": HYPERBAND_FACTOR,
            "hyperband_iterations": HYPERBAND_ITERATIONS,
        }
    else:
        limits = {"max_trials": trials}
    return getattr(keras_tuner, tuner)(digits_hypermodel, project_name="kfx", **limits, **common)


def pruning_search(which: str, seed: int, epochs: int, trials: int, directory: str):
    """One search of (d) in `directory`; returns (its figures, the tuner)."""
    import keras

    from kfx import datasets

    tuner_name, pruner = PRUNING_SEARCHES[which]
    (x, y), validation = datasets.digits()
    keras.utils.set_random_seed(seed)
    counter = epoch_counter()
    common = {"objective": "val_accuracy", "directory": directory, "overwrite": True, "seed": seed}
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # kfx's trial lines, keras-tuner's tables
        if tuner_name == "kfx":
            from kfx.tuning import search

            tuner = search(
                digits_hypermodel,
                x,
                y,
                validation_data=validation,
                max_trials=trials,
                epochs=epochs,
                pruner=pruner,
                callbacks=[counter],
                **common,
            )
        else:
            tuner = make_keras_tuner(tuner_name, trials, epochs, **common)
            tuner.search(
                x, y, validation_data=validation, epochs=epochs, callbacks=[counter], verbose=0
            )
    wall = time.perf_counter() - started
    statuses = [trial.status for trial in tuner.oracle.trials.values()]
    if any(status not in ("COMPLETED", "STOPPED") for status in statuses):
        raise RuntimeError(f"{which}: trials ended {sorted(set(statuses))}")
    figures = {
        "epochs": counter.epochs,
        "wall_s": wall,
        "best_val_accuracy": 100 * float(tuner.oracle.get_best_trials(1)[0].score),
        "trials": len(statuses),
        "pruned": statuses.count("STOPPED"),
    }
    return figures, tuner


def pruning_child(which: str, seed: int, epochs: int, trials: int) -> None:
    """In a fresh process: one search of (d), its figures as JSON on stdout."""
    with tempfile.TemporaryDirectory() as work:
        figures, _ = pruning_search(which, seed, epochs, trials, work)
    print_result(figures)


def pruning(seeds: int, epochs: int, trials: int) -> dict:
    """Every search of (d) for seeds 0..`seeds`-1, each in a fresh process, the order of
    the searches reversed every other seed; per search its figures by seed, their means
    and the comparison with RandomSearch."""
    searches: dict[str, dict] = {which: {"seeds": {}} for which in PRUNING_SEARCHES}
    for seed in range(seeds):
        order = list(searches) if seed % 2 == 0 else list(reversed(searches))
        for which in order:
            got = searches[which]["seeds"][str(seed)] = child(
                "--pruning-child",
                which,
                str(seed),
                "--pruning-epochs",
                str(epochs),
                "--pruning-trials",
                str(trials),
            )
            print(
                f"  {which:>21} seed {seed}: {got['epochs']:>3} epochs in {got['wall_s']:5.1f} s, "
                f"best val_accuracy {got['best_val_accuracy']:.2f} % ({got['trials']} trials, "
                f"{got['pruned']} pruned)",
                flush=True,
            )
    for figures in searches.values():
        by_seed = figures["seeds"].values()
        figures["mean"] = {
            key: statistics.fmean(run[key] for run in by_seed)
            for key in ("epochs", "wall_s", "best_val_accuracy")
        }
    compare_with_baseline(searches)
    return {
        "trials": trials,
        "epochs": epochs,
        "seeds": seeds,
        "hyperband": {"factor": HYPERBAND_FACTOR, "iterations": HYPERBAND_ITERATIONS},
        "searches": searches,
    }


def compare_with_baseline(searches: dict) -> None:
    """Add to each search but the baseline its epochs ratio and score gap to the baseline,
    and to kfx's pruned searches whether they meet the target."""
    baseline = searches[PRUNING_BASELINE]["mean"]
    for which, figures in searches.items():
        if which == PRUNING_BASELINE:
            continue
        ratio = baseline["epochs"] / figures["mean"]["epochs"]
        gap = baseline["best_val_accuracy"] - figures["mean"]["best_val_accuracy"]
        figures["epochs_ratio_vs_random_search"] = ratio
        figures["score_gap_points"] = gap
        if PRUNING_SEARCHES[which][1] is not None:
            figures["meets_target"] = ratio >= TARGET_EPOCHS_RATIO and gap <= TARGET_GAP_POINTS


def print_pruning(searches: dict) -> None:
    """(d)'s means, one line a search."""
    for which, figures in searches.items():
        mean = figures["mean"]
        line = (
            f"    {which:>21}: {mean['epochs']:5.1f} epochs, {mean['wall_s']:5.1f} s, best "
            f"{mean['best_val_accuracy']:.2f} %"
        )
        if "epochs_ratio_vs_random_search" in figures:
            line += (
                f"; {figures['epochs_ratio_vs_random_search']:.2f}x fewer epochs than "
                f"RandomSearch, {figures['score_gap_points']:+.2f} points below"
            )
        if "meets_target" in figures:
            line += f" (target {'met' if figures['meets_target'] else 'missed'})"
        print(line)
    print(
        f"    target: kfx's pruners >= {TARGET_EPOCHS_RATIO:g}x fewer epochs, "
        f"<= {TARGET_GAP_POINTS} points below"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=20, help="trials per overhead search")
    parser.add_argument("--rounds", type=int, default=2, help="overhead searches per tuner")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per overhead trial")
    parser.add_argument("--memory-trials", type=int, default=50)
    parser.add_argument(
        "--memory-backends", nargs="+", default=["tensorflow", "jax"], help="Keras backends"
    )
    parser.add_argument(
        "--memory-tuners",
        nargs="+",
        default=["kfx"],
        choices=["kfx", "keras_tuner"],
        help="add keras_tuner to compare (about 3 more minutes)",
    )
    parser.add_argument("--launcher-trials", type=int, default=12)
    parser.add_argument("--pruning-seeds", type=int, default=3, help="seeds of each search")
    parser.add_argument("--pruning-epochs", type=int, default=10, help="most epochs a trial")
    parser.add_argument("--pruning-trials", type=int, default=20, help="trials of a search")
    parser.add_argument("--skip", nargs="*", default=[], choices=SECTIONS)
    parser.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--overhead-child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--pruning-child", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pruning_child:
        which, seed = args.pruning_child
        pruning_child(which, int(seed), args.pruning_epochs, args.pruning_trials)
        return
    if args.overhead_child:
        overhead_child(args.overhead_child, args.trials, args.epochs)
        return
    if args.memory_child:
        memory_child(args.memory_child, args.memory_trials)
        return
    if args.memory_trials <= MEMORY_FROM:
        parser.error(f"--memory-trials must be > {MEMORY_FROM}")

    result: dict = {"settings": {k: v for k, v in vars(args).items() if not k.endswith("_child")}}
    previous = RESULTS / "search.json"
    if args.skip and previous.exists():  # skipped sections keep their last measurement
        last = json.loads(previous.read_text())
        result.update({k: last[k] for k in SECTIONS if k in args.skip and k in last})
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "overhead" not in args.skip:
            print(f"(a) overhead: {args.trials} trials x {args.rounds} rounds per tuner")
            result["overhead"] = overhead(args.trials, args.rounds, args.epochs)
            best = result["overhead"]["best"]
            for which, values in best.items():
                print(
                    f"    {which}: overhead {values['overhead_ms_per_trial']:.0f} ms a trial "
                    f"(CPU {values['overhead_cpu_ms_per_trial']:.0f}), the tuner alone "
                    f"{values['tuner_ms_per_trial']:.0f} ms (CPU {values['tuner_cpu_ms_per_trial']:.0f})"
                )
            print("    target: kfx <= 50 ms a trial")
        if "memory" not in args.skip:
            print(f"(b) memory: RSS after {MEMORY_FROM} and {args.memory_trials} trials")
            result["memory"] = memory(args.memory_trials, args.memory_backends, args.memory_tuners)
            for backend in args.memory_backends:
                growth = result["memory"][backend]["kfx"]["growth_mb"]
                print(f"    kfx on {backend} grows {growth:.1f} MB (target < 50 MB)")
        if "workers" not in args.skip:
            print(f"(c) kfx tune: {args.launcher_trials} digits trials, 1 vs 2 workers")
            result["workers"] = distributed(args.launcher_trials, work)
            print(f"    speed-up of 2 workers: {result['workers']['speedup_2_vs_1']:.2f}x")
        if "pruning" not in args.skip:
            print(
                f"(d) pruning: {args.pruning_trials} digits trials of up to {args.pruning_epochs} "
                f"epochs, {args.pruning_seeds} seeds per search"
            )
            result["pruning"] = pruning(
                args.pruning_seeds, args.pruning_epochs, args.pruning_trials
            )
            print_pruning(result["pruning"]["searches"])
    write_result("search", result)


if __name__ == "__main__":
    main()
