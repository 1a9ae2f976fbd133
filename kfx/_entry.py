"""Whether this process is a ``kfx`` command that needs no Keras, so ``import kfx`` skips it.

``import kfx`` registers kfx's layers with Keras (so saved models that use them load), and
that imports Keras: seconds with TensorFlow. ``kfx migrate`` reads and rewrites source
files and needs none of it (it imports Keras itself when it converts an ``.h5`` model), and
neither do ``kfx --help``, ``kfx --version`` and a subcommand's help (``kfx tune --help``:
the subcommands' parsers are standard library only). So when the process was started as one of
those, with the ``kfx`` command or ``python -m kfx.migrate``, the layers are registered on
first use instead (``kfx.layers``). Anything else, a user's script above all, gets them at
``import kfx`` as before. Standard library only.

Example:
    >>> keras_free_command(["/venv/bin/python", "/venv/bin/kfx", "migrate", "src/"])
    True
    >>> keras_free_command(["python", "-X", "importtime", "-m", "kfx.migrate", "a.py"])
    True
    >>> keras_free_command(["/venv/bin/python", "/venv/bin/kfx", "inspect", "m.keras"])
    False
    >>> keras_free_command(["/venv/bin/python", "/venv/bin/kfx", "tune", "--help"])
    True
    >>> keras_free_command(["/venv/bin/python", "/venv/bin/kfx", "tune", "search.py", "--help"])
    False
    >>> keras_free_command(["python", "train.py", "-m", "kfx.migrate"])
    False
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import PurePath

#: Options that print a help and exit (after ``kfx`` or right after any subcommand).
HELP = ("-h", "--help")
#: Subcommands of ``kfx`` (and top-level options) that run without Keras.
KERAS_FREE = ("migrate", *HELP, "--version")
#: ``python -m`` modules that run without Keras.
KERAS_FREE_MODULES = ("kfx.migrate",)
#: Names of the ``kfx`` console script (pip's wrappers on POSIX and Windows).
_COMMAND_NAMES = ("kfx", "kfx.exe", "kfx-script.py")
#: Interpreter options that take a value (``-X importtime``, ``-W ignore``).
_WITH_VALUE = ("-X", "-W", "--check-hash-based-pycs")


def keras_free_command(argv: Sequence[str] | None = None) -> bool:
    """Whether the interpreter's command line (`argv`, default ``sys.orig_argv``) runs a
    kfx command that needs no Keras: ``kfx migrate ...``, ``kfx --help``, ``kfx --version``,
    ``kfx SUBCOMMAND --help`` or ``python -m kfx.migrate ...``.

    Only a help option right after the subcommand counts: later, it may be an argument of
    the script that ``kfx tune SCRIPT ...`` runs."""
    argv = list(sys.orig_argv if argv is None else argv)
    index = 1
    while index < len(argv):
        item = argv[index]
        if item == "-m":
            module = argv[index + 1] if index + 1 < len(argv) else ""
            rest = argv[index + 2 :]
            return module in KERAS_FREE_MODULES or (module == "kfx.cli" and _free_arguments(rest))
        if item.startswith("-c") or not item.startswith("-"):
            break
        index += 2 if item in _WITH_VALUE else 1
    else:
        return False
    if item.startswith("-c") or PurePath(item).name not in _COMMAND_NAMES:
        return False
    return _free_arguments(argv[index + 1 :])


def _free_arguments(arguments: Sequence[str]) -> bool:
    if not arguments:
        return False
    return arguments[0] in KERAS_FREE or (len(arguments) > 1 and arguments[1] in HELP)
