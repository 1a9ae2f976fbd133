"""Run a keras-tuner script as one chief and N workers on this machine, supervised.

keras-tuner distributes a search over processes that run the *same* script: the one whose
``KERASTUNER_TUNER_ID`` is ``"chief"`` serves the oracle over gRPC at
``KERASTUNER_ORACLE_IP:KERASTUNER_ORACLE_PORT``; the others (workers) ask it for trials,
run them and report back. :func:`launch` (the ``kfx tune`` command) does the rest:

1. picks a free port (or checks the one given), starts the chief and waits until it listens;
2. starts the workers (tuner ids ``tuner0``, ``tuner1``, ...); every process writes its own
   log file in `log_dir` (``chief.log``, ``tuner0.log``, ...; appended to on a rerun);
3. supervises: a worker that dies (non-zero exit, a signal) is started again under the same
   tuner id, and the chief then hands it the trial it was running; at most `max_restarts`
   times per worker, after which everything is stopped (rerun the command to resume);
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
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kfx._processes import (
    DEFAULT_HOST,
    POLL_SECONDS,
    TIMED_OUT,
    Child,
    add_command_arguments,
    add_common_arguments,
    caught_signals,
    exit_status,
    free_port,
    listening,
    module_main,
    port_is_free,
    reporter,
    run_command,
    show_tail,
    stop,
)
from kfx.tuning import _env

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


@dataclass
class _Child(Child):
    restarts: int = 0
    restart_at: float | None = None
    finished: bool = False

    @property
    def tuner_id(self) -> str:
        return self.name


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
    command = [str(part) for part in command]
    if not command:
        raise ValueError("launch: argument `command` got []; expected a command line")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"launch: argument `workers` got {workers!r}; expected an int >= 1")
    if isinstance(max_restarts, bool) or not isinstance(max_restarts, int) or max_restarts < 0:
        raise ValueError(
            f"launch: argument `max_restarts` got {max_restarts!r}; expected an int >= 0"
        )

    say = reporter("kfx tune", quiet)
    if port is None:
        port = free_port(host)
    elif not port_is_free(host, port):
        say(f"port {port} on {host} is in use; pick another or leave --port out", error=True)
        return GAVE_UP
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    base_env = dict(os.environ if env is None else env)
    chief = _Child(_env.CHIEF_ID, log_dir / "chief.log")
    crew = [_Child(f"tuner{i}", log_dir / f"tuner{i}.log") for i in range(workers)]
    started = time.monotonic()
    deadline = None if timeout is None else started + timeout

    def start(child: _Child) -> None:
        child.restart_at = None
        child.start(command, "kfx tune", _env.process_env(child.tuner_id, host, port, base_env))
        say(f"{child.tuner_id} pid {child.proc.pid} (log {child.log})")

    with caught_signals() as received:
        try:
            start(chief)
            while not listening(host, port):
                if received or (deadline and time.monotonic() > deadline):
                    return _shutdown([chief], 0, received, say)
                if chief.proc.poll() is not None:
                    status = exit_status(chief.proc.returncode)
                    say(f"chief exited with status {status} before listening on {host}:{port}")
                    show_tail(chief.log, say)
                    return status
                if time.monotonic() - started > ready_timeout:
                    say(
                        f"chief not listening on {host}:{port} after {ready_timeout:.0f} s",
                        error=True,
                    )
                    _stop([chief], 0)
                    return GAVE_UP
                time.sleep(POLL_SECONDS)
            say(f"chief listening on {host}:{port}; starting {workers} workers")
            for child in crew:
                start(child)

            while True:
                if received or (deadline and time.monotonic() > deadline):
                    return _shutdown([chief, *crew], 0, received, say)
                if chief.proc.poll() is not None:
                    status = exit_status(chief.proc.returncode)
                    running = [c.tuner_id for c in crew if c.alive()]
                    say(
                        f"chief exited with status {status} after {time.monotonic() - started:.1f} s"
                        + (f"; stopping {', '.join(running)}" if running else "")
                    )
                    if status:
                        show_tail(chief.log, say)
                    _stop(crew, stop_grace if status == 0 else 0)
                    return status
                for child in crew:
                    if child.finished:
                        continue
                    if child.proc is None:
                        if child.restart_at is not None and time.monotonic() >= child.restart_at:
                            start(child)
                        continue
                    if child.proc.poll() is None:
                        continue
                    status = exit_status(child.proc.returncode)
                    if status == 0:
                        child.finished = True
                        say(f"{child.tuner_id} finished")
                        continue
                    child.proc = None
                    if child.restarts >= max_restarts:
                        say(
                            f"{child.tuner_id} exited with status {status} and has used its "
                            f"{max_restarts} restarts; stopping the search (rerun the command to "
                            f"resume it; see {child.log})",
                            error=True,
                        )
                        _stop([chief, *crew], 0)
                        return GAVE_UP
                    child.restarts += 1
                    child.restart_at = time.monotonic() + RESTART_DELAY
                    say(
                        f"{child.tuner_id} exited with status {status}; restart "
                        f"{child.restarts}/{max_restarts} under the same tuner id"
                    )
                time.sleep(POLL_SECONDS)
        finally:
            _stop([chief, *crew], 0)  # whatever is still running (an exception, say)


def _shutdown(children, grace, received, say) -> int:
    if received:
        name = signal.Signals(received[0]).name
        say(f"{name} received; stopping every process")
        _stop(children, grace)
        return 128 + received[0]
    say("timeout reached; stopping every process", error=True)
    _stop(children, grace)
    return TIMED_OUT


def _stop(children: Sequence[_Child], grace: float) -> None:
    """Stop `children` (see :func:`kfx._processes.stop`); none is restarted afterwards."""
    stop(children, grace)
    for child in children:
        child.restart_at = None


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


def run(args: argparse.Namespace) -> int:
    """Run parsed ``kfx tune`` arguments (see :func:`add_arguments`)."""
    return run_command(
        args,
        "kfx tune",
        "kfx tune --workers 2 -- python search.py",
        lambda command: launch(
            command,
            workers=args.workers,
            port=args.port,
            host=args.host,
            log_dir=args.log_dir,
            max_restarts=args.max_restarts,
            timeout=args.timeout,
        ),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m kfx.tuning.launcher --workers N -- python search.py``."""
    return module_main(
        "python -m kfx.tuning.launcher",
        "Run a keras-tuner script as one chief and N workers on this machine.",
        add_arguments,
        run,
        argv,
    )


if __name__ == "__main__":
    sys.exit(main())
