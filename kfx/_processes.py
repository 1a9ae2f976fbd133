"""Local child processes that ``kfx tune`` and ``kfx train`` both supervise.

Standard library only: a supervisor never loads Keras. Each child runs in its own process
group (a signal reaches whatever its command starts) and appends to its own log file.

Example:
    >>> import sys, tempfile, pathlib
    >>> from kfx._processes import Child, exit_status, stop
    >>> child = Child("sleeper", pathlib.Path(tempfile.mkdtemp()) / "sleeper.log")
    >>> child.start([sys.executable, "-c", "import time; time.sleep(60)"], "demo")
    >>> stop([child]); exit_status(child.proc.returncode)  # SIGTERM
    143
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
#: Seconds between SIGTERM and SIGKILL.
KILL_GRACE = 5.0
#: Seconds between two looks at the children.
POLL_SECONDS = 0.2
#: Exit status when `timeout` ran out (as the `timeout` command).
TIMED_OUT = 124
#: Lines of a failed child's log shown on stderr.
LOG_TAIL_LINES = 20


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


@dataclass
class Child:
    """One supervised process: its name, its log file and, once started, its Popen."""

    name: str
    log: Path
    proc: subprocess.Popen | None = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(
        self, command: Sequence[str], prog: str, env: Mapping[str, str] | None = None
    ) -> None:
        """Start `command` in a new process group, appending its output to the log file."""
        with open(self.log, "ab") as log:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            log.write(f"=== {prog} {stamp}: {self.name}: {' '.join(command)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                list(command),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=None if env is None else dict(env),
                start_new_session=True,
            )


def stop(children: Sequence[Child], grace: float = 0.0) -> None:
    """Give `children` `grace` seconds to exit, then SIGTERM their groups, then SIGKILL; reap."""
    deadline = time.monotonic() + grace
    while any(c.alive() for c in children) and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    for sig, wait in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, None)):
        alive = [c for c in children if c.alive()]
        if not alive:
            return
        for child in alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.proc.pid, sig)
        for child in alive:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(timeout=wait)


def show_tail(log: Path, say: Callable[..., None]) -> None:
    """Show the last lines of a child's log through `say` (as an error)."""
    try:
        lines = log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
    except OSError:
        return
    say(f"last lines of {log}:\n" + "\n".join("    " + line for line in lines), error=True)


def reporter(prog: str, quiet: bool) -> Callable[..., None]:
    """``say(message, error=False)``: a line prefixed by `prog`, on stderr for errors."""

    def say(message: str, *, error: bool = False) -> None:
        if not quiet:
            print(f"{prog}: {message}", file=sys.stderr if error else sys.stdout, flush=True)

    return say


@contextlib.contextmanager
def caught_signals() -> Iterator[list[int]]:
    """Record SIGINT and SIGTERM (in the main thread) instead of dying of them."""
    received: list[int] = []
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda signum, frame: received.append(signum))
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def add_common_arguments(
    parser: argparse.ArgumentParser, *, host_help: str, log_dir: str, what: str
) -> None:
    """``--workers``, ``--host`` and ``--log-dir``, the options every launcher has."""
    parser.add_argument(
        "--workers", type=int, required=True, help="number of worker processes (>= 1)"
    )
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help=f"{host_help} (default: {DEFAULT_HOST})"
    )
    parser.add_argument(
        "--log-dir",
        default=log_dir,
        help=f"folder of the per-{what} log files (default: {log_dir})",
    )


def add_command_arguments(parser: argparse.ArgumentParser, script: str, example: str) -> None:
    """``--timeout`` and the command after ``--`` (added last: it takes the rest)."""
    parser.add_argument(
        "--timeout", type=float, default=None, help="stop everything after this many seconds"
    )
    parser.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        help=f"{script}, after --: -- python {example} [its arguments]",
    )


def run_command(
    args: argparse.Namespace, prog: str, example: str, start: Callable[[list[str]], int]
) -> int:
    """Run a launcher's parsed arguments: `start` the command given after ``--``.

    Returns `start`'s status, or 2 (with a message) when there is no command or `start`
    rejects an argument with a ValueError.
    """
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        print(f"{prog}: give the script to run after --, e.g. {example}", file=sys.stderr)
        return 2
    try:
        return start(command)
    except ValueError as err:
        print(f"{prog}: {err}", file=sys.stderr)
        return 2


def module_main(
    prog: str,
    description: str,
    add_arguments: Callable[[argparse.ArgumentParser], argparse.ArgumentParser],
    run: Callable[[argparse.Namespace], int],
    argv: Sequence[str] | None = None,
) -> int:
    """A launcher's ``python -m`` entry point: parse `argv` and `run` it."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    return run(add_arguments(parser).parse_args(argv))
