"""``kfx train``: the multi-worker training subcommand of the ``kfx`` command.

``kfx train --workers N [--host H] [--log-dir D] [--timeout S] -- python train.py [args]``
runs a training script (one that calls :func:`kfx.distribute.fit` under
:func:`kfx.distribute.multi_worker_strategy`) as N workers on this machine; see
:mod:`kfx.distribute.launcher`. The ``kfx`` command registers it with
``kfx.distribute.cli.add_parser(subparsers)``; the parser itself is
:func:`kfx._subcommands.add_launcher_parser`'s, as for ``kfx tune``.

Example:
    >>> import argparse
    >>> from kfx.distribute.cli import add_parser
    >>> parser = argparse.ArgumentParser(prog="kfx")
    >>> train = add_parser(parser.add_subparsers(dest="command"))
    >>> train.prog, train.epilog.split(":")[0]
    ('kfx train', 'example')
    >>> args = parser.parse_args(["train", "--workers", "2", "--", "python", "t.py"])
    >>> args.workers, args.host, args.command, args.func.__name__
    (2, '127.0.0.1', ['--', 'python', 't.py'], 'run')
"""

from __future__ import annotations

import argparse

from kfx._subcommands import add_launcher_parser
from kfx.distribute import launcher

HELP = "run a training script as N TensorFlow workers (MultiWorkerMirroredStrategy)"
DESCRIPTION = (
    "Run a TensorFlow training script as N workers on this machine: picks free ports, writes "
    "each worker's TF_CONFIG (worker 0 is the chief), starts them with one log file each in "
    "--log-dir, stops them all when one fails, and exits non-zero if any failed. Rerun the "
    "same command to resume from the last checkpoint."
)
EPILOG = "example: kfx train --workers 2 -- python examples/distributed_training.py --quick"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``train`` on an argparse subparsers object; its handler is ``args.func``."""
    return add_launcher_parser(subparsers, "train", launcher, HELP, DESCRIPTION, EPILOG)
