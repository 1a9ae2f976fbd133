"""keras-tuner tuners with kfx's trial reports, HParams logging, failure files and backoff.

:class:`TunerMixin` goes in front of any keras-tuner tuner class; :func:`tuner_class` makes
that combination, and ``kfx.tuning.RandomSearch``, ``BayesianOptimization``, ``Hyperband``
and ``GridSearch`` are the ready-made ones. A kfx tuner is a keras-tuner tuner (same
arguments, same files, same chief/worker protocol), plus:

- **one line per trial** (its values, score and time; failures with the error) instead of
  keras-tuner's tables, and a table of the best trials at the end;
- **HParams**: with ``log_dir=``, each trial's hyperparameters and metrics go to TensorBoard's
  HParams dashboard (written with the tensorboard package, so on any backend);
- **failed trials** leave ``traceback.txt`` in their trial folder;
- **speed and memory**: during the search the objects that existed before it are moved out of
  the garbage collector's way (``gc.freeze``), so keras-tuner's per-trial ``gc.collect``
  costs milliseconds instead of a few hundred; nothing of a trial is kept after it (on
  TensorFlow its optimizer skips the one-replica all-reduce that would keep its graph, see
  :mod:`kfx.tuning._single_replica`; on JAX the compiled programs are dropped);
- **distributed search**: a worker whose request for a trial is answered "idle" (Hyperband
  waiting for a round to finish) sleeps before asking again, from `idle_backoff` seconds
  doubling up to `max_idle_backoff`, instead of asking again at once; a worker never
  deletes the shared project folder (``overwrite`` applies to the chief only); the chief
  exits within about a second of the last trial (keras-tuner checks every 20 s).

Example:
    >>> import tempfile, keras, keras_tuner
    >>> from kfx.tuning import tuners
    >>> def build(hp):
    ...     model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hp.Int("units", 2, 8))])
    ...     model.compile("adam", "mse")
    ...     return model
    >>> tuner = tuners.RandomSearch(build, objective="val_loss", max_trials=2,
    ...                             directory=tempfile.mkdtemp(), log_dir=None)
    >>> isinstance(tuner, keras_tuner.RandomSearch), tuner.idle_backoff
    (True, 0.1)
    >>> tuners.tuner_class(keras_tuner.Hyperband) is tuners.Hyperband
    True
"""

from __future__ import annotations

import ctypes
import functools
import gc
import math
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras
import keras_tuner
from keras_tuner.engine.base_tuner import BaseTuner
from keras_tuner.engine.trial import TrialStatus

from kfx import _io
from kfx._validation import fail
from kfx.tuning import _env, _single_replica, _state
from kfx.tuning import hparams as _hparams

#: Seconds a worker sleeps after its first "idle" answer; doubled on each further one.
IDLE_BACKOFF = 0.1
#: The longest sleep between two requests of an idle worker.
MAX_IDLE_BACKOFF = 1.0
#: How often the chief checks whether the search is over (keras-tuner itself: every 20 s).
CHIEF_POLL_SECONDS = 0.5
#: Trials in the final table.
TOP_TRIALS = 5
#: Hyperband's bookkeeping values, left out of the per-trial line.
_HIDDEN = ("tuner/trial_id", "tuner/initial_epoch", "tuner/bracket", "tuner/round")


class TunerMixin:
    """Put in front of a keras-tuner tuner class: ``class T(TunerMixin, keras_tuner.RandomSearch)``.

    Args:
        log_dir: folder for the HParams dashboard (one run folder per trial), or None.
        idle_backoff: first sleep, in seconds, of a worker told to wait (0: keras-tuner's
            behaviour, ask again at once).
        max_idle_backoff: longest such sleep.
        *args, **kwargs: the tuner class' own arguments.

    Attributes:
        kfx_stats: counts of this process: ``trials`` and ``failed`` (trials it ran),
            ``requests`` (trial requests sent), ``idle`` (answered "wait") and
            ``idle_seconds`` (time slept in backoff).
    """

    def __init__(
        self,
        *args,
        log_dir: str | None = None,
        idle_backoff: float = IDLE_BACKOFF,
        max_idle_backoff: float = MAX_IDLE_BACKOFF,
        **kwargs,
    ):
        role = _env.role()
        if role == "worker" and kwargs.get("overwrite"):
            # Every worker runs the same script: with overwrite=True a (re)started worker
            # would delete the project folder that the chief and the other workers use.
            kwargs["overwrite"] = False
        if not kwargs.get("overwrite"):
            # keras-tuner writes its state files in place: a process killed mid-write leaves
            # one cut short, and the resumed search would fail to load it.
            project = Path(kwargs.get("directory") or ".") / (
                kwargs.get("project_name") or "untitled_project"
            )
            own = [f"{_env.tuner_id()}.json"] if role == "worker" else None
            for message in _state.repair(project, own):
                print(f"kfx: {message}", flush=True)
        super().__init__(*args, **kwargs)
        self._kfx_setup(
            log_dir=log_dir, idle_backoff=idle_backoff, max_idle_backoff=max_idle_backoff
        )

    def _kfx_setup(
        self,
        *,
        log_dir: str | None = None,
        idle_backoff: float = IDLE_BACKOFF,
        max_idle_backoff: float = MAX_IDLE_BACKOFF,
    ) -> None:
        where = type(self).__name__
        for arg, value in (("idle_backoff", idle_backoff), ("max_idle_backoff", max_idle_backoff)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                fail(where, arg, value, "a number of seconds >= 0")
        if max_idle_backoff < idle_backoff:
            fail(where, "max_idle_backoff", max_idle_backoff, f">= idle_backoff ({idle_backoff})")
        self.kfx_log_dir = None if log_dir is None else str(log_dir)
        self.idle_backoff = float(idle_backoff)
        self.max_idle_backoff = float(max_idle_backoff)
        self.kfx_stats = {"trials": 0, "failed": 0, "requests": 0, "idle": 0, "idle_seconds": 0.0}
        self._kfx_waiting = False  # a trial request is out and no trial came of it yet
        self._kfx_idle_streak = 0
        self._kfx_started: dict[str, float] = {}
        self._kfx_series: dict[str, list[float]] | None = None
        self._kfx_fit_verbose: Any = None

    # -- the search -------------------------------------------------------------------------

    def search(self, *fit_args, **fit_kwargs):
        """keras-tuner's ``search``, reported one line per trial and summarized at the end."""
        role = _env.role()
        # `verbose` goes to fit only: kfx's lines replace keras-tuner's per-trial tables.
        self._kfx_fit_verbose = fit_kwargs.pop("verbose", None)
        started = time.time()
        if role == "worker":
            self._kfx_run_trials(fit_args, fit_kwargs)
            stats = self.kfx_stats
            print(
                f"[{self.tuner_id}] done in {time.time() - started:.1f} s: ran {stats['trials']} "
                f"trials ({stats['failed']} failed); {stats['requests']} trial requests, "
                f"{stats['idle']} answered idle, {stats['idle_seconds']:.1f} s in backoff",
                flush=True,
            )
            return
        self.oracle.verbose = 0
        stopped = self._kfx_watch_oracle(report=role == "chief")
        try:
            if role == "chief":
                self._kfx_serve(fit_args, fit_kwargs, stopped)
            else:
                self._kfx_run_trials(fit_args, fit_kwargs)
        finally:
            del self.oracle.create_trial, self.oracle.end_trial
        _state.backup(self.project_dir, _state.root_files(self.project_dir))
        if self.kfx_log_dir:
            self._kfx_write_experiment()
        print(summary(self, elapsed=time.time() - started), flush=True)

    def _kfx_run_trials(self, fit_args, fit_kwargs) -> None:
        """keras-tuner's own search loop, with each trial's build wrapped (an instance
        attribute shadows it) for speed and memory.

        - keras-tuner clears the session and collects garbage (twice) right before each
          build; the wrapper freezes (``gc.freeze``), at that moment, what is alive, so no
          later collection walks the objects that existed before the trial (unfrozen, each
          of those collections walks every object of the process: ~200 ms a trial). The
          search starts with one such collection and freeze (:func:`_freeze_gc`) and ends
          with one that walks only the last trial's objects;
        - on TensorFlow the trial's optimizer skips the all-reduce of its one replica, which
          would keep the trial's train-step graph alive for good (see
          :mod:`kfx.tuning._single_replica`).
        """
        frozen = _freeze_gc()
        hypermodel = self.hypermodel
        build = hypermodel.build

        def build_trial(hp):
            if frozen:
                gc.freeze()  # after keras-tuner's clear_session() and gc.collect()
            model = build(hp)
            _single_replica.skip_all_reduce(model)
            return model

        hypermodel.build = build_trial
        try:
            super().search(*fit_args, **fit_kwargs)
        finally:
            hypermodel.build = build
            # Free the last trial while the rest is frozen: a full collection walks them all.
            keras.backend.clear_session()
            if frozen:
                gc.unfreeze()

    def _kfx_watch_oracle(self, *, report: bool) -> threading.Event:
        """Wrap the oracle's create_trial and end_trial (instance attributes shadow them).

        After each, a last good copy of the state files just written is kept (see
        :mod:`kfx.tuning._state`); on the chief each ended trial is reported, and the event
        returned is set once a worker has been told to stop.
        """
        oracle, project = self.oracle, self.project_dir
        stopped = threading.Event()
        create_trial, end_trial = oracle.create_trial, oracle.end_trial

        def create(tuner_id):
            trial = create_trial(tuner_id)
            if trial.status == TrialStatus.STOPPED:
                stopped.set()
            elif trial.status == TrialStatus.RUNNING:
                _state.backup(project, [_state.trial_file(trial.trial_id), _state.ORACLE_FILE])
            return trial

        def end(trial):
            runner = next(
                (
                    tid
                    for tid, t in list(oracle.ongoing_trials.items())
                    if t.trial_id == trial.trial_id
                ),
                "?",
            )
            end_trial(trial)
            _state.backup(project, [_state.trial_file(trial.trial_id), _state.ORACLE_FILE])
            if report:
                done = oracle.trials[trial.trial_id]
                print(
                    _trial_line(
                        done.trial_id,
                        done.status,
                        done.hyperparameters.values,
                        oracle.objective.name,
                        done.score,
                        None,
                        who=f"chief <- {runner}",
                        error=_last_line(done.message),
                    ),
                    flush=True,
                )

        oracle.create_trial, oracle.end_trial = create, end
        return stopped

    def _kfx_serve(self, fit_args, fit_kwargs, stopped: threading.Event) -> None:
        """The chief: keras-tuner's oracle server, left as soon as every worker is done."""
        errors: list[BaseException] = []

        def serve():
            try:
                super(TunerMixin, self).search(*fit_args, **fit_kwargs)
            except BaseException as err:  # noqa: BLE001 - re-raised in the main thread
                errors.append(err)

        thread = threading.Thread(target=serve, name="kfx-oracle-chief", daemon=True)
        thread.start()
        # keras-tuner's own loop exits on the same condition but checks it every 20 s. The
        # server thread is a daemon: it ends with the process.
        while thread.is_alive() and not (stopped.is_set() and _search_over(self.oracle)):
            thread.join(CHIEF_POLL_SECONDS)
        if errors:
            raise errors[0]

    # -- keras-tuner hooks ------------------------------------------------------------------

    def pre_create_trial(self):
        super().pre_create_trial()
        if self._kfx_waiting:  # the last request was answered "idle": back off
            self.kfx_stats["idle"] += 1
            delay = min(self.idle_backoff * 2**self._kfx_idle_streak, self.max_idle_backoff)
            self._kfx_idle_streak += 1
            if delay > 0:
                time.sleep(delay)
                self.kfx_stats["idle_seconds"] += delay
        self._kfx_waiting = True
        self.kfx_stats["requests"] += 1

    def on_trial_begin(self, trial):
        self._kfx_waiting = False
        self._kfx_idle_streak = 0
        self._kfx_started[trial.trial_id] = time.time()
        self._kfx_series = None
        super().on_trial_begin(trial)

    def run_trial(self, trial, *args, **kwargs):
        if self._kfx_fit_verbose is not None:
            kwargs.setdefault("verbose", self._kfx_fit_verbose)
        results = super().run_trial(trial, *args, **kwargs)
        # Numbers only: a History holds its model, which must not outlive the trial.
        self._kfx_series = _metric_series(results, self.oracle.objective.name)
        return results

    def on_trial_end(self, trial):
        seconds = time.time() - self._kfx_started.pop(trial.trial_id, time.time())
        series, self._kfx_series = self._kfx_series or {}, None
        values = dict(trial.hyperparameters.values)
        failed = trial.status != TrialStatus.COMPLETED
        self.kfx_stats["trials"] += 1
        traceback_file = None
        if failed:
            self.kfx_stats["failed"] += 1
            traceback_file = Path(self.get_trial_dir(trial.trial_id)) / "traceback.txt"
            _io.write_text(traceback_file, trial.message or "(keras-tuner recorded no traceback)\n")
        if self.kfx_log_dir:
            try:
                _hparams.write_session(
                    Path(self.kfx_log_dir) / f"trial_{trial.trial_id}",
                    values,
                    series,
                    status="failure" if failed else "success",
                    start_time=time.time() - seconds,
                    first_step=int(values.get("tuner/initial_epoch", 0)),
                )
            except OSError as err:
                print(f"kfx: could not write HParams for trial {trial.trial_id}: {err}")
        objective = self.oracle.objective
        print(
            _trial_line(
                trial.trial_id,
                "FAILED" if failed else TrialStatus.COMPLETED,
                values,
                objective.name,
                _best_score(series, objective),
                seconds,
                who=self.tuner_id if _env.role() == "worker" else None,
                error=_last_line(trial.message) if failed else None,
                traceback_file=traceback_file,
            ),
            flush=True,
        )
        super().on_trial_end(trial)
        # (The tuner's own state file needs no copy: a cut-short one is reset on resume.)
        _release_trial_memory()

    # -- HParams experiment -----------------------------------------------------------------

    def _kfx_write_experiment(self) -> None:
        trials = list(self.oracle.trials.values())
        metrics = sorted({name for t in trials for name in t.metrics.metrics})
        try:
            _hparams.write_experiment(
                self.kfx_log_dir,
                self.oracle.get_space(),
                metrics or [self.oracle.objective.name],
                description=f"keras-tuner project {self.project_dir}",
            )
        except OSError as err:
            print(f"kfx: could not write the HParams experiment: {err}")


class RandomSearch(TunerMixin, keras_tuner.RandomSearch):
    """``keras_tuner.RandomSearch`` with :class:`TunerMixin`'s additions."""


class BayesianOptimization(TunerMixin, keras_tuner.BayesianOptimization):
    """``keras_tuner.BayesianOptimization`` with :class:`TunerMixin`'s additions."""


class Hyperband(TunerMixin, keras_tuner.Hyperband):
    """``keras_tuner.Hyperband`` with :class:`TunerMixin`'s additions."""


class GridSearch(TunerMixin, keras_tuner.GridSearch):
    """``keras_tuner.GridSearch`` with :class:`TunerMixin`'s additions."""


_CLASSES: dict[type, type] = {
    keras_tuner.RandomSearch: RandomSearch,
    keras_tuner.BayesianOptimization: BayesianOptimization,
    keras_tuner.Hyperband: Hyperband,
    keras_tuner.GridSearch: GridSearch,
}


def tuner_class(base: type) -> type:
    """The kfx version of a keras-tuner tuner class (``TunerMixin`` in front of it).

    Example:
        >>> import keras_tuner
        >>> from kfx.tuning.tuners import TunerMixin, tuner_class
        >>> class MyTuner(keras_tuner.RandomSearch):
        ...     pass
        >>> cls = tuner_class(MyTuner)
        >>> issubclass(cls, MyTuner) and issubclass(cls, TunerMixin), cls.__name__
        (True, 'MyTuner')
    """
    if not isinstance(base, type) or not issubclass(base, BaseTuner):
        fail("tuner_class", "base", base, "a keras_tuner tuner class (a BaseTuner subclass)")
    if issubclass(base, TunerMixin):
        return base
    if base not in _CLASSES:
        _CLASSES[base] = type(
            base.__name__,
            (TunerMixin, base),
            {"__module__": base.__module__, "__doc__": base.__doc__},
        )
    return _CLASSES[base]


def adopt(tuner: BaseTuner, *, log_dir: str | None = None) -> BaseTuner:
    """Give an existing keras-tuner tuner kfx's additions (in place) and return it."""
    if not isinstance(tuner, BaseTuner):
        fail("adopt", "tuner", tuner, "a keras_tuner tuner instance")
    if not isinstance(tuner, TunerMixin):
        tuner.__class__ = tuner_class(type(tuner))
        tuner._kfx_setup(log_dir=log_dir)
    elif log_dir is not None:
        tuner.kfx_log_dir = str(log_dir)
    return tuner


def summary(tuner: BaseTuner, *, top: int = TOP_TRIALS, elapsed: float | None = None) -> str:
    """A few lines on a search: trial counts, failures and a table of the best trials.

    Needs the oracle itself (a local search, or the chief of a distributed one).
    """
    oracle = tuner.oracle
    trials = list(oracle.trials.values())
    done = [t for t in trials if t.status == TrialStatus.COMPLETED and t.score is not None]
    failed = [t for t in trials if t.status in (TrialStatus.FAILED, TrialStatus.INVALID)]
    other = len(trials) - len(done) - len(failed)
    name = oracle.objective.name
    head = f"search done in {elapsed:.1f} s: " if elapsed is not None else "search: "
    lines = [
        head
        + f"{len(trials)} trials, {len(done)} completed, {len(failed)} failed"
        + (f", {other} unfinished" if other else "")
        + f" (project {tuner.project_dir})"
    ]
    best = oracle.get_best_trials(top) if done else []
    best = [t for t in best if t.status == TrialStatus.COMPLETED]
    if not best:
        lines.append("no completed trial")
        return "\n".join(lines)
    lines.append(f"best {name}: {_fmt(best[0].score)} (trial {best[0].trial_id})")
    keys = [k for k in best[0].hyperparameters.values if k not in _HIDDEN]
    for t in best[1:]:
        keys += [k for k in t.hyperparameters.values if k not in _HIDDEN and k not in keys]
    rows = [["rank", "trial", name, *keys]]
    for rank, t in enumerate(best, start=1):
        values = t.hyperparameters.values
        rows.append(
            [str(rank), t.trial_id, _fmt(t.score), *(_fmt(values.get(k, "-")) for k in keys)]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines += [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join(lines)


@keras_tuner.synchronized
def _search_over(oracle) -> bool:
    """keras-tuner's own exit condition of the chief: no trial running, every worker told to stop."""
    return not oracle.ongoing_trials and not oracle.tuner_ids


def _release_trial_memory() -> None:
    """Give back what the trial just ended used.

    - On JAX every trial's model compiles new XLA programs that JAX keeps until
      ``jax.clear_caches()``: about 10 MB a trial for a tiny model. (keras-tuner's own
      ``clear_session()`` before each build frees Keras' state.)
    - With glibc, ``malloc_trim(0)`` hands the heap pages freed by the trial back to the
      system: each of XLA's and TensorFlow's threads allocates from its own arena, and
      without it every arena keeps the peak of the largest trial it served.
    """
    if keras.backend.backend() == "jax":
        import jax

        jax.clear_caches()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None (another C library, another system)."""
    try:
        return getattr(ctypes.CDLL(None), "malloc_trim", None)
    except (OSError, TypeError):
        return None


def _freeze_gc() -> bool:
    """Move every object alive now out of the collector's way; False if someone else did."""
    if gc.get_freeze_count():
        return False
    keras.backend.clear_session()  # also collects garbage: only live objects get frozen
    gc.freeze()
    return True


def _metric_series(results, objective_name: str) -> dict[str, list[float]]:
    """Per-epoch values of every metric, averaged over a trial's executions."""
    runs = results if isinstance(results, list) else [results]
    series: list[dict[str, list[float]]] = []
    for run in runs:
        if isinstance(run, keras.callbacks.History):
            series.append({k: [float(v) for v in vals] for k, vals in run.history.items()})
        elif isinstance(run, Mapping):
            series.append({k: [float(v)] for k, v in run.items() if _is_number(v)})
        elif _is_number(run):
            series.append({objective_name: [float(run)]})
    merged = {}
    for key in sorted({k for s in series for k in s}):
        lists = [s[key] for s in series if key in s]
        length = min(len(values) for values in lists)
        merged[key] = [sum(values[i] for values in lists) / len(lists) for i in range(length)]
    return merged


def _best_score(series: Mapping[str, list[float]], objective) -> float | None:
    best = None
    epochs = min((len(v) for v in series.values()), default=0)
    for i in range(epochs):
        logs = {k: v[i] for k, v in series.items()}
        if objective.has_value(logs):
            value = objective.get_value(logs)
            if best is None or objective.better_than(value, best):
                best = value
    return best


def _is_number(value) -> bool:
    try:
        return not isinstance(value, (bool, str)) and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _last_line(message: str | None) -> str | None:
    lines = [line for line in (message or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else None


def _trial_line(
    trial_id,
    status,
    values,
    objective_name,
    score,
    seconds,
    *,
    who=None,
    error=None,
    traceback_file=None,
) -> str:
    shown = ", ".join(
        f"{k.removeprefix('tuner/')}={_fmt(v)}" for k, v in values.items() if k not in _HIDDEN
    )
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    prefix = f"[{who}] " if who else ""
    if status == TrialStatus.COMPLETED:
        result = f"{objective_name}={_fmt(score)}" if score is not None else "no score"
        return f"{prefix}trial {trial_id} completed{took}: {result} | {shown}"
    line = f"{prefix}trial {trial_id} FAILED{took}: {error or status} | {shown}"
    if traceback_file is not None:
        line += f" | traceback: {traceback_file}"
    return line


__all__ = [
    "BayesianOptimization",
    "GridSearch",
    "Hyperband",
    "RandomSearch",
    "TunerMixin",
    "adopt",
    "summary",
    "tuner_class",
]
