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

Only the standard library is imported: the supervisor never loads TensorFlow. Ports, logs,
process groups and signals are handled as by ``kfx tune`` (:mod:`kfx._processes`).

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
import sys
import time
from collections.abc import Mapping, Sequence
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
    module_main,
    reporter,
    run_command,
    show_tail,
    stop,
)

DEFAULT_LOG_DIR = "runs/train-logs"
#: Attempts at finding N distinct free ports.
PORT_ATTEMPTS = 50


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

    say = reporter("kfx train", quiet)
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    base_env = dict(os.environ if env is None else env)
    base_env.setdefault("PYTHONUNBUFFERED", "1")  # logs stay current
    addresses = [f"{host}:{port}" for port in free_ports(n_workers, host)]
    workers = [Child(f"worker{i}", log_dir / f"worker{i}.log") for i in range(n_workers)]
    started = time.monotonic()
    deadline = None if timeout is None else started + timeout
    with caught_signals() as received:
        try:
            for index, worker in enumerate(workers):
                worker.start(
                    command, "kfx train", {**base_env, "TF_CONFIG": tf_config(addresses, index)}
                )
                say(f"{worker.name} pid {worker.proc.pid} at {addresses[index]} (log {worker.log})")

            while True:
                if received:
                    name = signal.Signals(received[0]).name
                    say(f"{name} received; stopping every worker", error=True)
                    stop(workers)
                    return 128 + received[0]
                if deadline is not None and time.monotonic() > deadline:
                    say(f"timeout of {timeout:.0f} s reached; stopping every worker", error=True)
                    stop(workers)
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
                    show_tail(worker.log, say)
                    stop(workers)
                    return status
                if all(w.proc.returncode == 0 for w in workers):
                    say(f"{n_workers} workers finished in {time.monotonic() - started:.1f} s")
                    return 0
                time.sleep(POLL_SECONDS)
        finally:
            stop(workers)  # whatever is still running (an exception, say)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``kfx train`` (shared by the ``kfx`` command and ``python -m``)."""
    add_common_arguments(
        parser, host_help="address the workers listen on", log_dir=DEFAULT_LOG_DIR, what="worker"
    )
    add_command_arguments(parser, "the training script", "train.py")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run parsed ``kfx train`` arguments (see :func:`add_arguments`)."""
    return run_command(
        args,
        "kfx train",
        "kfx train --workers 2 -- python train.py",
        lambda command: launch(
            args.workers, command, host=args.host, log_dir=args.log_dir, timeout=args.timeout
        ),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m kfx.distribute.launcher --workers N -- python train.py``."""
    return module_main(
        "python -m kfx.distribute.launcher",
        "Run a training script as N TensorFlow workers on this machine.",
        add_arguments,
        run,
        argv,
    )


if __name__ == "__main__":
    sys.exit(main())
