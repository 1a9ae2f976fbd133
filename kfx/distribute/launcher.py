"""Run a training script as N TensorFlow workers on this machine; stop them all if one fails.

``MultiWorkerMirroredStrategy`` runs the *same* script in every worker; each learns the
cluster and its own place in it from ``TF_CONFIG``. :func:`launch` (the ``kfx train``
command) does the rest:

1. picks N free ports on `host` and writes each worker's ``TF_CONFIG``
   (``{"cluster": {"worker": [...]}, "task": {"type": "worker", "index": i}}``);
   worker 0 is the chief;
2. starts the workers, each in its own process group, each with its own log file in
   `log_dir` (``worker0.log``, ``worker1.log``, ...; appended to on a rerun);
3. waits: when a worker fails (non-zero exit, a signal such as SIGKILL), the others cannot
   go on (their collectives would wait for it), so every other worker is stopped (SIGTERM,
   then SIGKILL) and the failed worker's status is returned. Rerun the same command to
   resume from the last checkpoint (``kfx.distribute.fit(..., checkpoint_dir=...)``);
4. returns 0 when every worker exits 0; 124 when `timeout` ran out; 128 + N when the
   launcher itself got signal N (SIGINT, SIGTERM), after stopping every worker.

Only the standard library is imported: the supervisor never loads TensorFlow. The port and
exit-status helpers are those of :mod:`kfx.tuning.launcher`.

Example:
    >>> import json, sys, tempfile
    >>> from kfx.distribute.launcher import launch, tf_config
    >>> json.loads(tf_config(["127.0.0.1:2222", "127.0.0.1:2223"], 1))["task"]
    {'type': 'worker', 'index': 1}
    >>> # Worker 1 fails at once: worker 0 (which would wait forever) is stopped too.
    >>> code = ("import json, os, sys, time; task = json.loads(os.environ['TF_CONFIG'])"
    ...         ".get('task'); sys.exit(3) if task.get('index') else time.sleep(60)")
    >>> launch(2, [sys.executable, "-c", code], log_dir=tempfile.mkdtemp(), quiet=True)
    3
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kfx.tuning.launcher import exit_status, free_port

DEFAULT_LOG_DIR = "runs/train-logs"
DEFAULT_HOST = "127.0.0.1"
#: Seconds between SIGTERM and SIGKILL.
KILL_GRACE = 5.0
#: Seconds between two looks at the workers.
POLL_SECONDS = 0.2
#: Exit status when `timeout` ran out (as the `timeout` command).
TIMED_OUT = 124
#: Lines of a failed worker's log shown on stderr.
LOG_TAIL_LINES = 20
#: Attempts at finding N distinct free ports.
PORT_ATTEMPTS = 50


@dataclass
class _Worker:
    index: int
    log: Path
    proc: subprocess.Popen | None = None

    @property
    def name(self) -> str:
        return f"worker{self.index}"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def tf_config(addresses: Sequence[str], index: int) -> str:
    """The ``TF_CONFIG`` JSON of worker `index` in a cluster of workers at `addresses`."""
    if not 0 <= index < len(addresses):
        raise ValueError(
            f"tf_config: argument `index` got {index!r}; expected 0 <= index < {len(addresses)}"
        )
    return json.dumps(
        {"cluster": {"worker": list(addresses)}, "task": {"type": "worker", "index": index}}
    )


def free_ports(count: int, host: str = DEFAULT_HOST) -> list[int]:
    """`count` distinct TCP ports that nothing listens on now."""
    ports: list[int] = []
    for _ in range(PORT_ATTEMPTS * count):
        port = free_port(host)
        if port not in ports:
            ports.append(port)
        if len(ports) == count:
            return ports
    raise RuntimeError(f"could not find {count} free ports on {host}")


def launch(
    n_workers: int,
    cmd: Sequence[str],
    *,
    host: str = DEFAULT_HOST,
    log_dir: str | os.PathLike = DEFAULT_LOG_DIR,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    quiet: bool = False,
) -> int:
    """Run `cmd` as `n_workers` TensorFlow workers on this machine and wait for them.

    Args:
        n_workers: number of worker processes (>= 1); worker 0 is the chief.
        cmd: the script's command line, e.g. ``["python", "train.py", "--epochs", "5"]``.
        host: the address the workers listen on.
        log_dir: folder of the log files, one per worker (``worker0.log``, ...).
        timeout: stop everything after this many seconds (None: no limit).
        env: environment of the workers (default: this process' environment), to which
            ``TF_CONFIG`` is added.
        quiet: print nothing (errors included).

    Returns:
        0 when every worker succeeded; else the first failed worker's exit status (128 + N
        for a worker ended by signal N: 137 for SIGKILL); 124 when `timeout` ran out;
        128 + N when the launcher got signal N.
    """
    command = [str(part) for part in cmd]
    if not command:
        raise ValueError("launch: argument `cmd` got []; expected a command line")
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ValueError(f"launch: argument `n_workers` got {n_workers!r}; expected an int >= 1")

    def say(message: str, *, error: bool = False) -> None:
        if not quiet:
            print(f"kfx train: {message}", file=sys.stderr if error else sys.stdout, flush=True)

    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    base_env = dict(os.environ if env is None else env)
    base_env.setdefault("PYTHONUNBUFFERED", "1")  # logs stay current
    addresses = [f"{host}:{port}" for port in free_ports(n_workers, host)]
    workers = [_Worker(i, log_dir / f"worker{i}.log") for i in range(n_workers)]
    started = time.monotonic()
    deadline = None if timeout is None else started + timeout
    received: list[int] = []

    def on_signal(signum, frame):  # noqa: ARG001 - signal handler signature
        received.append(signum)

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        for worker in workers:
            with open(worker.log, "ab") as log:
                stamp = time.strftime("%Y-%m-%d %H:%M:%S")
                log.write(f"=== kfx train {stamp}: {worker.name}: {' '.join(command)}\n".encode())
                log.flush()
                worker.proc = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**base_env, "TF_CONFIG": tf_config(addresses, worker.index)},
                    # Its own process group: a signal reaches whatever the command starts.
                    start_new_session=True,
                )
            say(
                f"{worker.name} pid {worker.proc.pid} at {addresses[worker.index]} (log {worker.log})"
            )

        while True:
            if received:
                name = signal.Signals(received[0]).name
                say(f"{name} received; stopping every worker", error=True)
                _stop(workers)
                return 128 + received[0]
            if deadline is not None and time.monotonic() > deadline:
                say(f"timeout of {timeout:.0f} s reached; stopping every worker", error=True)
                _stop(workers)
                return TIMED_OUT
            for worker in workers:
                if worker.alive() or worker.proc.returncode == 0:
                    continue
                status = exit_status(worker.proc.returncode)
                running = [w.name for w in workers if w.alive()]
                say(
                    f"{worker.name} failed with status {status}"
                    + (f"; stopping {', '.join(running)}" if running else "")
                    + "; rerun the command to resume from the last checkpoint",
                    error=True,
                )
                _show_tail(worker.log, say)
                _stop(workers)
                return status
            if all(w.proc.returncode == 0 for w in workers):
                say(f"{n_workers} workers finished in {time.monotonic() - started:.1f} s")
                return 0
            time.sleep(POLL_SECONDS)
    finally:
        _stop(workers)  # whatever is still running (an exception, say)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop(workers: Sequence[_Worker]) -> None:
    """SIGTERM every live worker's process group, SIGKILL after `KILL_GRACE` s; reap them."""
    for sig, wait in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, None)):
        alive = [w for w in workers if w.alive()]
        if not alive:
            return
        for worker in alive:
            try:
                os.killpg(worker.proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        for worker in alive:
            try:
                worker.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                pass


def _show_tail(log: Path, say) -> None:
    try:
        lines = log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
    except OSError:
        return
    say(f"last lines of {log}:\n" + "\n".join("    " + line for line in lines), error=True)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``kfx train`` (shared by the ``kfx`` command and ``python -m``)."""
    parser.add_argument(
        "--workers", type=int, required=True, help="number of worker processes (>= 1)"
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address the workers listen on (default: {DEFAULT_HOST})",
    )
    parser.add_argument(
        "--log-dir",
        default=DEFAULT_LOG_DIR,
        help=f"folder of the per-worker log files (default: {DEFAULT_LOG_DIR})",
    )
    parser.add_argument(
        "--timeout", type=float, default=None, help="stop everything after this many seconds"
    )
    parser.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        help="the training script, after --: -- python train.py [its arguments]",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """Run parsed ``kfx train`` arguments (see :func:`add_arguments`)."""
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        print(
            "kfx train: give the script to run after --, e.g. "
            "kfx train --workers 2 -- python train.py",
            file=sys.stderr,
        )
        return 2
    try:
        return launch(
            args.workers, command, host=args.host, log_dir=args.log_dir, timeout=args.timeout
        )
    except ValueError as err:
        print(f"kfx train: {err}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m kfx.distribute.launcher --workers N -- python train.py``."""
    parser = argparse.ArgumentParser(
        prog="python -m kfx.distribute.launcher",
        description="Run a training script as N TensorFlow workers on this machine.",
    )
    return run(add_arguments(parser).parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
