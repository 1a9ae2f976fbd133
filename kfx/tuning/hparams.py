"""TensorBoard HParams summaries written with the tensorboard package alone.

The HParams dashboard reads three kinds of summaries: an *experiment* (the hyperparameters
and metrics of the search, with their domains) in the log folder's root run, and per trial a
*session start* (its hyperparameter values), scalars (its metrics) and a *session end* (its
status) in a run folder of its own. TensorFlow's writers need TensorFlow; these functions
build the same protocol buffers with ``tensorboard`` and write the event file bytes
themselves, so they work under every Keras backend and never import TensorFlow.

Each call writes one complete event file atomically (temporary file, then rename).

Example:
    >>> import tempfile
    >>> from kfx.tuning import hparams
    >>> log_dir = tempfile.mkdtemp()
    >>> _ = hparams.write_session(f"{log_dir}/trial_0", {"units": 32, "optimizer": "adam"},
    ...                           {"val_loss": [0.9, 0.5], "loss": [1.0, 0.6]})
    >>> session = hparams.read_sessions(log_dir)["trial_0"]
    >>> metrics = session["metrics"]  # (one subscript a line: mkdocs reads "][" as a link)
    >>> session["hparams"], metrics["val_loss"], session["status"]
    ({'optimizer': 'adam', 'units': 32.0}, 0.5, 'success')
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from google.protobuf import struct_pb2

from kfx._events import read_events, write_event_file
from kfx._tensorboard import hparams_api_pb2 as api_pb2
from kfx._tensorboard import hparams_metadata as metadata
from kfx._tensorboard import hparams_plugin_data_pb2 as plugin_data_pb2
from kfx._tensorboard import summary_pb2
from kfx._validation import fail

#: Session status names -> the HParams plugin's status values. The plugin has no status
#: for a pruned trial: a pruned session is written as "unknown" (neither a success nor a
#: failure) in a session group named ``"<run> (pruned...)"``, the name the dashboard's
#: table shows, and read back as "pruned".
STATUSES = {
    "success": api_pb2.STATUS_SUCCESS,
    "failure": api_pb2.STATUS_FAILURE,
    "running": api_pb2.STATUS_RUNNING,
    "unknown": api_pb2.STATUS_UNKNOWN,
    "pruned": api_pb2.STATUS_UNKNOWN,
}
_STATUS_NAMES = {
    api_pb2.STATUS_SUCCESS: "success",
    api_pb2.STATUS_FAILURE: "failure",
    api_pb2.STATUS_RUNNING: "running",
    api_pb2.STATUS_UNKNOWN: "unknown",
}
#: What a pruned session's group name holds.
PRUNED_MARK = "(pruned"


def write_session(
    run_dir: str | os.PathLike,
    hparams: Mapping[str, Any],
    metrics: Mapping[str, float | Sequence[float]] | None = None,
    *,
    status: str = "success",
    group: str | None = None,
    start_time: float | None = None,
    end_time: float | None = None,
    first_step: int = 0,
) -> Path:
    """Write one trial (an HParams *session*) to its own run folder.

    Args:
        run_dir: the trial's run folder (one per trial, below the search's log folder).
        hparams: hyperparameter values by name (bool, number or str; others become str).
        metrics: metric values by name: a sequence is one value per epoch, a number a final
            value. The dashboard shows each metric's last value.
        status: "success", "failure", "running", "unknown" or "pruned".
        group: session group name (default: the run folder's name; for a pruned trial,
            that name and ``"(pruned)"``).
        start_time, end_time: seconds since the epoch (default: now).
        first_step: step of the first metric value (Hyperband resumes at a later epoch).

    Returns:
        The event file written.
    """
    where = "write_session"
    if status not in STATUSES:
        fail(where, "status", status, "one of " + ", ".join(map(repr, STATUSES)))
    if not isinstance(hparams, Mapping):
        fail(where, "hparams", hparams, "a dict {name: value}")
    run_dir = Path(run_dir)
    now = time.time()
    start = now if start_time is None else float(start_time)
    if group is None:
        group = run_dir.name + (f" {PRUNED_MARK})" if status == "pruned" else "")
    elif status == "pruned" and PRUNED_MARK not in group:
        group += f" {PRUNED_MARK})"
    start_info = _start_info(group, start, hparams)
    summaries = [
        (0, _plugin_summary(metadata.SESSION_START_INFO_TAG, session_start_info=start_info))
    ]
    summaries += _metric_summaries(metrics or {}, first_step)
    end_info = plugin_data_pb2.SessionEndInfo(
        status=STATUSES[status], end_time_secs=now if end_time is None else float(end_time)
    )
    summaries.append((0, _plugin_summary(metadata.SESSION_END_INFO_TAG, session_end_info=end_info)))
    return write_event_file(run_dir, summaries, now)


def _start_info(group: str, start: float, hparams: Mapping[str, Any]):
    """A session's start record: its group, start time and hyperparameter values."""
    start_info = plugin_data_pb2.SessionStartInfo(group_name=group, start_time_secs=start)
    for name, value in sorted(hparams.items()):
        value = _plain(value)
        if isinstance(value, bool):
            start_info.hparams[name].bool_value = value
        elif isinstance(value, (int, float)):
            start_info.hparams[name].number_value = value
        else:
            start_info.hparams[name].string_value = str(value)
    return start_info


def _metric_summaries(metrics: Mapping[str, Any], first_step: int) -> list:
    """``(step, scalar summary)`` of each finite metric value, from `first_step` on."""
    summaries = []
    for tag, values in sorted(metrics.items()):
        series = [values] if isinstance(values, (int, float)) else list(values)
        for step, value in enumerate(series, start=first_step):
            value = float(_plain(value))
            if math.isfinite(value):
                scalar = summary_pb2.Summary(
                    value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)]
                )
                summaries.append((step, scalar))
    return summaries


def write_experiment(
    log_dir: str | os.PathLike,
    space: Any,
    metrics: Sequence[str],
    *,
    description: str = "",
) -> Path:
    """Write the search's *experiment*: every hyperparameter's domain and the metric names.

    Without it the dashboard infers both from the sessions; with it, it shows each
    hyperparameter's whole domain. The file has a fixed name in `log_dir` and is replaced
    on every call (a resumed search rewrites it).

    Args:
        log_dir: the search's log folder (the parent of the trials' run folders).
        space: a ``keras_tuner.HyperParameters`` (its search space), or a dict
            ``{name: [values]}`` (discrete) / ``{name: (min, max)}`` with a tuple of two
            numbers (an interval).
        metrics: metric tags, as written by :func:`write_session`.
        description: Markdown shown by the dashboard.

    Returns:
        The event file written.
    """
    infos = _hparam_infos(space)
    if isinstance(metrics, str) or not all(isinstance(m, str) for m in metrics):
        fail("write_experiment", "metrics", metrics, "a list of metric names")
    experiment = api_pb2.Experiment(
        description=description,
        time_created_secs=time.time(),
        hparam_infos=infos,
        metric_infos=[
            api_pb2.MetricInfo(name=api_pb2.MetricName(group="", tag=tag))
            for tag in sorted(set(metrics))
        ],
    )
    summary = _plugin_summary(metadata.EXPERIMENT_TAG, experiment=experiment)
    # The fixed name sorts before every timestamped event file of the same folder.
    return write_event_file(
        log_dir, [(0, summary)], time.time(), name="events.out.tfevents.0.kfx-experiment"
    )


def read_sessions(log_dir: str | os.PathLike) -> dict[str, dict]:
    """Read back what :func:`write_session` wrote below `log_dir`.

    Returns:
        ``{run: {"hparams", "metrics", "status", "group", "start_time", "end_time"}}`` with
        `run` the run folder relative to `log_dir` (posix separators), `metrics` the last
        value of each scalar, `status` one of :data:`STATUSES` (``"running"`` until the
        session end is written; ``"pruned"`` for an "unknown" one of a pruned group).
    """
    root = Path(log_dir)
    sessions: dict[str, dict] = {}
    for run_dir in sorted({p.parent for p in root.rglob("*tfevents*") if p.is_file()}):
        session: dict[str, Any] | None = None
        last: dict[str, tuple[int, float]] = {}
        for path in sorted(run_dir.glob("*tfevents*")):
            for event in read_events(path):
                for value in event.summary.value:
                    if value.tag == metadata.SESSION_START_INFO_TAG:
                        start = metadata.parse_session_start_info_plugin_data(
                            value.metadata.plugin_data.content
                        )
                        session = {
                            "hparams": {
                                k: _from_value(v) for k, v in sorted(start.hparams.items())
                            },
                            "metrics": {},
                            "status": "running",
                            "group": start.group_name,
                            "start_time": start.start_time_secs,
                            "end_time": None,
                        }
                    elif value.tag == metadata.SESSION_END_INFO_TAG and session is not None:
                        end = metadata.parse_session_end_info_plugin_data(
                            value.metadata.plugin_data.content
                        )
                        status = _STATUS_NAMES.get(end.status, "unknown")
                        if status == "unknown" and PRUNED_MARK in session["group"]:
                            status = "pruned"
                        session["status"] = status
                        session["end_time"] = end.end_time_secs
                    elif value.WhichOneof("value") == "simple_value":
                        if value.tag not in last or event.step >= last[value.tag][0]:
                            last[value.tag] = (event.step, value.simple_value)
        if session is not None:
            session["metrics"] = {tag: value for tag, (_, value) in sorted(last.items())}
            sessions[run_dir.relative_to(root).as_posix()] = session
    return sessions


def _plugin_summary(tag: str, **data) -> summary_pb2.Summary:
    content = plugin_data_pb2.HParamsPluginData(**data)
    return summary_pb2.Summary(
        value=[
            summary_pb2.Summary.Value(
                tag=tag,
                metadata=metadata.create_summary_metadata(content),
                tensor=metadata.NULL_TENSOR,
            )
        ]
    )


def _plain(value):
    """A numpy scalar as the Python scalar it holds; anything else unchanged."""
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        return item()
    return value


def _from_value(value: struct_pb2.Value):
    kind = value.WhichOneof("kind")
    return None if kind is None or kind == "null_value" else getattr(value, kind)


def _data_type(values: Sequence) -> int:
    if all(isinstance(v, bool) for v in values):
        return api_pb2.DATA_TYPE_BOOL
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return api_pb2.DATA_TYPE_FLOAT64
    return api_pb2.DATA_TYPE_STRING


def _discrete(name: str, values: Sequence) -> api_pb2.HParamInfo:
    values = [_plain(v) for v in values]
    kind = _data_type(values)
    if kind == api_pb2.DATA_TYPE_STRING:
        values = [str(v) for v in values]
    domain = struct_pb2.ListValue()
    domain.extend(values)
    return api_pb2.HParamInfo(name=name, type=kind, domain_discrete=domain)


def _interval(name: str, low: float, high: float) -> api_pb2.HParamInfo:
    return api_pb2.HParamInfo(
        name=name,
        type=api_pb2.DATA_TYPE_FLOAT64,
        domain_interval=api_pb2.Interval(min_value=float(low), max_value=float(high)),
    )


def _hparam_infos(space: Any) -> list[api_pb2.HParamInfo]:
    """HParamInfos from a keras_tuner.HyperParameters, a list of its entries, or a dict."""
    if isinstance(space, Mapping):
        infos = []
        for name, domain in space.items():
            is_interval = (
                isinstance(domain, tuple)
                and len(domain) == 2
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in domain)
            )
            if is_interval:
                infos.append(_interval(name, *domain))
            elif isinstance(domain, Sequence) and not isinstance(domain, str) and domain:
                infos.append(_discrete(name, domain))
            else:
                fail(
                    "write_experiment",
                    f"space[{name!r}]",
                    domain,
                    "a non-empty list of values or a (min, max) tuple",
                )
        return infos

    from keras_tuner.engine import hyperparameters as kth

    entries = getattr(space, "space", space)
    if not isinstance(entries, Sequence) or not all(
        isinstance(hp, kth.HyperParameter) for hp in entries
    ):
        fail(
            "write_experiment",
            "space",
            space,
            "a keras_tuner.HyperParameters, a list of its entries or a dict {name: domain}",
        )
    infos = []
    for hp in entries:
        if isinstance(hp, kth.Boolean):
            infos.append(_discrete(hp.name, [False, True]))
        elif isinstance(hp, kth.Fixed):
            infos.append(_discrete(hp.name, [hp.value]))
        elif isinstance(hp, kth.Choice):
            infos.append(_discrete(hp.name, list(hp.values)))
        elif isinstance(hp, (kth.Int, kth.Float)):
            infos.append(_interval(hp.name, hp.min_value, hp.max_value))
    return infos


__all__ = [
    "STATUSES",
    "read_events",
    "read_sessions",
    "write_experiment",
    "write_session",
]
