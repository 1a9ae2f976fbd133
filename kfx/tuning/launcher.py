"""Run a keras-tuner script as one chief and N workers on this machine, supervised.

keras-tuner distributes a search over processes that run the *same* script: the one whose
``KERASTUNER_TUNER_ID`` is ``"chief"`` serves the oracle over gRPC at
``KERASTUNER_ORACLE_IP:KERASTUNER_ORACLE_PORT``; the others (workers) ask it for trials,
run them and report back. :func:`launch` (the ``kfx tune`` command) does the rest:

1. picks a free port (or checks the one given), starts the chief and waits until it listens;
2. starts the workers (tuner ids ``tuner0``, ``tuner1``, ...); every process writes its own
   log file in `log_dir` (``chief.log``, ``tuner0.log``, ...; appended to on a rerun);
3. supervises: a worker that dies (non-zero exit, a signal) is started again, after
   :data:`RESTART_DELAY` seconds, under the same tuner id, and the chief then hands it the
   trial it was running; at most `max_restarts` times per worker, after which everything
   is stopped (rerun the command to resume);
4. watches the workers' heartbeats (:mod:`kfx.tuning._heartbeat`): a worker whose kfx
   tuner has stopped touching its heartbeat file for `heartbeat_timeout` seconds (a
   SIGSTOPped or frozen process) is SIGKILLed and restarted as a dead one, and its trial
   resumes from its last completed epoch (:mod:`kfx.tuning._epochs`);
5. when the chief exits, the search is over: workers get `stop_grace` seconds to exit, then
   SIGTERM, then SIGKILL; SIGINT or SIGTERM to the launcher stops every child the same way;
6. returns the chief's exit status (128 + N when a signal N ended it).

With ``gpus_per_worker`` (``--gpus-per-worker G``) each worker sees its own G GPUs through
``CUDA_VISIBLE_DEVICES`` and the chief none (:mod:`kfx._gpus`): one trial per GPU slice.

Inside a multi-task ``srun`` step and without `workers` (``srun -n K kfx tune -- python
search.py``), each SLURM task runs one process of the search (:func:`launch_slurm_task`):
task 0 the chief, on its host at the step's address for it
(:func:`kfx.distribute.cluster`), task ``r`` worker ``tuner<r-1>``, which waits for the
chief, is restarted when it dies and stopped once the chief has stopped listening.

Every process of a search gets ``KFX_CLUSTER=single``: a trial trains alone, so the kfx
loggers inside it write on every worker whatever ``TF_CONFIG`` or SLURM say.
Only the standard library is imported: the supervisor never loads Keras.

Example:
    >>> import sys, tempfile
    >>> from kfx.tuning.launcher import launch
    >>> # A chief that fails before it listens: its status comes back, no worker starts.
    >>> launch([sys.executable, "-c", "raise SystemExit(3)"], workers=2,
    ...        log_dir=tempfile.mkdtemp(), quiet=True)
    3
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from kfx._gpus import gpu_slices
from kfx._processes import (
    DEFAULT_HOST,
    TIMED_OUT,  # noqa: F401 - launch's status after a timeout, named here for its callers
    Child,
    check_command,
    child_env,
    exit_status,
    free_port,
    listening,
    log_folder,
    port_is_free,
    reporter,
    show_tail,
    stop,
    stopping_note,
    supervising,
)
from kfx._subcommands import (
    add_command_arguments,
    add_common_arguments,
    launcher_handler,
    module_main,
)
from kfx._validation import check_int, check_positive_float, fail
from kfx.distribute.clusters import Cluster, cluster
from kfx.tuning import _env, _heartbeat

PROG = "kfx tune"
#: The shortest use, shown when the command after ``--`` is missing.
EXAMPLE = "kfx tune --workers 2 -- python search.py"
#: What ``python -m kfx.tuning.launcher --help`` says first.
SUMMARY = "Run a keras-tuner script as one chief and N workers on this machine."
DEFAULT_LOG_DIR = "runs/tune-logs"
#: Restarts allowed per worker before the launcher gives up.
MAX_RESTARTS = 3
#: Seconds the chief may take to start listening (it imports Keras and builds the space).
READY_TIMEOUT = 600.0
#: Seconds workers get to exit on their own once the chief has exited.
STOP_GRACE = 10.0
#: Seconds between a worker's death and its restart.
RESTART_DELAY = 1.0
#: Exit status when the launcher stops the search itself (restarts used up, chief not ready).
GAVE_UP = 1
#: What one look at a starting chief returns once it listens.
_LISTENING = "listening"
#: Seconds between two looks, from a SLURM worker task, at whether its chief still listens.
CHIEF_CHECK = 1.0
#: The environment every process of a search gets (see the module doc).
TRIAL_ENV = {"KFX_CLUSTER": "single"}
#: Seconds without a heartbeat after which a worker is killed and restarted.
HEARTBEAT_TIMEOUT = _heartbeat.DEFAULT_TIMEOUT


@dataclass
class _Tuner(Child):
    """A chief or worker process; `name` is its tuner id, `env` what it gets on top."""

    restarts: int = 0
    restart_at: float | None = None
    finished: bool = False
    env: dict[str, str] = field(default_factory=dict)
    heartbeat: _heartbeat.Monitor | None = None  # workers only


def _worker(name: str, folder, heartbeat_timeout: float) -> _Tuner:
    """Worker `name`, logging to ``<name>.log`` and beating to ``<name>.heartbeat`` in `folder`."""
    beats = folder / f"{name}.heartbeat"
    return _Tuner(
        name,
        folder / f"{name}.log",
        env=_heartbeat.worker_env(beats, heartbeat_timeout),
        heartbeat=_heartbeat.Monitor(beats, heartbeat_timeout),
    )


@dataclass
class _Search:
    """The processes of one launch and what they share; its methods are :func:`launch`'s steps."""

    command: list[str]
    host: str
    port: int
    env: dict[str, str]
    say: Callable[..., None]
    max_restarts: int
    ready_timeout: float
    stop_grace: float
    chief: _Tuner | None  # None when the chief runs elsewhere (another SLURM task)
    crew: list[_Tuner] = field(default_factory=list)
    chief_lost_at: float | None = None
    chief_checked_at: float = 0.0

    @property
    def everyone(self) -> list[_Tuner]:
        return [t for t in (self.chief, *self.crew) if t is not None]

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, tuner: _Tuner) -> None:
        """Start (or restart) `tuner` under its tuner id."""
        tuner.restart_at = None
        if tuner.heartbeat is not None:
            tuner.heartbeat.reset()
        env = {**self.env, **TRIAL_ENV, **tuner.env}
        tuner.start(self.command, PROG, _env.process_env(tuner.name, self.host, self.port, env))
        self.say(f"{tuner.name} pid {tuner.proc.pid} (log {tuner.log})")

    def chief_ready(self, elapsed: float) -> int | str | None:
        """One look at the starting chief: ``_LISTENING``, the launch's status, or None."""
        if listening(self.host, self.port):
            return _LISTENING
        if self.chief.proc.poll() is not None:
            status = exit_status(self.chief.proc.returncode)
            self.say(f"chief exited with status {status} before listening on {self.address}")
            show_tail(self.chief.log, self.say)
            return status
        if elapsed > self.ready_timeout:
            self.say(
                f"chief not listening on {self.address} after {self.ready_timeout:.0f} s",
                error=True,
            )
            stop([self.chief])
            return GAVE_UP
        return None

    def search_over(self, elapsed: float) -> int | None:
        """One look at the search: the launch's status once the chief or a worker ended it."""
        status = self.chief_exited(elapsed)
        if status is not None:
            return status
        for worker in self.crew:
            status = self.tend(worker)
            if status is not None:
                return status
        return None

    def chief_exited(self, elapsed: float) -> int | None:
        """The chief's status once it exited, after stopping the workers (given
        `stop_grace` seconds when it succeeded); None while it runs."""
        if self.chief.proc.poll() is None:
            return None
        status = exit_status(self.chief.proc.returncode)
        self.say(
            f"chief exited with status {status} after {elapsed:.1f} s" + stopping_note(self.crew)
        )
        if status:
            show_tail(self.chief.log, self.say)
        stop(self.crew, self.stop_grace if status == 0 else 0)
        return status

    def tend(self, worker: _Tuner) -> int | None:
        """Restart `worker` when due, or note its exit; GAVE_UP once its restarts are used up."""
        if worker.finished:
            return None
        if worker.proc is None:  # waiting for its restart
            if worker.restart_at is not None and time.monotonic() >= worker.restart_at:
                self.start(worker)
            return None
        if worker.proc.poll() is None and not self.kill_if_hung(worker):
            return None
        status = exit_status(worker.proc.returncode)
        if status == 0:
            worker.finished = True
            self.say(f"{worker.name} finished")
            return None
        worker.proc = None
        if worker.restarts >= self.max_restarts:
            self.say(
                f"{worker.name} exited with status {status} and has used its "
                f"{self.max_restarts} restarts; stopping the search (rerun the command to "
                f"resume it; see {worker.log})",
                error=True,
            )
            stop(self.everyone)
            return GAVE_UP
        worker.restarts += 1
        worker.restart_at = time.monotonic() + RESTART_DELAY
        self.say(
            f"{worker.name} exited with status {status}; restart "
            f"{worker.restarts}/{self.max_restarts} under the same tuner id"
        )
        return None

    def kill_if_hung(self, worker: _Tuner) -> bool:
        """SIGKILL `worker`'s process group if its heartbeat stopped; whether it did."""
        if worker.heartbeat is None or not worker.heartbeat.hung():
            return False
        timeout = worker.heartbeat.timeout
        self.say(
            f"{worker.name} (pid {worker.proc.pid}) sent no heartbeat for {timeout:g} s "
            f"(--heartbeat-timeout {timeout:g}); killing it",
            error=True,
        )
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(worker.proc.pid, signal.SIGKILL)
        worker.proc.wait()
        return True

    def remote_chief_ready(self, elapsed: float) -> int | str | None:
        """One look, from a worker task, at the chief another task starts: ``_LISTENING``,
        GAVE_UP after `ready_timeout` seconds, or None."""
        if listening(self.host, self.port):
            return _LISTENING
        if elapsed > self.ready_timeout:
            self.say(
                f"chief not listening on {self.address} after {self.ready_timeout:.0f} s",
                error=True,
            )
            return GAVE_UP
        return None

    def worker_task_over(self) -> int | None:
        """One look at a worker task's worker: 0 once it finished or its chief has stopped
        listening for `stop_grace` seconds (then it is stopped); GAVE_UP once its restarts
        are used up; None meanwhile. A worker that dies is restarted while the chief listens."""
        worker = self.crew[0]
        if worker.finished:
            return 0
        ended = worker.proc is not None and worker.proc.poll() is not None
        if ended and worker.proc.returncode != 0 and not listening(self.host, self.port):
            status = exit_status(worker.proc.returncode)
            self.say(
                f"{worker.name} exited with status {status} after the chief on {self.address} "
                "stopped listening: the search is over"
            )
            return 0
        if self.chief_gone():
            self.say(f"chief on {self.address} has stopped listening; the search is over")
            stop([worker])
            return 0
        return self.tend(worker)

    def chief_gone(self) -> bool:
        """Whether the remote chief has not listened for `stop_grace` seconds (looked at
        every :data:`CHIEF_CHECK` seconds)."""
        now = time.monotonic()
        if now - self.chief_checked_at >= CHIEF_CHECK:
            self.chief_checked_at = now
            up = listening(self.host, self.port)
            self.chief_lost_at = None if up else (self.chief_lost_at or now)
        return self.chief_lost_at is not None and now - self.chief_lost_at >= self.stop_grace


def launch(
    command: Sequence[str],
    *,
    workers: int | None,
    port: int | None = None,
    host: str = DEFAULT_HOST,
    log_dir: str | os.PathLike = DEFAULT_LOG_DIR,
    max_restarts: int = MAX_RESTARTS,
    ready_timeout: float = READY_TIMEOUT,
    stop_grace: float = STOP_GRACE,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    quiet: bool = False,
    gpus_per_worker: int = 0,
    heartbeat_timeout: float = HEARTBEAT_TIMEOUT,
) -> int:
    """Run `command` as one chief and `workers` workers of a keras-tuner search.

    Args:
        command: the script's command line, e.g. ``["python", "search.py", "--quick"]``.
        workers: number of worker processes (>= 1); None inside a multi-task SLURM step,
            where this process is one task of the search (:func:`launch_slurm_task`).
        port: the chief's port (default: a free one).
        host: the chief's address; the processes all run on this machine.
        log_dir: folder of the log files, one per process.
        max_restarts: restarts allowed per worker.
        ready_timeout: seconds the chief may take to start listening.
        stop_grace: seconds workers get to exit after the chief has exited.
        timeout: stop everything after this many seconds (None: no limit).
        env: environment of the processes (default: this process' environment).
        quiet: print nothing (errors included).
        gpus_per_worker: GPUs each worker sees (0: leave ``CUDA_VISIBLE_DEVICES`` alone).
        heartbeat_timeout: seconds a worker's kfx tuner may go without a heartbeat before
            the worker is killed and restarted (its restarts count).

    Returns:
        The chief's exit status; 128 + N after signal N (SIGINT: 130); 124 when `timeout`
        ran out; 1 when the launcher gave up (restarts used up, chief never listening).

    Raises:
        ValueError: a bad argument, `workers` left out outside a SLURM step, or more GPUs
            asked for than are visible; before any process starts.
    """
    command = check_command("launch", "command", command)
    check_int("launch", "max_restarts", max_restarts, minimum=0)
    check_int("launch", "gpus_per_worker", gpus_per_worker, minimum=0)
    check_positive_float("launch", "heartbeat_timeout", heartbeat_timeout)
    options = {"max_restarts": max_restarts, "ready_timeout": ready_timeout}
    options.update(heartbeat_timeout=heartbeat_timeout)
    options.update(stop_grace=stop_grace, timeout=timeout, env=env, quiet=quiet)
    if workers is None:
        found = cluster(os.environ if env is None else env)
        if found.kind != "slurm":
            fail("launch", "workers", None, "an int >= 1 (outside a multi-task srun step)")
        if gpus_per_worker:
            fail(
                "launch",
                "gpus_per_worker",
                gpus_per_worker,
                "0 under srun (give each task its GPUs with srun --gpus-per-task)",
            )
        return launch_slurm_task(command, found, port=port, log_dir=log_dir, **options)
    check_int("launch", "workers", workers, minimum=1)
    slices = gpu_slices(workers, gpus_per_worker, child_env(env)) if gpus_per_worker else None
    say = reporter(PROG, quiet)
    if port is None:
        port = free_port(host)
    elif not port_is_free(host, port):
        say(f"port {port} on {host} is in use; pick another or leave --port out", error=True)
        return GAVE_UP
    folder = log_folder(log_dir)
    search = _Search(
        command=command,
        host=host,
        port=port,
        env=child_env(env),
        say=say,
        max_restarts=max_restarts,
        ready_timeout=ready_timeout,
        stop_grace=stop_grace,
        chief=_Tuner(_env.CHIEF_ID, folder / "chief.log"),
        crew=[_worker(f"tuner{i}", folder, heartbeat_timeout) for i in range(workers)],
    )
    if slices is not None:
        search.chief.env["CUDA_VISIBLE_DEVICES"] = ""  # the oracle needs no GPU
        for worker, devices in zip(search.crew, slices, strict=True):
            worker.env["CUDA_VISIBLE_DEVICES"] = devices
    return _run_chief_and(search, timeout)


def _run_chief_and(search: _Search, timeout: float | None) -> int:
    """Start the chief, wait until it listens, start the crew (maybe none), supervise."""
    with supervising(search.everyone, search.say, timeout) as supervisor:
        search.start(search.chief)
        status = supervisor.run(lambda: search.chief_ready(supervisor.elapsed()))
        if status != _LISTENING:
            return status
        crew = f"starting {len(search.crew)} workers" if search.crew else "waiting for workers"
        search.say(f"chief listening on {search.address}; {crew}")
        for worker in search.crew:
            search.start(worker)
        return supervisor.run(lambda: search.search_over(supervisor.elapsed()))


def launch_slurm_task(
    command: Sequence[str],
    found: Cluster,
    *,
    port: int | None = None,
    log_dir: str | os.PathLike = DEFAULT_LOG_DIR,
    max_restarts: int = MAX_RESTARTS,
    ready_timeout: float = READY_TIMEOUT,
    stop_grace: float = STOP_GRACE,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    quiet: bool = False,
    heartbeat_timeout: float = HEARTBEAT_TIMEOUT,
) -> int:
    """This SLURM task's part of a search: task 0 the chief, task ``r`` worker ``tuner<r-1>``.

    The chief listens on task 0's address of `found` (its host, and `port` or the step's
    port for task 0); every task computes the same address, so no task waits for another
    to publish it. Arguments as for :func:`launch`.

    Returns:
        The chief's status on task 0; on a worker task 0 once its worker finished or the
        chief stopped listening, GAVE_UP when its restarts ran out or the chief never
        listened, 128 + N after signal N, 124 after `timeout`.
    """
    check_positive_float("launch_slurm_task", "heartbeat_timeout", heartbeat_timeout)
    host, _, chief_port = found.jobs["worker"][0].rpartition(":")
    port = int(chief_port) if port is None else port
    rank = found.task_index
    name = _env.CHIEF_ID if rank == 0 else f"tuner{rank - 1}"
    search = _Search(
        command=check_command("launch", "command", command),
        host=host,
        port=port,
        env=child_env(env),
        say=reporter(f"{PROG} [SLURM task {rank}]", quiet),
        max_restarts=max_restarts,
        ready_timeout=ready_timeout,
        stop_grace=stop_grace,
        chief=None,
    )
    folder = log_folder(log_dir)
    if rank == 0:
        tuner = _Tuner(name, folder / f"{name}.log")
        if not port_is_free(host, port):
            search.say(f"port {port} on {host} is in use; give another with --port", error=True)
            return GAVE_UP
        search.chief = tuner
        return _run_chief_and(search, timeout)
    tuner = _worker(name, folder, heartbeat_timeout)
    search.crew.append(tuner)
    with supervising(search.everyone, search.say, timeout) as supervisor:
        status = supervisor.run(lambda: search.remote_chief_ready(supervisor.elapsed()))
        if status != _LISTENING:
            return status
        search.start(tuner)
        return supervisor.run(search.worker_task_over)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``kfx tune`` (shared by the ``kfx`` command and ``python -m``)."""
    add_common_arguments(
        parser,
        host_help="chief address",
        log_dir=DEFAULT_LOG_DIR,
        what="process",
        workers_help="number of worker processes (>= 1); leave it out under srun -n K, where "
        "SLURM task 0 is the chief and the others the workers",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="chief port (default: a free one; under srun, the step's port of task 0)",
    )
    parser.add_argument(
        "--max-restarts",
        type=int,
        default=MAX_RESTARTS,
        help=f"restarts allowed per worker (default: {MAX_RESTARTS})",
    )
    parser.add_argument(
        "--gpus-per-worker",
        type=int,
        default=0,
        metavar="G",
        help="GPUs each worker sees through CUDA_VISIBLE_DEVICES (one trial per slice; the "
        "chief sees none); the visible GPUs are KFX_GPU_COUNT, CUDA_VISIBLE_DEVICES or "
        "nvidia-smi's (default: 0, leave CUDA_VISIBLE_DEVICES alone)",
    )
    parser.add_argument(
        "--heartbeat-timeout",
        type=float,
        default=HEARTBEAT_TIMEOUT,
        metavar="S",
        help="kill and restart a worker whose kfx tuner sent no heartbeat for S seconds (a "
        f"stopped or frozen process; its trial resumes) (default: {HEARTBEAT_TIMEOUT:g})",
    )
    add_command_arguments(parser, "the keras-tuner script to run", "search.py")
    return parser


@launcher_handler(PROG, EXAMPLE)
def run(args: argparse.Namespace, command: list[str]) -> int:
    """Run parsed ``kfx tune`` arguments (see :func:`add_arguments`): ``run(args)``."""
    return launch(
        command,
        workers=args.workers,
        port=args.port,
        host=args.host,
        log_dir=args.log_dir,
        max_restarts=args.max_restarts,
        timeout=args.timeout,
        gpus_per_worker=args.gpus_per_worker,
        heartbeat_timeout=args.heartbeat_timeout,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m kfx.tuning.launcher --workers N -- python search.py``."""
    return module_main("python -m kfx.tuning.launcher", SUMMARY, add_arguments, run, argv)


if __name__ == "__main__":
    sys.exit(main())
