"""What a kfx search prints: one line per trial, and a summary with the best trials.

keras-tuner prints a table of every hyperparameter at each trial's start and end; a kfx
search prints one line per trial instead (its values, score and time; a failure with its
error and traceback file; a pruned trial with the epoch it stopped after) and
:func:`summary` at the end: the counts of trials and a table of the best ones, completed
trials first, pruned ones after them. The numbers of a trial come from :func:`metric_series` (per-epoch
values, never the ``History``, which holds the trial's model) and :func:`best_score`.

Example:
    >>> from kfx.tuning.reports import trial_line
    >>> trial_line("3", "COMPLETED", {"units": 8, "lr": 0.0012345}, "val_loss", 0.25, 1.23)
    'trial 3 completed in 1.2 s: val_loss=0.25 | units=8, lr=0.001234'
    >>> trial_line("4", "FAILED", {"units": 5}, "val_loss", None, 0.4, who="tuner0",
    ...            error="ValueError: no")
    '[tuner0] trial 4 FAILED in 0.4 s: ValueError: no | units=5'
    >>> trial_line("5", "STOPPED", {"units": 2}, "val_loss", 2.31, 0.5, pruned_after=2)
    'trial 5 pruned after epoch 2 in 0.5 s: val_loss=2.31 | units=2'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

#: Trials in the final table.
TOP_TRIALS = 5
#: Hyperband's bookkeeping values, left out of the per-trial line and the table.
HIDDEN = ("tuner/trial_id", "tuner/initial_epoch", "tuner/bracket", "tuner/round")

# keras-tuner's TrialStatus values (plain strings), so that this module needs no import.
_COMPLETED = "COMPLETED"
_FAILED = ("FAILED", "INVALID")
#: A pruned trial's status (keras-tuner's STOPPED; see kfx.tuning.pruners).
_PRUNED = "STOPPED"


def summary(tuner: Any, *, top: int = TOP_TRIALS, elapsed: float | None = None) -> str:
    """A few lines on a search: trial counts, failures and a table of the best trials.

    Needs the oracle itself (a local search, or the chief of a distributed one).

    Args:
        tuner: a keras-tuner tuner.
        top: the most trials in the table.
        elapsed: the search's seconds, shown in the first line when given.

    Example:
        >>> import tempfile, keras_tuner
        >>> from kfx.tuning.reports import summary
        >>> tuner = keras_tuner.RandomSearch(lambda hp: None, objective="val_loss",
        ...                                  directory=tempfile.mkdtemp(), project_name="p")
        >>> print(summary(tuner, elapsed=1.5))  # doctest: +ELLIPSIS
        search done in 1.5 s: 0 trials, 0 completed, 0 failed (project .../p)
        no completed trial
    """
    oracle = tuner.oracle
    trials = list(oracle.trials.values())
    done = [t for t in trials if t.status == _COMPLETED and t.score is not None]
    pruned = [t for t in trials if t.status == _PRUNED and t.score is not None]
    failed = [t for t in trials if t.status in _FAILED]
    other = len(trials) - len(done) - len(pruned) - len(failed)
    head = f"search done in {elapsed:.1f} s: " if elapsed is not None else "search: "
    lines = [
        head
        + f"{len(trials)} trials, {len(done)} completed, "
        + (f"{len(pruned)} pruned, " if pruned else "")
        + f"{len(failed)} failed"
        + (f", {other} unfinished" if other else "")
        + f" (project {tuner.project_dir})"
    ]
    objective = oracle.objective
    if done:
        best = ranked(done, objective)[0]
        lines.append(f"best {objective.name}: {_fmt(best.score)} (trial {best.trial_id})")
    else:
        lines.append("no completed trial")
    shown = (ranked(done, objective) + ranked(pruned, objective))[:top]
    if shown:
        lines += _table(shown, objective.name, with_status=bool(pruned))
    return "\n".join(lines)


def ranked(trials: list, objective: Any) -> list:
    """`trials` best first by score, in the direction of `objective` (a keras-tuner one).

    A search's ranking is the completed trials ranked, then the pruned ones: a pruned
    trial's score is one of its early epochs, never compared with a completed trial's.
    """
    return sorted(trials, key=lambda t: t.score, reverse=objective.direction == "max")


def _table(best: list, objective_name: str, *, with_status: bool = False) -> list[str]:
    """The best trials' ranks, scores and values, one aligned row each under a header."""
    keys: list[str] = []
    for t in best:
        keys += [k for k in t.hyperparameters.values if k not in HIDDEN and k not in keys]
    rows = [["rank", "trial", objective_name, *(["status"] if with_status else []), *keys]]
    for rank, t in enumerate(best, start=1):
        values = t.hyperparameters.values
        status = [_status_cell(t)] if with_status else []
        rows.append(
            [
                str(rank),
                t.trial_id,
                _fmt(t.score),
                *status,
                *(_fmt(values.get(k, "-")) for k in keys),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _status_cell(trial: Any) -> str:
    if trial.status != _PRUNED:
        return "completed"
    step = getattr(trial, "best_step", None)
    return "pruned" if step is None else f"pruned@{int(step) + 1}"


def trial_line(
    trial_id: str,
    status: str,
    values: Mapping[str, Any],
    objective_name: str,
    score: float | None,
    seconds: float | None,
    *,
    who: str | None = None,
    error: str | None = None,
    traceback_file: Any = None,
    pruned_after: int | None = None,
) -> str:
    """One trial's line: who ran it, its outcome and time, its hyperparameters.

    Args:
        trial_id, status: the trial's id and keras-tuner status (``"STOPPED"``: pruned;
            anything else but ``"COMPLETED"`` is reported as failed).
        values: its hyperparameters' values (Hyperband's bookkeeping ones are left out).
        objective_name, score: the objective and the trial's best value of it, or None.
        seconds: how long it took, or None (unknown: the chief reporting a worker's trial).
        who: a prefix naming the process, e.g. ``"tuner0"`` or ``"chief <- tuner0"``.
        error: a failed trial's error line (default: its status).
        traceback_file: where a failed trial's traceback was written, or None.
        pruned_after: the epochs a pruned trial ran, when known.
    """
    shown = ", ".join(
        f"{k.removeprefix('tuner/')}={_fmt(v)}" for k, v in values.items() if k not in HIDDEN
    )
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    prefix = f"[{who}] " if who else ""
    result = f"{objective_name}={_fmt(score)}" if score is not None else "no score"
    if status == _COMPLETED:
        return f"{prefix}trial {trial_id} completed{took}: {result} | {shown}"
    if status == _PRUNED:
        after = f" after epoch {pruned_after}" if pruned_after is not None else ""
        return f"{prefix}trial {trial_id} pruned{after}{took}: {result} | {shown}"
    line = f"{prefix}trial {trial_id} FAILED{took}: {error or status} | {shown}"
    if traceback_file is not None:
        line += f" | traceback: {traceback_file}"
    return line


def worker_line(tuner_id: str, seconds: float, stats: Mapping[str, Any]) -> str:
    """A worker's last line: its trials, its requests to the chief and its time in backoff.

    Example:
        >>> from kfx.tuning.reports import worker_line
        >>> stats = {"trials": 3, "failed": 1, "requests": 5, "idle": 2, "idle_seconds": 0.3}
        >>> worker_line("tuner1", 12.34, stats)
        '[tuner1] done in 12.3 s: ran 3 trials (1 failed); 5 trial requests, 2 answered idle, 0.3 s in backoff'
    """
    return (
        f"[{tuner_id}] done in {seconds:.1f} s: ran {stats['trials']} "
        f"trials ({stats['failed']} failed"
        + (f", {stats['pruned']} pruned" if stats.get("pruned") else "")
        + f"); {stats['requests']} trial requests, "
        f"{stats['idle']} answered idle, {stats['idle_seconds']:.1f} s in backoff"
    )


def last_line(message: str | None) -> str | None:
    """The last non-blank line of a traceback (the error itself), or None.

    Example:
        >>> from kfx.tuning.reports import last_line
        >>> last_line("Traceback (most recent call last):\\n  ...\\nValueError: no\\n\\n")
        'ValueError: no'
    """
    lines = [line for line in (message or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else None


def metric_series(results: Any, objective_name: str) -> dict[str, list[float]]:
    """Per-epoch values of every metric, averaged over a trial's executions.

    Args:
        results: what ``run_trial`` returned: a ``History``, a dict of metrics, a number,
            or a list of those (one per execution).
        objective_name: the metric a bare number stands for.

    Example:
        >>> from kfx.tuning.reports import metric_series
        >>> metric_series([{"val_loss": 1.0}, {"val_loss": 3.0, "note": "x"}], "val_loss")
        {'val_loss': [2.0]}
    """
    import keras

    runs = results if isinstance(results, list) else [results]
    series: list[dict[str, list[float]]] = []
    for run in runs:
        if isinstance(run, keras.callbacks.History):
            series.append({k: [float(v) for v in vals] for k, vals in run.history.items()})
        elif isinstance(run, Mapping):
            series.append({k: [float(v)] for k, v in run.items() if is_number(v)})
        elif is_number(run):
            series.append({objective_name: [float(run)]})
    merged = {}
    for key in sorted({k for s in series for k in s}):
        lists = [s[key] for s in series if key in s]
        length = min(len(values) for values in lists)
        merged[key] = [sum(values[i] for values in lists) / len(lists) for i in range(length)]
    return merged


def last_score(series: Mapping[str, list[float]], objective: Any) -> float | None:
    """The value of `objective` at the last epoch of `series` (a pruned trial's score)."""
    epochs = min((len(v) for v in series.values()), default=0)
    logs = {k: v[epochs - 1] for k, v in series.items()} if epochs else {}
    return objective.get_value(logs) if epochs and objective.has_value(logs) else None


def best_score(series: Mapping[str, list[float]], objective: Any) -> float | None:
    """The best value of `objective` (a keras-tuner objective) over the epochs of `series`."""
    best = None
    epochs = min((len(v) for v in series.values()), default=0)
    for i in range(epochs):
        logs = {k: v[i] for k, v in series.items()}
        if objective.has_value(logs):
            value = objective.get_value(logs)
            if best is None or objective.better_than(value, best):
                best = value
    return best


def is_number(value: Any) -> bool:
    """A finite number (not a bool or a str)."""
    try:
        return not isinstance(value, (bool, str)) and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


__all__ = [
    "TOP_TRIALS",
    "best_score",
    "is_number",
    "last_line",
    "last_score",
    "metric_series",
    "ranked",
    "summary",
    "trial_line",
    "worker_line",
]
