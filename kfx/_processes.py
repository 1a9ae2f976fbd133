"""Local child processes that ``kfx tune`` and ``kfx train`` both start and supervise.

Standard library only: a supervisor never loads Keras. Each child runs in its own process
group (a signal reaches whatever its command starts) and appends to its own log file.
Both launchers watch their children through one :class:`Supervisor`, so a signal to the
launcher, or its `timeout` running out, stops every child the same way and gives the same
status (128 + N after signal N, :data:`TIMED_OUT` after the timeout) with the same message.

Example:
    >>> import sys, tempfile, pathlib
    >>> from kfx._processes import Child, exit_status, stop
    >>> child = Child("sleeper", pathlib.Path(tempfile.mkdtemp()) / "sleeper.log")
    >>> child.start([sys.executable, "-c", "import time; time.sleep(60)"], "demo")
    >>> stop([child]); exit_status(child.proc.returncode)  # SIGTERM
    143
"""

from __future__ import annotations

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
from typing import Any, TypeVar

from kfx._validation import fail

DEFAULT_HOST = "127.0.0.1"
#: Seconds between SIGTERM and SIGKILL.
KILL_GRACE = 5.0
#: Seconds between two looks at the children.
POLL_SECONDS = 0.2
#: Exit status when `timeout` ran out (as the `timeout` command).
TIMED_OUT = 124
#: Lines of a failed child's log shown on stderr.
LOG_TAIL_LINES = 20

T = TypeVar("T")


def free_port(host: str = DEFAULT_HOST) -> int:
    """A TCP port that nothing listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_is_free(host: str, port: int) -> bool:
    """Whether a TCP socket can bind ``host:port`` now."""
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


def check_command(where: str, arg: str, command: Sequence[Any]) -> list[str]:
    """A non-empty command line, its parts as strings."""
    parts = [str(part) for part in command]
    if not parts:
        fail(where, arg, parts, "a command line")
    return parts


def child_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The children's environment: `env` (default: this process'), with unbuffered Python.

    Children write to log files: unbuffered output keeps the logs current.
    """
    base = dict(os.environ if env is None else env)
    base.setdefault("PYTHONUNBUFFERED", "1")
    return base


def log_folder(log_dir: str | os.PathLike) -> Path:
    """`log_dir` as a Path, created if missing."""
    folder = Path(log_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


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


def stopping_note(children: Sequence[Child]) -> str:
    """``"; stopping a, b"`` naming the children still running, or ``""`` when none is."""
    running = [c.name for c in children if c.alive()]
    return f"; stopping {', '.join(running)}" if running else ""


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


class Supervisor:
    """A launcher's watch over its children: its clock, its timeout, the signals it got.

    Made by :func:`supervising`. :meth:`run` calls a launcher's `step` until it returns an
    outcome, and stops every child first when a signal came or the timeout ran out.
    """

    def __init__(
        self,
        children: Sequence[Child],
        say: Callable[..., None],
        timeout: float | None,
        received: Sequence[int],
    ):
        self.children = children
        self.say = say
        self.timeout = timeout
        self.received = received
        self.started = time.monotonic()

    def elapsed(self) -> float:
        """Seconds since supervision began."""
        return time.monotonic() - self.started

    def interrupted(self) -> int | None:
        """128 + N once signal N came, :data:`TIMED_OUT` once the timeout ran out, else None."""
        if self.received:
            sig = signal.Signals(self.received[0])
            self.say(f"{sig.name} received; stopping every process", error=True)
            return 128 + sig
        if self.timeout is not None and self.elapsed() > self.timeout:
            self.say(f"timeout of {self.timeout:g} s reached; stopping every process", error=True)
            return TIMED_OUT
        return None

    def run(self, step: Callable[[], T | None]) -> T | int:
        """Call `step` every :data:`POLL_SECONDS` until it returns something; return that.

        A signal or the timeout ends the loop first: every child is stopped and
        :meth:`interrupted`'s status returned.
        """
        while True:
            status = self.interrupted()
            if status is not None:
                stop(self.children)
                return status
            outcome = step()
            if outcome is not None:
                return outcome
            time.sleep(POLL_SECONDS)


@contextlib.contextmanager
def supervising(
    children: Sequence[Child], say: Callable[..., None], timeout: float | None
) -> Iterator[Supervisor]:
    """A :class:`Supervisor` of `children`, with SIGINT and SIGTERM caught meanwhile.

    On the way out (a status, an exception) whatever child still runs is stopped.

    Example:
        >>> import sys, tempfile, pathlib
        >>> from kfx._processes import Child, exit_status, reporter, supervising
        >>> child = Child("three", pathlib.Path(tempfile.mkdtemp()) / "three.log")
        >>> with supervising([child], reporter("demo", quiet=True), timeout=60) as supervisor:
        ...     child.start([sys.executable, "-c", "raise SystemExit(3)"], "demo")
        ...     supervisor.run(lambda: None if child.alive() else exit_status(child.proc.returncode))
        3
    """
    with caught_signals() as received:
        try:
            yield Supervisor(children, say, timeout, received)
        finally:
            stop(children)
