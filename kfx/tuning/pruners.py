"""Pruning: stop a trial that is clearly losing after a few epochs, whatever the tuner.

keras-tuner has early stopping only inside Hyperband. A kfx search with
``search(..., pruner="median" | "asha" | pruner)`` sends every epoch's metrics of a trial to
the oracle (keras-tuner's ``oracle.update_trial(trial_id, metrics, step=epoch)``, which
reaches the chief over gRPC in a distributed search), and there, where every trial's
history is known, a pruner decides whether the trial goes on. A pruned trial gets
keras-tuner's ``STOPPED`` status in the oracle's answer; the tuner then ends its ``fit``
after that epoch. Its score is the objective at its last epoch.

Two rules, after Optuna's pruners of the same names:

- :class:`MedianPruner`: after `warmup_epochs`, a trial whose objective at epoch k is worse
  than the median at epoch k of the completed trials is stopped (once `min_trials` of
  them have an epoch k).
- :class:`ASHAPruner`: asynchronous successive halving. Rungs sit at epochs
  ``min_epochs * reduction_factor**r``; a trial reaching a rung goes on only if its value is
  among the best ``1 / reduction_factor`` of the values every trial had at that rung (the
  first trials at a rung, fewer than `reduction_factor`, go on only if they are the best).

Pruners keep no state of their own: they read the trials' recorded epochs, so a chief that
is restarted decides as before. A pruner of your own subclasses :class:`Pruner`.

Example:
    >>> from kfx.tuning.pruners import MedianPruner, TrialHistory
    >>> done = [TrialHistory(str(i), "COMPLETED", {1: 1.0, 2: v}) for i, v in enumerate([.5, .6, .7])]
    >>> pruner = MedianPruner(warmup_epochs=1, min_trials=3)
    >>> pruner.prune(2, 0.9, done, "min"), pruner.prune(2, 0.55, done, "min")
    (True, False)
    >>> pruner.prune(1, 9.0, done, "min")  # still warming up
    False
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from kfx._validation import check_int, check_positive_int, fail

#: The names ``search(pruner=...)`` accepts.
PRUNERS = ("median", "asha")
#: keras-tuner's status of a pruned trial (its ``TrialStatus.STOPPED``).
PRUNED = "STOPPED"
_COMPLETED = "COMPLETED"
_FAILED = ("FAILED", "INVALID")


class TrialHistory(NamedTuple):
    """Another trial as a pruner sees it: its id, keras-tuner status, objective by epoch.

    ``values`` maps an epoch number (1 for the first epoch) to the objective's value then.
    """

    trial_id: str
    status: str
    values: Mapping[int, float]


class Pruner:
    """The interface: :meth:`prune` says whether a trial stops after the epoch it just ran."""

    def prune(
        self, epoch: int, value: float, others: Sequence[TrialHistory], direction: str
    ) -> bool:
        """Whether to stop a trial whose objective after `epoch` epochs is `value`.

        Args:
            epoch: the epochs the trial has run (1 after its first).
            value: its objective then.
            others: every other trial of the search, running or ended.
            direction: "min" or "max", the objective's.
        """
        raise NotImplementedError


def _worse(a: float, b: float, direction: str) -> bool:
    return a > b if direction == "min" else a < b


class MedianPruner(Pruner):
    """Stop a trial worse at epoch k than the median of the completed trials at epoch k.

    Args:
        warmup_epochs: epochs every trial runs before it may be pruned (a trial can stop
            after epoch ``warmup_epochs + 1`` at the earliest).
        min_trials: completed trials with an epoch k needed before anything is pruned at k.
    """

    def __init__(self, warmup_epochs: int = 1, min_trials: int = 3):
        self.warmup_epochs = check_int("MedianPruner", "warmup_epochs", warmup_epochs, minimum=0)
        self.min_trials = check_positive_int("MedianPruner", "min_trials", min_trials)

    def prune(self, epoch, value, others, direction) -> bool:
        if epoch <= self.warmup_epochs:
            return False
        if math.isnan(value):
            return True
        at_epoch = [t.values[epoch] for t in others if t.status == _COMPLETED and epoch in t.values]
        if len(at_epoch) < self.min_trials:
            return False
        return _worse(value, statistics.median(at_epoch), direction)

    def __repr__(self) -> str:
        return f"MedianPruner(warmup_epochs={self.warmup_epochs}, min_trials={self.min_trials})"


class ASHAPruner(Pruner):
    """Asynchronous successive halving: at each rung only the best ``1/reduction_factor`` go on.

    Args:
        min_epochs: the first rung's epoch; rung r is at ``min_epochs * reduction_factor**r``.
        reduction_factor: how much fewer trials each rung lets through (at least 2).

    Example:
        >>> from kfx.tuning.pruners import ASHAPruner, TrialHistory
        >>> pruner = ASHAPruner(min_epochs=1, reduction_factor=3)
        >>> [pruner.rung(e) for e in range(1, 10)]
        [0, None, 1, None, None, None, None, None, 2]
        >>> seen = [TrialHistory(str(i), "COMPLETED", {1: v}) for i, v in enumerate([.1, .2, .3, .4, .5])]
        >>> pruner.prune(1, 0.15, seen, "min"), pruner.prune(1, 0.25, seen, "min")
        (False, True)
    """

    def __init__(self, min_epochs: int = 1, reduction_factor: int = 3):
        self.min_epochs = check_positive_int("ASHAPruner", "min_epochs", min_epochs)
        self.reduction_factor = check_int(
            "ASHAPruner", "reduction_factor", reduction_factor, minimum=2
        )

    def rung(self, epoch: int) -> int | None:
        """The rung at `epoch`, or None when no rung is there."""
        step, r = self.min_epochs, 0
        while step < epoch:
            step, r = step * self.reduction_factor, r + 1
        return r if step == epoch else None

    def prune(self, epoch, value, others, direction) -> bool:
        if self.rung(epoch) is None:
            return False
        if math.isnan(value):
            return True
        competing = [
            t.values[epoch] for t in others if t.status not in _FAILED and epoch in t.values
        ]
        competing = sorted([*competing, value], reverse=direction == "max")
        # The best len // factor go on; the first ones (fewer than `factor`) only if best.
        keep = max(len(competing) // self.reduction_factor, 1)
        return _worse(value, competing[keep - 1], direction)

    def __repr__(self) -> str:
        return f"ASHAPruner(min_epochs={self.min_epochs}, reduction_factor={self.reduction_factor})"


def get(pruner: Any, where: str = "search") -> Pruner | None:
    """The pruner `pruner` names: None, ``"median"``, ``"asha"`` (defaults) or a :class:`Pruner`."""
    if pruner is None or isinstance(pruner, Pruner):
        return pruner
    if isinstance(pruner, str) and pruner in PRUNERS:
        return MedianPruner() if pruner == "median" else ASHAPruner()
    fail(
        where,
        "pruner",
        pruner,
        "None, 'median', 'asha' or a kfx.tuning pruner (MedianPruner, ASHAPruner, a Pruner subclass)",
    )


# -- applied to a keras-tuner oracle ------------------------------------------------------------


def objective_value(objective: Any, metrics: Mapping[str, Any]) -> float | None:
    """The objective's value in one epoch's `metrics`, or None when they lack it."""
    try:
        if objective.has_value(metrics):
            return float(objective.get_value(metrics))
    except (KeyError, TypeError, ValueError):
        pass
    return None


def history(trial: Any, objective_name: str) -> dict[int, float]:
    """A keras-tuner trial's objective by epoch number (keras-tuner's step + 1)."""
    if not trial.metrics.exists(objective_name):
        return {}
    return {
        int(obs.step) + 1: float(obs.mean()) for obs in trial.metrics.get_history(objective_name)
    }


def decide(pruner: Pruner, oracle: Any, trial_id: str, metrics: Mapping[str, Any], step) -> None:
    """Before the oracle records epoch `step` of `trial_id`: mark the trial pruned if it loses.

    A pruned trial gets :data:`PRUNED` (keras-tuner's ``STOPPED``) as its status, its
    objective at this epoch as its score and this step as its best step. Called with the
    oracle's lock held (:func:`kfx.tuning._patches.watch_oracle`).
    """
    trial = oracle.trials.get(trial_id)
    if trial is None or trial.status != "RUNNING":
        return
    objective = oracle.objective
    value = objective_value(objective, metrics)
    if value is None:
        return
    name = objective.name
    others = [
        TrialHistory(t.trial_id, t.status, history(t, name))
        for t in oracle.trials.values()
        if t.trial_id != trial_id
    ]
    if pruner.prune(int(step) + 1, value, others, objective.direction):
        trial.status = PRUNED
        trial.score = value
        trial.best_step = int(step)


__all__ = [
    "PRUNED",
    "PRUNERS",
    "ASHAPruner",
    "MedianPruner",
    "Pruner",
    "TrialHistory",
    "decide",
    "get",
]
