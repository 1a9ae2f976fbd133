"""``kfx tune``: the distributed-search subcommand of the ``kfx`` command.

``kfx tune --workers N [--port P] [--log-dir D] [--max-restarts R] [--timeout S] -- python
search.py [args]`` runs any keras-tuner script (kfx or plain) as one chief and N workers on
this machine; see :mod:`kfx.tuning.launcher`. The ``kfx`` command registers it with
``kfx.tuning.cli.add_parser(subparsers)``.
"""

from __future__ import annotations

import argparse

from kfx.tuning import launcher

DESCRIPTION = (
    "Run a keras-tuner script as one chief and N workers on this machine: picks a free port, "
    "starts the chief and waits until it listens, starts the workers, restarts a worker that "
    "dies under the same tuner id, stops everything when the chief exits, and exits with the "
    "chief's status. One log file per process in --log-dir."
)
EPILOG = "example: kfx tune --workers 2 -- python examples/search_digits.py --quick"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``tune`` on an argparse subparsers object; its handler is ``args.func``.

    Example:
        >>> import argparse
        >>> from kfx.tuning.cli import add_parser
        >>> parser = argparse.ArgumentParser(prog="kfx")
        >>> _ = add_parser(parser.add_subparsers(dest="command"))
        >>> args = parser.parse_args(["tune", "--workers", "2", "--", "python", "s.py", "--quick"])
        >>> args.workers, args.command, args.func.__name__
        (2, ['--', 'python', 's.py', '--quick'], 'run')
    """
    parser = subparsers.add_parser(
        "tune",
        help="run a keras-tuner script as one chief and N workers (distributed search)",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    launcher.add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """The handler of ``kfx tune``: launch, and return the chief's exit status."""
    return launcher.run(args)
