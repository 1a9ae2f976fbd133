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
4. when the chief exits, the search is over: workers get `stop_grace` seconds to exit, then
   SIGTERM, then SIGKILL; SIGINT or SIGTERM to the launcher stops every child the same way;
5. returns the chief's exit status (128 + N when a signal N ended it).

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
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

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
from kfx._validation import check_int
from kfx.tuning import _env

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


@dataclass
class _Tuner(Child):
    """A chief or worker process; `name` is its tuner id."""

    restarts: int = 0
    restart_at: float | None = None
    finished: bool = False


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
    chief: _Tuner
    crew: list[_Tuner] = field(default_factory=list)

    @property
    def everyone(self) -> list[_Tuner]:
        return [self.chief, *self.crew]

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, tuner: _Tuner) -> None:
        """Start (or restart) `tuner` under its tuner id."""
        tuner.restart_at = None
        tuner.start(
            self.command, PROG, _env.process_env(tuner.name, self.host, self.port, self.env)
        )
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
        if worker.proc.poll() is None:
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


def launch(
    command: Sequence[str],
    *,
    workers: int,
    port: int | None = None,
    host: str = DEFAULT_HOST,
    log_dir: str | os.PathLike = DEFAULT_LOG_DIR,
    max_restarts: int = MAX_RESTARTS,
    ready_timeout: float = READY_TIMEOUT,
    stop_grace: float = STOP_GRACE,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    quiet: bool = False,
) -> int:
    """Run `command` as one chief and `workers` workers of a keras-tuner search.

    Args:
        command: the script's command line, e.g. ``["python", "search.py", "--quick"]``.
        workers: number of worker processes (>= 1).
        port: the chief's port (default: a free one).
        host: the chief's address; the processes all run on this machine.
        log_dir: folder of the log files, one per process.
        max_restarts: restarts allowed per worker.
        ready_timeout: seconds the chief may take to start listening.
        stop_grace: seconds workers get to exit after the chief has exited.
        timeout: stop everything after this many seconds (None: no limit).
        env: environment of the processes (default: this process' environment).
        quiet: print nothing (errors included).

    Returns:
        The chief's exit status; 128 + N after signal N (SIGINT: 130); 124 when `timeout`
        ran out; 1 when the launcher gave up (restarts used up, chief never listening).
    """
    command = check_command("launch", "command", command)
    check_int("launch", "workers", workers, minimum=1)
    check_int("launch", "max_restarts", max_restarts, minimum=0)
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
        crew=[_Tuner(f"tuner{i}", folder / f"tuner{i}.log") for i in range(workers)],
    )
    with supervising(search.everyone, say, timeout) as supervisor:
        search.start(search.chief)
        status = supervisor.run(lambda: search.chief_ready(supervisor.elapsed()))
        if status != _LISTENING:
            return status
        say(f"chief listening on {search.address}; starting {workers} workers")
        for worker in search.crew:
            search.start(worker)
        return supervisor.run(lambda: search.search_over(supervisor.elapsed()))


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``kfx tune`` (shared by the ``kfx`` command and ``python -m``)."""
    add_common_arguments(parser, host_help="chief address", log_dir=DEFAULT_LOG_DIR, what="process")
    parser.add_argument("--port", type=int, default=None, help="chief port (default: a free one)")
    parser.add_argument(
        "--max-restarts",
        type=int,
        default=MAX_RESTARTS,
        help=f"restarts allowed per worker (default: {MAX_RESTARTS})",
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
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m kfx.tuning.launcher --workers N -- python search.py``."""
    return module_main("python -m kfx.tuning.launcher", SUMMARY, add_arguments, run, argv)


if __name__ == "__main__":
    sys.exit(main())
