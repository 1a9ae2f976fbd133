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
import os
import sys
from collections.abc import Callable, Mapping, Sequence

from kfx._processes import (
    DEFAULT_HOST,
    Child,
    check_command,
    child_env,
    exit_status,
    free_port,
    log_folder,
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
from kfx._validation import check_int, fail
from kfx.distribute.clusters import WORKER, Cluster

PROG = "kfx train"
#: The shortest use, shown when the command after ``--`` is missing.
EXAMPLE = "kfx train --workers 2 -- python train.py"
#: What ``python -m kfx.distribute.launcher --help`` says first.
SUMMARY = "Run a training script as N TensorFlow workers on this machine."
DEFAULT_LOG_DIR = "runs/train-logs"
#: Attempts at finding N distinct free ports.
PORT_ATTEMPTS = 50


def tf_config(addresses: Sequence[str], index: int) -> str:
    """The ``TF_CONFIG`` JSON of worker `index` in a cluster of workers at `addresses`."""
    if not 0 <= index < len(addresses):
        fail("tf_config", "index", index, f"0 <= index < {len(addresses)}")
    return Cluster("tf_config", WORKER, index, {WORKER: tuple(addresses)}).tf_config()


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
    command = check_command("launch", "cmd", cmd)
    check_int("launch", "n_workers", n_workers, minimum=1)
    say = reporter(PROG, quiet)
    folder = log_folder(log_dir)
    base_env = child_env(env)
    addresses = [f"{host}:{port}" for port in free_ports(n_workers, host)]
    workers = [Child(f"worker{i}", folder / f"worker{i}.log") for i in range(n_workers)]
    with supervising(workers, say, timeout) as supervisor:
        for index, worker in enumerate(workers):
            worker.start(command, PROG, {**base_env, "TF_CONFIG": tf_config(addresses, index)})
            say(f"{worker.name} pid {worker.proc.pid} at {addresses[index]} (log {worker.log})")
        return supervisor.run(lambda: _outcome(workers, supervisor.elapsed(), say))


def _outcome(workers: Sequence[Child], elapsed: float, say: Callable[..., None]) -> int | None:
    """One look at the workers: the first failure's status (the others stopped), 0 once
    every worker succeeded, None while they run."""
    for worker in workers:
        if worker.alive() or worker.proc.returncode == 0:
            continue
        status = exit_status(worker.proc.returncode)
        say(
            f"{worker.name} failed with status {status}"
            + stopping_note(workers)
            + "; rerun the command to resume from the last checkpoint",
            error=True,
        )
        show_tail(worker.log, say)
        stop(workers)
        return status
    if all(w.proc.returncode == 0 for w in workers):
        say(f"{len(workers)} workers finished in {elapsed:.1f} s")
        return 0
    return None


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``kfx train`` (shared by the ``kfx`` command and ``python -m``)."""
    add_common_arguments(
        parser, host_help="address the workers listen on", log_dir=DEFAULT_LOG_DIR, what="worker"
    )
    add_command_arguments(parser, "the training script", "train.py")
    return parser


@launcher_handler(PROG, EXAMPLE)
def run(args: argparse.Namespace, command: list[str]) -> int:
    """Run parsed ``kfx train`` arguments (see :func:`add_arguments`): ``run(args)``."""
    return launch(args.workers, command, host=args.host, log_dir=args.log_dir, timeout=args.timeout)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m kfx.distribute.launcher --workers N -- python train.py``."""
    return module_main("python -m kfx.distribute.launcher", SUMMARY, add_arguments, run, argv)


if __name__ == "__main__":
    sys.exit(main())
