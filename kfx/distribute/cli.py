"""``kfx train``: the multi-worker training subcommand of the ``kfx`` command.

``kfx train --workers N [--host H] [--log-dir D] [--timeout S] -- python train.py [args]``
runs a training script (one that calls :func:`kfx.distribute.fit` under
:func:`kfx.distribute.multi_worker_strategy`) as N workers on this machine; see
:mod:`kfx.distribute.launcher`. The ``kfx`` command registers it with
``kfx.distribute.cli.add_parser(subparsers)``.
"""

from __future__ import annotations

import argparse

from kfx.distribute import launcher

DESCRIPTION = (
    "Run a TensorFlow training script as N workers on this machine: picks free ports, writes "
    "each worker's TF_CONFIG (worker 0 is the chief), starts them with one log file each in "
    "--log-dir, stops them all when one fails, and exits non-zero if any failed. Rerun the "
    "same command to resume from the last checkpoint."
)
EPILOG = "example: kfx train --workers 2 -- python examples/distributed_training.py --quick"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``train`` on an argparse subparsers object; its handler is ``args.func``.

    Example:
        >>> import argparse
        >>> from kfx.distribute.cli import add_parser
        >>> parser = argparse.ArgumentParser(prog="kfx")
        >>> _ = add_parser(parser.add_subparsers(dest="command"))
        >>> args = parser.parse_args(["train", "--workers", "2", "--", "python", "t.py"])
        >>> args.workers, args.command, args.func.__name__
        (2, ['--', 'python', 't.py'], 'run')
    """
    parser = subparsers.add_parser(
        "train",
        help="run a training script as N TensorFlow workers (MultiWorkerMirroredStrategy)",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    launcher.add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """The handler of ``kfx train``: launch, and return 0 or the failed worker's status."""
    return launcher.run(args)
