"""Which cluster this process is in, its task, and whether it is the chief: one rule for kfx.

The same training script runs on a laptop, in a Kubernetes TFJob and under ``srun``; it finds
its cluster itself, in this order:

1. ``TF_CONFIG`` (Kubeflow's TFJob, SageMaker, :func:`kfx.distribute.launch`, hand-written):
   ``{"cluster": {"chief": [...], "worker": [...], "evaluator": [...]}, "task": {...}}``.
2. SLURM: inside an ``srun`` step with more than one task. Task ``SLURM_PROCID`` is worker
   ``SLURM_PROCID``; the hosts are ``SLURM_STEP_NODELIST`` expanded by ``scontrol show
   hostnames`` (by this module's own reading of the syntax where ``scontrol`` is absent),
   filled in block order (``SLURM_STEP_TASKS_PER_NODE``); each task's port is the step's
   reserved one (``SLURM_STEP_RESV_PORTS``, ``srun --resv-ports``) for its local id, else
   :data:`SLURM_BASE_PORT` (or ``KFX_SLURM_PORT``) plus its local id.
3. Otherwise one process, its own chief.

``KFX_CLUSTER=single`` makes a process ignore both (``kfx tune`` sets it for trials run under
SLURM, which train alone). Who writes files is TensorFlow's rule for
``MultiWorkerMirroredStrategy``: the ``chief`` task when the cluster has one, else worker 0;
``evaluator`` and ``ps`` tasks never. :func:`kfx.distribute.is_chief`, the loggers'
chief-only writing, :func:`kfx.distribute.multi_worker_strategy` and
:func:`kfx.distribute.fit` all ask this module. A malformed ``TF_CONFIG`` or SLURM step is a
``ValueError`` naming the variable, its value and what is accepted, before any training.
Standard library only.

Example:
    >>> from kfx.distribute.clusters import cluster, is_chief_task
    >>> found = cluster({"TF_CONFIG": '{"cluster": {"chief": ["h0:2222"], "worker": ["h1:2222"]},'
    ...                               ' "task": {"type": "worker", "index": 0}}'})
    >>> found.kind, found.task_type, found.task_index, found.is_chief, found.num_workers
    ('tf_config', 'worker', 0, False, 2)
    >>> cluster({}).kind, cluster({}).is_chief
    ('single', True)
    >>> is_chief_task("worker", 0, {"worker"})  # no chief task: worker 0 writes
    True
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kfx._validation import fail

#: The job name of the chief task in ``TF_CONFIG`` and cluster specs.
CHIEF = "chief"
#: The job name of the workers.
WORKER = "worker"
#: The job name of a side-car evaluator: it evaluates the chief's checkpoints, never trains.
EVALUATOR = "evaluator"
#: Jobs whose tasks train together (the collective).
TRAINING_JOBS = (CHIEF, WORKER)
#: Jobs kfx accepts in ``TF_CONFIG`` (``ps`` is parameter-server training, which kfx does not run).
JOBS = (CHIEF, WORKER, EVALUATOR, "ps")
#: First port of a SLURM task when the step reserved none (``KFX_SLURM_PORT`` overrides it);
#: task ``SLURM_LOCALID`` gets this plus its local id. ``SlurmClusterResolver``'s default.
SLURM_BASE_PORT = 8888
#: ``KFX_CLUSTER`` values: find the cluster, or be one process whatever the environment says.
MODES = ("auto", "single")
#: Cluster kinds (:attr:`Cluster.kind`).
KINDS = ("single", "tf_config", "slurm")
WHERE = "kfx.distribute.cluster"
_TF_CONFIG_SHAPE = (
    'a JSON object such as {"cluster": {"worker": ["host:port", ...]}, '
    '"task": {"type": "worker", "index": 0}}'
)


def is_chief_task(task_type: str | None, task_index: int | None, jobs: Iterable[str]) -> bool:
    """Whether task `task_type`:`task_index` of a cluster with job names `jobs` is the chief.

    Args:
        task_type: this task's job ("chief", "worker", "evaluator", "ps"), or None outside a
            cluster.
        task_index: its index in that job.
        jobs: the job names of the cluster (``TF_CONFIG["cluster"]`` keys).

    Example:
        >>> is_chief_task("worker", 0, {"chief", "worker"})  # TFJob shape: only the chief
        False
        >>> is_chief_task("chief", 0, {"chief", "worker"}), is_chief_task(None, None, ())
        (True, True)
    """
    if task_type in (None, CHIEF):
        return True
    return task_type == WORKER and task_index == 0 and CHIEF not in set(jobs)


@dataclass(frozen=True)
class Cluster:
    """What :func:`cluster` found: where the cluster came from, its tasks and this one.

    Attributes:
        kind: ``"single"`` (one process), ``"tf_config"`` or ``"slurm"``.
        task_type: this process' job (``"chief"``, ``"worker"``, ``"evaluator"``), None alone.
        task_index: its index in that job, None alone.
        jobs: every job's ``"host:port"`` addresses, in task order.
    """

    kind: str
    task_type: str | None = None
    task_index: int | None = None
    jobs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def is_chief(self) -> bool:
        """Whether this task writes the files (checkpoints, logs): TensorFlow's rule."""
        return is_chief_task(self.task_type, self.task_index, self.jobs)

    @property
    def num_workers(self) -> int:
        """Tasks that train together (chief + workers); 1 for a single process."""
        return max(1, sum(len(self.jobs.get(job, ())) for job in TRAINING_JOBS))

    @property
    def is_evaluator(self) -> bool:
        return self.task_type == EVALUATOR

    @property
    def in_collective(self) -> bool:
        """Whether this task trains with others (a multi-worker strategy is needed)."""
        return self.task_type in TRAINING_JOBS and self.num_workers > 1

    @property
    def address(self) -> str | None:
        """This task's ``host:port``; None for a single process, or an evaluator outside the
        cluster's lists."""
        if self.task_type is None:
            return None
        addresses = self.jobs.get(self.task_type, ())
        return addresses[self.task_index] if self.task_index < len(addresses) else None

    def training_spec(self) -> dict[str, list[str]]:
        """The chief and worker jobs: the cluster spec of the collective."""
        return {job: list(self.jobs[job]) for job in TRAINING_JOBS if self.jobs.get(job)}

    def tf_config(self) -> str | None:
        """This task as a ``TF_CONFIG`` JSON string (None for a single process)."""
        if self.task_type is None:
            return None
        task = {"type": self.task_type, "index": self.task_index}
        return json.dumps({"cluster": {k: list(v) for k, v in self.jobs.items()}, "task": task})


def cluster(environ: Mapping[str, str] | None = None) -> Cluster:
    """The cluster of this process: ``TF_CONFIG`` first, then a SLURM step, else one process.

    Args:
        environ: the environment to read (default: ``os.environ``).

    Raises:
        ValueError: ``TF_CONFIG`` is not such a JSON object, has no ``worker``/``chief`` list
            or names a task outside its lists; a SLURM step's variables cannot be read or its
            node list expanded; ``KFX_CLUSTER`` is not one of :data:`MODES`.
    """
    env = os.environ if environ is None else environ
    mode = env.get("KFX_CLUSTER", "auto")
    if mode not in MODES:
        _bad_env("KFX_CLUSTER", mode, "one of " + ", ".join(map(repr, MODES)))
    if mode == "single":
        return Cluster("single")
    if env.get("TF_CONFIG"):
        return from_tf_config(env["TF_CONFIG"])
    if _in_slurm_step(env):
        return from_slurm(env)
    return Cluster("single")


def from_tf_config(raw: str) -> Cluster:
    """The cluster a ``TF_CONFIG`` string names (see :func:`cluster` for the errors)."""
    try:
        config = json.loads(raw)
    except ValueError:
        config = None
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict):
        _bad_env("TF_CONFIG", raw, _TF_CONFIG_SHAPE)
    jobs = {job: _addresses(raw, job, tasks) for job, tasks in config["cluster"].items()}
    if not any(jobs.get(job) for job in TRAINING_JOBS):
        _bad_env("TF_CONFIG", raw, "a cluster with a non-empty 'worker' or 'chief' list")
    if len(jobs.get(CHIEF, ())) > 1:
        _bad_env("TF_CONFIG", raw, "at most one 'chief' task")
    task = config.get("task")
    if not isinstance(task, dict):
        _bad_env("TF_CONFIG", raw, "a 'task' object with a 'type' and an 'index'")
    task_type, index = task.get("type"), task.get("index", 0)
    if task_type == EVALUATOR and EVALUATOR not in jobs:
        # TensorFlow's rule: an evaluator may stand outside the cluster it evaluates.
        jobs[EVALUATOR] = ()
        return Cluster("tf_config", EVALUATOR, index if isinstance(index, int) else 0, jobs)
    if task_type not in jobs:
        _bad_env("TF_CONFIG", raw, f"a task type among its cluster's jobs {sorted(jobs)}")
    if (
        not isinstance(index, int)
        or isinstance(index, bool)
        or not 0 <= index < len(jobs[task_type])
    ):
        _bad_env(
            "TF_CONFIG", raw, f"a task index from 0 to {len(jobs[task_type]) - 1} for {task_type!r}"
        )
    return Cluster("tf_config", task_type, index, jobs)


def from_slurm(env: Mapping[str, str]) -> Cluster:
    """The cluster of a multi-task ``srun`` step: every task a worker (see the module doc)."""
    ntasks = _env_int(env, "SLURM_STEP_NUM_TASKS", fallback="SLURM_NTASKS")
    rank = _env_int(env, "SLURM_PROCID")
    local_id = _env_int(env, "SLURM_LOCALID")
    if not 0 <= rank < ntasks:
        _bad_env("SLURM_PROCID", rank, f"a task id from 0 to {ntasks - 1}")
    nodes = expand_nodelist(_env_str(env, "SLURM_STEP_NODELIST", fallback="SLURM_NODELIST"))
    counts = _tasks_per_node(env, len(nodes))
    if sum(counts) != ntasks:
        _bad_env(
            "SLURM_STEP_TASKS_PER_NODE", env.get("SLURM_STEP_TASKS_PER_NODE"), f"{ntasks} tasks"
        )
    ports = _ports(env, max(counts))
    addresses = [
        f"{node}:{ports[i]}"
        for node, count in zip(nodes, counts, strict=True)
        for i in range(count)
    ]
    expected_local = rank - sum(counts[: _node_of(rank, counts)])
    if local_id != expected_local:
        _bad_env(
            "SLURM_LOCALID",
            local_id,
            f"{expected_local} for task {rank} (kfx needs the block task distribution: "
            "srun --distribution=block)",
        )
    return Cluster("slurm", WORKER, rank, {WORKER: tuple(addresses)})


def expand_nodelist(nodelist: str) -> list[str]:
    """Host names of a SLURM node list (``"node[01-03],gpu7"``).

    ``scontrol show hostnames`` expands it where SLURM is installed and configured (inside a
    step it is); elsewhere, or when it fails, this module reads the syntax itself, so a bad
    list is the same ``ValueError`` either way. A list is expanded once per process: the
    loggers ask :func:`cluster` at every epoch end, and one ``scontrol`` call is enough.

    Example:
        >>> from kfx.distribute.clusters import expand_nodelist
        >>> expand_nodelist("n[01-02,07],gpu1")
        ['n01', 'n02', 'n07', 'gpu1']
    """
    return list(_expanded(nodelist))


@functools.lru_cache(maxsize=64)
def _expanded(nodelist: str) -> tuple[str, ...]:
    scontrol = shutil.which("scontrol")
    if scontrol is not None:
        done = subprocess.run(
            [scontrol, "show", "hostnames", nodelist], capture_output=True, text=True, timeout=60
        )
        if done.returncode == 0 and done.stdout.split():
            return tuple(done.stdout.split())
    return tuple(_expand_nodelist(nodelist))


_ITEM = re.compile(r"(?:[^,\[\]]+|\[[^\[\]]*\])+")
_PIECE = re.compile(r"([^\[\]]*)\[([^\[\]]*)\]")
_NODELIST_SHAPE = "a SLURM node list such as 'node[01-04],gpu1' or 'r[1-2]n[1-8]'"


def _expand_nodelist(nodelist: str) -> list[str]:
    """SLURM's host-list syntax read here, as ``scontrol`` reads it: comma-separated items of
    a name with bracketed ranges (``n[01-03,07]``, ``r[1-2]n[1-4]`` for every pair), and no
    text after a closing bracket."""
    hosts: list[str] = []
    position = 0
    while position < len(nodelist):
        item = _ITEM.match(nodelist, position)
        if item is None:
            _bad_env("SLURM_STEP_NODELIST", nodelist, _NODELIST_SHAPE)
        hosts.extend(_expand_item(nodelist, item.group()))
        position = item.end()
        if position < len(nodelist):
            if nodelist[position] != "," or position == len(nodelist) - 1:
                _bad_env("SLURM_STEP_NODELIST", nodelist, _NODELIST_SHAPE)
            position += 1
    if not hosts:
        _bad_env("SLURM_STEP_NODELIST", nodelist, _NODELIST_SHAPE)
    return hosts


def _expand_item(nodelist: str, item: str) -> list[str]:
    if "[" not in item:
        return [item]
    names = [""]
    end = 0
    for piece in _PIECE.finditer(item):
        if piece.start() != end:
            break
        prefix, ranges = piece.groups()
        names = [n + prefix + number for n in names for number in _expand_ranges(nodelist, ranges)]
        end = piece.end()
    if end != len(item):  # text after a bracket, or a stray one: scontrol refuses it too
        _bad_env("SLURM_STEP_NODELIST", nodelist, _NODELIST_SHAPE)
    return names


def _expand_ranges(nodelist: str, ranges: str) -> list[str]:
    numbers = []
    for part in ranges.split(","):
        low, _, high = part.partition("-")
        if not low.isdigit() or (high and not high.isdigit()) or (high and int(high) < int(low)):
            _bad_env("SLURM_STEP_NODELIST", nodelist, "ranges such as [01-04,07] in its node list")
        numbers.extend(str(n).zfill(len(low)) for n in range(int(low), int(high or low) + 1))
    return numbers


def _in_slurm_step(env: Mapping[str, str]) -> bool:
    """Inside an ``srun`` step with more than one task (``SLURM_STEP_ID`` set)."""
    if "SLURM_STEP_ID" not in env and "SLURM_STEPID" not in env:
        return False
    return _env_int(env, "SLURM_STEP_NUM_TASKS", fallback="SLURM_NTASKS") > 1


def _tasks_per_node(env: Mapping[str, str], nodes: int) -> list[int]:
    """``SLURM_STEP_TASKS_PER_NODE`` (``"2(x3),1"``) as one count per node."""
    raw = _env_str(env, "SLURM_STEP_TASKS_PER_NODE", fallback="SLURM_TASKS_PER_NODE")
    counts: list[int] = []
    for part in raw.split(","):
        match = re.fullmatch(r"(\d+)(?:\(x(\d+)\))?", part.strip())
        if match is None:
            _bad_env("SLURM_STEP_TASKS_PER_NODE", raw, "counts such as '2(x3),1'")
        counts.extend([int(match.group(1))] * int(match.group(2) or 1))
    if len(counts) != nodes:
        _bad_env("SLURM_STEP_TASKS_PER_NODE", raw, f"one count per node of the step ({nodes})")
    return counts


def _ports(env: Mapping[str, str], per_node: int) -> list[int]:
    """The ports of local tasks 0, 1, ...: the step's reserved ones, else base + local id."""
    raw = env.get("SLURM_STEP_RESV_PORTS")
    if not raw:
        base = _env_int(env, "KFX_SLURM_PORT") if env.get("KFX_SLURM_PORT") else SLURM_BASE_PORT
        return [base + i for i in range(per_node)]
    ports: list[int] = []
    for part in raw.split(","):
        low, _, high = part.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            _bad_env("SLURM_STEP_RESV_PORTS", raw, "ports such as '12000-12003'")
        ports.extend(range(int(low), int(high or low) + 1))
    if len(ports) < per_node:
        _bad_env("SLURM_STEP_RESV_PORTS", raw, f"at least {per_node} ports, one per task on a node")
    return ports


def _node_of(rank: int, counts: list[int]) -> int:
    total = 0
    for node, count in enumerate(counts):
        total += count
        if rank < total:
            return node
    return len(counts) - 1


def _addresses(raw: str, job: str, tasks) -> tuple[str, ...]:
    if job not in JOBS:
        _bad_env("TF_CONFIG", raw, f"jobs among {list(JOBS)} (got {job!r})")
    if not isinstance(tasks, list) or not all(isinstance(t, str) and ":" in t for t in tasks):
        _bad_env("TF_CONFIG", raw, f"a list of 'host:port' strings for job {job!r}")
    return tuple(tasks)


def _env_str(env: Mapping[str, str], name: str, *, fallback: str | None = None) -> str:
    value = env.get(name) or (env.get(fallback) if fallback else None)
    if not value:
        _bad_env(name, value, "the value srun sets inside a step")
    return value


def _env_int(env: Mapping[str, str], name: str, *, fallback: str | None = None) -> int:
    value = _env_str(env, name, fallback=fallback)
    if not value.strip().isdigit():
        _bad_env(name, value, "a non-negative integer")
    return int(value)


def _bad_env(name: str, value, accepted: str):
    fail(WHERE, name, value, accepted, kind="environment variable")


__all__ = [
    "CHIEF",
    "EVALUATOR",
    "SLURM_BASE_PORT",
    "WORKER",
    "Cluster",
    "cluster",
    "expand_nodelist",
    "from_slurm",
    "from_tf_config",
    "is_chief_task",
]
