"""``kfx tune``: the distributed-search subcommand of the ``kfx`` command.

``kfx tune --workers N [--port P] [--log-dir D] [--max-restarts R] [--timeout S]
[--heartbeat-timeout S] -- python search.py [args]`` runs any keras-tuner script (kfx or
plain) as one chief and N workers on this machine; see :mod:`kfx.tuning.launcher`. The ``kfx`` command registers it with
``kfx.tuning.cli.add_parser(subparsers)``; the parser itself is
:func:`kfx._subcommands.add_launcher_parser`'s, as for ``kfx train``.

Example:
    >>> import argparse
    >>> from kfx.tuning.cli import add_parser
    >>> parser = argparse.ArgumentParser(prog="kfx")
    >>> _ = add_parser(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["tune", "--workers", "2", "--", "python", "s.py", "--quick"])
    >>> args.workers, args.max_restarts, args.command, args.func.__name__
    (2, 3, ['--', 'python', 's.py', '--quick'], 'run')
"""

from __future__ import annotations

import argparse

from kfx._subcommands import add_launcher_parser
from kfx.tuning import launcher

HELP = "run a keras-tuner script as one chief and N workers (distributed search)"
DESCRIPTION = (
    "Run a keras-tuner script as one chief and N workers on this machine: picks a free port, "
    "starts the chief and waits until it listens, starts the workers, restarts a worker that "
    "dies or whose heartbeat stops under the same tuner id, stops everything when the chief "
    "exits, and exits with the chief's status. One log file per process in --log-dir."
)
EPILOG = "example: kfx tune --workers 2 -- python examples/search_digits.py --quick"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``tune`` on an argparse subparsers object; its handler is ``args.func``."""
    return add_launcher_parser(subparsers, "tune", launcher, HELP, DESCRIPTION, EPILOG)
