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
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kfx.tuning import _env

DEFAULT_LOG_DIR = "runs/tune-logs"
DEFAULT_HOST = "127.0.0.1"
#: Restarts allowed per worker before the launcher gives up.
MAX_RESTARTS = 3
#: Seconds the chief may take to start listening (it imports Keras and builds the space).
READY_TIMEOUT = 600.0
#: Seconds workers get to exit on their own once the chief has exited.
STOP_GRACE = 10.0
#: Seconds between SIGTERM and SIGKILL.
KILL_GRACE = 5.0
#: Seconds between a worker's death and its restart.
RESTART_DELAY = 1.0
#: Seconds between two looks at the children.
POLL_SECONDS = 0.2
#: Exit status when the launcher stops the search itself (restarts used up, chief not ready).
GAVE_UP = 1
#: Exit status when `timeout` ran out (as the `timeout` command).
TIMED_OUT = 124
#: Lines of a failed chief's log shown on stderr.
LOG_TAIL_LINES = 20


@dataclass
class _Child:
    tuner_id: str
    log: Path
    proc: subprocess.Popen | None = None
    restarts: int = 0
    restart_at: float | None = None
    finished: bool = False

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def free_port(host: str = DEFAULT_HOST) -> int:
    """A TCP port that nothing listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def listening(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def exit_status(returncode: int) -> int:
    """A process' status as a shell reports it: 128 + N for a process ended by signal N."""
    return returncode if returncode >= 0 else 128 - returncode


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

    def say(message: str, *, error: bool = False) -> None:
        if not quiet:
            print(f"kfx tune: {message}", file=sys.stderr if error else sys.stdout, flush=True)

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
        with open(child.log, "ab") as log:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            log.write(f"=== kfx tune {stamp}: {child.tuner_id}: {' '.join(command)}\n".encode())
            log.flush()
            child.proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_env.process_env(child.tuner_id, host, port, base_env),
                # Its own process group: the launcher decides when the children stop, and
                # a signal reaches whatever the command starts too.
                start_new_session=True,
            )
        say(f"{child.tuner_id} pid {child.proc.pid} (log {child.log})")

    received: list[int] = []

    def on_signal(signum, frame):  # noqa: ARG001 - signal handler signature
        received.append(signum)

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        start(chief)
        while not listening(host, port):
            if received or (deadline and time.monotonic() > deadline):
                return _shutdown([chief], 0, received, say)
            if chief.proc.poll() is not None:
                status = exit_status(chief.proc.returncode)
                say(f"chief exited with status {status} before listening on {host}:{port}")
                _show_tail(chief.log, say)
                return status
            if time.monotonic() - started > ready_timeout:
                say(f"chief not listening on {host}:{port} after {ready_timeout:.0f} s", error=True)
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
                    _show_tail(chief.log, say)
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
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _shutdown(children, grace, received, say) -> int:
    if received:
        name = signal.Signals(received[0]).name
        say(f"{name} received; stopping every process")
        _stop(children, grace)
        return 128 + received[0]
    say("timeout reached; stopping every process", error=True)
    _stop(children, grace)
    return TIMED_OUT


def _signal_group(child: _Child, sig: int) -> None:
    if child.alive():
        try:
            os.killpg(child.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _stop(children: Sequence[_Child], grace: float) -> None:
    """Give `children` `grace` seconds to exit, then SIGTERM, then SIGKILL; reap them."""
    deadline = time.monotonic() + grace
    while any(c.alive() for c in children) and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    for sig, wait in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, None)):
        alive = [c for c in children if c.alive()]
        if not alive:
            break
        for child in alive:
            _signal_group(child, sig)
        for child in alive:
            try:
                child.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                pass
    for child in children:
        child.restart_at = None


def _show_tail(log: Path, say) -> None:
    try:
        lines = log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
    except OSError:
        return
    say(f"last lines of {log}:\n" + "\n".join("    " + line for line in lines), error=True)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``kfx tune`` (shared by the ``kfx`` command and ``python -m``)."""
    parser.add_argument(
        "--workers", type=int, required=True, help="number of worker processes (>= 1)"
    )
    parser.add_argument("--port", type=int, default=None, help="chief port (default: a free one)")
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help=f"chief address (default: {DEFAULT_HOST})"
    )
    parser.add_argument(
        "--log-dir",
        default=DEFAULT_LOG_DIR,
        help=f"folder of the per-process log files (default: {DEFAULT_LOG_DIR})",
    )
    parser.add_argument(
        "--max-restarts",
        type=int,
        default=MAX_RESTARTS,
        help=f"restarts allowed per worker (default: {MAX_RESTARTS})",
    )
    parser.add_argument(
        "--timeout", type=float, default=None, help="stop everything after this many seconds"
    )
    parser.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        help="the keras-tuner script to run, after --: -- python search.py [its arguments]",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """Run parsed ``kfx tune`` arguments (see :func:`add_arguments`)."""
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        print(
            "kfx tune: give the script to run after --, e.g. "
            "kfx tune --workers 2 -- python search.py",
            file=sys.stderr,
        )
        return 2
    try:
        return launch(
            command,
            workers=args.workers,
            port=args.port,
            host=args.host,
            log_dir=args.log_dir,
            max_restarts=args.max_restarts,
            timeout=args.timeout,
        )
    except ValueError as err:
        print(f"kfx tune: {err}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m kfx.tuning.launcher --workers N -- python search.py``."""
    parser = argparse.ArgumentParser(
        prog="python -m kfx.tuning.launcher",
        description="Run a keras-tuner script as one chief and N workers on this machine.",
    )
    return run(add_arguments(parser).parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
