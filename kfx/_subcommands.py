"""The command-line side of the launchers: ``kfx tune``, ``kfx train`` and their ``python -m``.

Both launchers take ``--workers``, ``--host``, ``--log-dir``, ``--timeout`` and a command
after ``--``; both answer a missing command or a rejected argument with status 2; both are
registered on the ``kfx`` command the same way. This module holds that once. Standard
library only: ``kfx tune`` and ``kfx train`` parse their arguments without loading Keras.

Example:
    >>> import argparse
    >>> from kfx._subcommands import add_launcher_parser
    >>> from kfx.distribute import launcher
    >>> parser = argparse.ArgumentParser(prog="kfx")
    >>> _ = add_launcher_parser(parser.add_subparsers(), "train", launcher, "train workers")
    >>> args = parser.parse_args(["train", "--workers", "3", "--", "python", "t.py"])
    >>> args.workers, args.command, args.func is launcher.run
    (3, ['--', 'python', 't.py'], True)
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from kfx._processes import DEFAULT_HOST


def add_launcher_parser(
    subparsers,
    name: str,
    launcher: ModuleType,
    help: str,  # noqa: A002 - argparse's own keyword
    description: str | None = None,
    epilog: str | None = None,
) -> argparse.ArgumentParser:
    """Register subcommand `name` of `launcher` (its ``add_arguments`` and ``run``).

    The handler is ``args.func`` (``launcher.run``); the new parser is returned.
    """
    parser = subparsers.add_parser(name, help=help, description=description, epilog=epilog)
    launcher.add_arguments(parser)
    parser.set_defaults(func=launcher.run)
    return parser


def add_common_arguments(
    parser: argparse.ArgumentParser,
    *,
    host_help: str,
    log_dir: str,
    what: str,
    workers_help: str | None = None,
) -> None:
    """``--workers``, ``--host`` and ``--log-dir``, the options every launcher has.

    ``--workers`` is required unless `workers_help` says when it may be left out.
    """
    parser.add_argument(
        "--workers",
        type=int,
        required=workers_help is None,
        default=None,
        help=workers_help or "number of worker processes (>= 1)",
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


def launcher_handler(
    prog: str, example: str
) -> Callable[
    [Callable[[argparse.Namespace, list[str]], int]], Callable[[argparse.Namespace], int]
]:
    """Make ``launch(args, command) -> status`` a subcommand handler ``run(args) -> status``.

    The handler takes the command given after ``--`` from ``args.command`` and returns
    `launch`'s status, or 2 (with a message on stderr naming `prog`) when there is no
    command or `launch` rejects an argument with a ValueError.

    Example:
        >>> import argparse
        >>> @launcher_handler("kfx echo", "kfx echo -- python t.py")
        ... def run(args, command):
        ...     return len(command)
        >>> run(argparse.Namespace(command=["--", "python", "t.py"])), run.__name__
        (2, 'run')
    """

    def wrap(launch: Callable[[argparse.Namespace, list[str]], int]):
        @functools.wraps(launch)
        def run(args: argparse.Namespace) -> int:
            command = list(args.command)
            if command[:1] == ["--"]:
                command = command[1:]
            if not command:
                print(f"{prog}: give the script to run after --, e.g. {example}", file=sys.stderr)
                return 2
            try:
                return launch(args, command)
            except ValueError as err:
                print(f"{prog}: {err}", file=sys.stderr)
                return 2

        return run

    return wrap


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
