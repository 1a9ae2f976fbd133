"""keras-tuner tuners with kfx's trial reports, HParams logging, failure files and backoff.

:class:`TunerMixin` goes in front of any keras-tuner tuner class; :func:`tuner_class` makes
that combination, and ``kfx.tuning.RandomSearch``, ``BayesianOptimization``, ``Hyperband``
and ``GridSearch`` are the ready-made ones. A kfx tuner is a keras-tuner tuner (same
arguments, same files, same chief/worker protocol) whose search reports each trial in one
line (:mod:`kfx.tuning.reports`), logs it to HParams, prunes losing trials when given a
pruner (:mod:`kfx.tuning.pruners`), keeps its state files repairable
(:mod:`kfx.tuning._state`), resumes a trial run again from its last completed epoch
(:mod:`kfx.tuning._epochs`) and leaves no memory behind (:mod:`kfx.tuning._memory`). In a
distributed search, an idle worker backs off before asking the chief again and beats a
heartbeat for ``kfx tune`` (:mod:`kfx.tuning._heartbeat`), a worker never deletes the
shared project folder, and the chief exits soon after the last trial.
docs/tuning.md describes each of these.

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

import contextlib
import math
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import keras_tuner
from keras_tuner.engine.base_tuner import BaseTuner
from keras_tuner.engine.trial import TrialStatus

from kfx import _io
from kfx._validation import check_non_negative_float, fail
from kfx.tuning import (
    _env,
    _epochs,
    _heartbeat,
    _kernel_cache,
    _memory,
    _patches,
    _single_replica,
    _state,
    pruners,
    reports,
)
from kfx.tuning import hparams as _hparams
from kfx.tuning.reports import summary

#: Seconds a worker sleeps after its first "idle" answer; doubled on each further one.
IDLE_BACKOFF = 0.1
#: The longest sleep between two requests of an idle worker.
MAX_IDLE_BACKOFF = 1.0
#: How often the chief checks whether the search is over (keras-tuner itself: every 20 s).
CHIEF_POLL_SECONDS = 0.5


class TunerMixin:
    """Put in front of a keras-tuner tuner class: ``class T(TunerMixin, keras_tuner.RandomSearch)``.

    Args:
        log_dir: folder for the HParams dashboard (one run folder per trial), or None.
        idle_backoff: first sleep, in seconds, of a worker told to wait (0: keras-tuner's
            behaviour, ask again at once).
        max_idle_backoff: longest such sleep.
        pruner: None, "median", "asha" or a :class:`kfx.tuning.pruners.Pruner`: stops
            losing trials early (not with Hyperband, which stops trials itself).
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
        pruner: Any = None,
        **kwargs,
    ):
        _prepare_project(kwargs, _env.role())
        with _memory.kept_young():  # the search space's build, freed when the search starts
            super().__init__(*args, **kwargs)
        self._kfx_setup(
            log_dir=log_dir,
            idle_backoff=idle_backoff,
            max_idle_backoff=max_idle_backoff,
            pruner=pruner,
        )

    def _kfx_setup(
        self,
        *,
        log_dir: str | None = None,
        idle_backoff: float = IDLE_BACKOFF,
        max_idle_backoff: float = MAX_IDLE_BACKOFF,
        pruner: Any = None,
    ) -> None:
        where = type(self).__name__
        self.kfx_pruner = pruners.get(pruner, where)
        if self.kfx_pruner is not None and isinstance(self, keras_tuner.Hyperband):
            fail(where, "pruner", pruner, "None with Hyperband, which stops its trials itself")
        for arg, value in (("idle_backoff", idle_backoff), ("max_idle_backoff", max_idle_backoff)):
            check_non_negative_float(where, arg, value, what="a number of seconds")
        if max_idle_backoff < idle_backoff:
            fail(where, "max_idle_backoff", max_idle_backoff, f">= idle_backoff ({idle_backoff})")
        self.kfx_log_dir = None if log_dir is None else str(log_dir)
        self.idle_backoff = float(idle_backoff)
        self.max_idle_backoff = float(max_idle_backoff)
        self.kfx_stats = {
            "trials": 0,
            "failed": 0,
            "pruned": 0,
            "requests": 0,
            "idle": 0,
            "idle_seconds": 0.0,
        }
        self._kfx_waiting = False  # a trial request is out and no trial came of it yet
        self._kfx_idle_streak = 0
        self._kfx_started: dict[str, float] = {}
        self._kfx_series: dict[str, list[float]] | None = None
        self._kfx_fit_verbose: Any = None
        self._kfx_fit_epochs: float = math.inf
        self._kfx_pruned: dict[str, int] = {}  # trial id -> the epoch it was pruned after

    # -- the search -------------------------------------------------------------------------

    def search(self, *fit_args, **fit_kwargs):
        """keras-tuner's ``search``, reported one line per trial and summarized at the end."""
        role = _env.role()
        # `verbose` goes to fit only: kfx's lines replace keras-tuner's per-trial tables.
        self._kfx_fit_verbose = fit_kwargs.pop("verbose", None)
        started = time.time()
        if role == "worker":
            with _heartbeat.beating():
                self._kfx_run_trials(fit_args, fit_kwargs)
            seconds = time.time() - started
            print(reports.worker_line(self.tuner_id, seconds, self.kfx_stats), flush=True)
            return
        self.oracle.verbose = 0
        stopped = self._kfx_watch_oracle(report=role == "chief")
        try:
            if role == "chief":
                self._kfx_serve(fit_args, fit_kwargs, stopped)
            else:
                self._kfx_run_trials(fit_args, fit_kwargs)
        finally:
            _patches.unwatch_oracle(self.oracle)
        _state.backup(self.project_dir, _state.root_files(self.project_dir))
        if self.kfx_log_dir:
            self._kfx_write_experiment()
        print(summary(self, elapsed=time.time() - started), flush=True)

    def _kfx_run_trials(self, fit_args, fit_kwargs) -> None:
        """keras-tuner's own search loop, with each trial's build wrapped for speed and memory.

        The garbage collector is kept off the objects alive before each trial: the freeze
        is renewed right at the build, after keras-tuner's own ``clear_session()`` and
        collection (:class:`kfx.tuning._memory.FrozenGC`). On TensorFlow the trial's
        optimizer then skips the all-reduce of its one replica, which would keep the
        trial's train-step graph alive for good (:mod:`kfx.tuning._single_replica`), and
        TensorFlow's eager kernels are kept from one trial's build to the next, within a
        bound (:mod:`kfx.tuning._kernel_cache`).
        """
        with (
            _memory.FrozenGC() as frozen,
            _kernel_cache.KernelCache() as kernels,
            self._kfx_wrapped_build(frozen, kernels),
            warnings.catch_warnings(),
        ):
            # Reporting every epoch (pruning) is keras-tuner's "deprecated" way of reporting.
            warnings.filterwarnings("ignore", "The use case of calling", DeprecationWarning)
            super().search(*fit_args, **fit_kwargs)

    def _kfx_wrapped_build(self, frozen: _memory.FrozenGC, kernels: _kernel_cache.KernelCache):
        if self.hypermodel is None:  # a tuner whose run_trial builds its own models
            return contextlib.nullcontext()

        def built(model) -> None:
            _single_replica.skip_all_reduce(model)
            kernels.note(model)

        return _patches.wrapped_build(self.hypermodel, before=frozen.renew, after=built)

    def _kfx_watch_oracle(self, *, report: bool) -> threading.Event:
        """Watch the oracle's trials (:func:`kfx.tuning._patches.watch_oracle`).

        After each trial is created or ended, a last good copy of the state files just
        written is kept (:mod:`kfx.tuning._state`); on the chief each ended trial is
        reported. The event returned is set once a worker has been told to stop.
        """
        oracle, project = self.oracle, self.project_dir
        stopped = threading.Event()

        def created(trial):
            if trial.status == TrialStatus.STOPPED:
                stopped.set()
            elif trial.status == TrialStatus.RUNNING:
                _state.backup(project, [_state.trial_file(trial.trial_id), _state.ORACLE_FILE])

        def ended(trial, runner):
            _state.backup(project, [_state.trial_file(trial.trial_id), _state.ORACLE_FILE])
            if report:
                print(_chief_line(oracle, oracle.trials[trial.trial_id], runner), flush=True)

        pruner = self.kfx_pruner
        _patches.watch_oracle(
            oracle,
            on_create=created,
            on_end=ended,
            on_update=None
            if pruner is None
            else lambda trial_id, metrics, step: pruners.decide(
                pruner, oracle, trial_id, metrics, step
            ),
            pruned_status=None if pruner is None else pruners.PRUNED,
        )
        return stopped

    def _kfx_serve(self, fit_args, fit_kwargs, stopped: threading.Event) -> None:
        """The chief: keras-tuner's oracle server, left as soon as every worker is done."""
        errors: list[BaseException] = []
        # keras-tuner 1.4.8 saves the chief's tuner before serving; 1.4.6 and 1.4.7 do not,
        # so a rerun chief found no tuner file to reload and handed a finished trial out again.
        self.save()

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
        self._kfx_fit_epochs = kwargs.get("epochs") or math.inf
        if self._kfx_resumable():
            results = self._kfx_run_resumable(trial, args, kwargs)
        else:
            results = super().run_trial(trial, *args, **kwargs)
        # Numbers only: a History holds its model, which must not outlive the trial.
        self._kfx_series = reports.metric_series(results, self.oracle.objective.name)
        return results

    def _kfx_resumable(self) -> bool:
        """Whether trials keep their last epoch: not Hyperband (its ``run_trial`` sets the
        epochs itself), one execution a trial, a hypermodel whose ``fit`` is called."""
        return (
            self.hypermodel is not None
            and not isinstance(self, keras_tuner.Hyperband)
            and getattr(self, "executions_per_trial", 1) == 1
        )

    def _kfx_run_resumable(self, trial, args, kwargs):
        """keras-tuner's ``run_trial`` with the trial's epochs saved as they complete, and
        resumed from the last one saved; an unusable state is moved aside, with a warning,
        and the trial runs from epoch 0."""
        trial_dir = self.get_trial_dir(trial.trial_id)
        try:
            resume = _epochs.read(trial_dir)
        except _epochs.StateError as err:
            self._kfx_set_aside(trial_dir, err)
            resume = None
        try:
            results = super().run_trial(trial, *args, **_epoch_kwargs(kwargs, trial_dir, resume))
        except _epochs.StateError as err:  # raised as training began: no epoch has run
            self._kfx_set_aside(trial_dir, err)
            return super().run_trial(trial, *args, **_epoch_kwargs(kwargs, trial_dir, None))
        if resume is not None:
            print(f"kfx: trial {trial.trial_id} resumed at epoch {resume.next_epoch}", flush=True)
            for result in results if isinstance(results, list) else [results]:
                _epochs.merge_history(result, resume)
        return results

    @staticmethod
    def _kfx_set_aside(trial_dir: str, err: _epochs.StateError) -> None:
        aside = _epochs.set_aside(trial_dir)
        warnings.warn(
            f"{err} It was moved to {aside}; the trial starts again from epoch 0.",
            RuntimeWarning,
            stacklevel=3,
        )

    def on_epoch_end(self, trial, model, epoch, logs=None):
        """With a pruner: report the epoch to the oracle; stop the fit if it says pruned."""
        super().on_epoch_end(trial, model, epoch, logs=logs)
        if self.kfx_pruner is None or not logs:
            return
        metrics = {k: float(v) for k, v in logs.items() if reports.is_number(v)}
        objective = self.oracle.objective
        value = pruners.objective_value(objective, metrics)
        if value is None:
            return
        metrics[objective.name] = value
        answer = self.oracle.update_trial(trial.trial_id, metrics, step=epoch)
        # A verdict on the last epoch changes nothing: the trial has run all of them.
        if answer.status == pruners.PRUNED and epoch + 1 < self._kfx_fit_epochs:
            model.stop_training = True
            self._kfx_pruned[trial.trial_id] = epoch + 1

    def on_trial_end(self, trial):
        seconds = time.time() - self._kfx_started.pop(trial.trial_id, time.time())
        series, self._kfx_series = self._kfx_series or {}, None
        pruned_after = self._kfx_pruned.pop(trial.trial_id, None)
        if pruned_after is not None and trial.status == TrialStatus.COMPLETED:
            trial.status = pruners.PRUNED  # keras-tuner calls every trial that ran completed
        pruned = trial.status == pruners.PRUNED
        failed = trial.status != TrialStatus.COMPLETED and not pruned
        self.kfx_stats["trials"] += 1
        self.kfx_stats["failed"] += int(failed)
        self.kfx_stats["pruned"] += int(pruned)
        traceback_file = self._kfx_write_traceback(trial) if failed else None
        status = "FAILED" if failed else trial.status
        if self.kfx_log_dir:
            self._kfx_write_session(trial, series, status, seconds, pruned_after)
        objective = self.oracle.objective
        line = reports.trial_line(
            trial.trial_id,
            status,
            trial.hyperparameters.values,
            objective.name,
            reports.last_score(series, objective)
            if pruned
            else reports.best_score(series, objective),
            seconds,
            who=self.tuner_id if _env.role() == "worker" else None,
            error=reports.last_line(trial.message) if failed else None,
            traceback_file=traceback_file,
            pruned_after=pruned_after,
        )
        print(line, flush=True)
        super().on_trial_end(trial)
        # Only once the oracle has the trial's end: killed before, the trial resumes.
        _epochs.clear(self.get_trial_dir(trial.trial_id))
        # (The tuner's own state file needs no copy: a cut-short one is reset on resume.)
        _memory.release_trial_memory()

    # -- files of a trial and of the search -------------------------------------------------

    def _kfx_write_traceback(self, trial) -> Path:
        path = Path(self.get_trial_dir(trial.trial_id)) / "traceback.txt"
        _io.write_text(path, trial.message or "(keras-tuner recorded no traceback)\n")
        return path

    def _kfx_write_session(
        self, trial, series, status: str, seconds: float, pruned_after: int | None
    ) -> None:
        values = dict(trial.hyperparameters.values)
        try:
            _hparams.write_session(
                Path(self.kfx_log_dir) / f"trial_{trial.trial_id}",
                values,
                series,
                status=_SESSION_STATUS[status],
                group=None
                if pruned_after is None
                else f"trial_{trial.trial_id} (pruned after epoch {pruned_after})",
                start_time=time.time() - seconds,
                first_step=int(values.get("tuner/initial_epoch", 0)),
            )
        except OSError as err:
            print(f"kfx: could not write HParams for trial {trial.trial_id}: {err}")

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


def adopt(tuner: BaseTuner, *, log_dir: str | None = None, pruner: Any = None) -> BaseTuner:
    """Give an existing keras-tuner tuner kfx's additions (in place) and return it.

    `log_dir` and `pruner` (when not None) replace a kfx tuner's own.
    """
    if not isinstance(tuner, BaseTuner):
        fail("adopt", "tuner", tuner, "a keras_tuner tuner instance")
    if not isinstance(tuner, TunerMixin):
        _patches.adopt_class(tuner, tuner_class(type(tuner)))
        tuner._kfx_setup(log_dir=log_dir, pruner=pruner)
        return tuner
    if log_dir is not None:
        tuner.kfx_log_dir = str(log_dir)
    if pruner is not None:
        tuner.kfx_pruner = pruners.get(pruner, "adopt")
    return tuner


def _epoch_kwargs(kwargs: dict[str, Any], trial_dir: str, resume) -> dict[str, Any]:
    """`kwargs` for the trial's fit: its epochs saved, and started after `resume` if given."""
    callbacks = [_epochs.EpochCheckpoint(trial_dir, resume), *(kwargs.get("callbacks") or [])]
    kwargs = {**kwargs, "callbacks": callbacks}
    if resume is not None:
        kwargs["initial_epoch"] = resume.next_epoch
    return kwargs


def _prepare_project(kwargs: dict[str, Any], role: str) -> None:
    """Before keras-tuner opens the project: keep workers off `overwrite`, repair state files."""
    if role == "worker" and kwargs.get("overwrite"):
        # Every worker runs the same script: with overwrite=True a (re)started worker
        # would delete the project folder that the chief and the other workers use.
        kwargs["overwrite"] = False
    if kwargs.get("overwrite"):
        return
    # keras-tuner writes its state files in place: a process killed mid-write leaves one
    # cut short, and the resumed search would fail to load it.
    project = Path(kwargs.get("directory") or ".") / (
        kwargs.get("project_name") or "untitled_project"
    )
    own = [f"{_env.tuner_id()}.json"] if role == "worker" else None
    for message in _state.repair(project, own):
        print(f"kfx: {message}", flush=True)


def _chief_line(oracle, trial, runner: str) -> str:
    """The chief's line on a trial a worker (`runner`) ended."""
    pruned = trial.status == pruners.PRUNED and trial.best_step is not None
    return reports.trial_line(
        trial.trial_id,
        trial.status,
        trial.hyperparameters.values,
        oracle.objective.name,
        trial.score,
        None,
        who=f"chief <- {runner}",
        error=reports.last_line(trial.message),
        pruned_after=int(trial.best_step) + 1 if pruned else None,
    )


#: A trial's status in kfx's lines -> its HParams session status.
_SESSION_STATUS = {
    TrialStatus.COMPLETED: "success",
    pruners.PRUNED: "pruned",
    "FAILED": "failure",
}


@keras_tuner.synchronized
def _search_over(oracle) -> bool:
    """keras-tuner's own exit condition of the chief: no trial running, every worker told to stop."""
    return not oracle.ongoing_trials and not oracle.tuner_ids


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
