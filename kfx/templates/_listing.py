"""How the templates' error messages list names: quoted, comma-separated, capped.

A model with hundreds of layers would make an error message unreadable if it listed them all,
so every list of names in a template's error goes through :func:`listing`.

Example:
    >>> from kfx.templates._listing import listing
    >>> listing(["dense", "score"]), listing([])
    ("'dense', 'score'", '(none)')
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: How many names an error message lists before it says "... and N more".
MAX_LISTED = 60


def listing(names: Iterable[Any]) -> str:
    """``'a', 'b', 'c'`` (at most MAX_LISTED names, then how many more)."""
    names = [repr(n) for n in names]
    if len(names) > MAX_LISTED:
        return ", ".join(names[:MAX_LISTED]) + f", ... and {len(names) - MAX_LISTED} more"
    return ", ".join(names) if names else "(none)"
