"""What a migration rule reports: :class:`Finding`, one per place in one file.

Standard library only, so ``kfx migrate``'s output code and the JSON format load without
libcst.
"""

from __future__ import annotations

import dataclasses

#: The id of findings about a file itself (unreadable, read-only, does not parse, invalid
#: notebook JSON): not a rule of the registry, never filtered by ``--select`` / ``--ignore``.
FILE_ERROR = "K3000"


@dataclasses.dataclass(frozen=True)
class Finding:
    """One place where Keras 2 code needs a change for Keras 3.

    Attributes:
        path: the file, as given or found under a given folder.
        line: 1-based line (in the notebook cell when `cell` is set).
        col: 1-based column.
        rule: the rule id (``"K3101"``), or ``"K3000"`` for a problem with the file itself.
        message: what is wrong on Keras 3.
        fixable: whether ``--fix`` rewrites this place.
        fix: the Keras 3 way, as a hint (also for findings that are not fixable).
        cell: the 1-based index of the notebook code cell, or None for a ``.py`` file.
        fixed: True once ``--fix`` rewrote this place.
    """

    path: str
    line: int
    col: int
    rule: str
    message: str
    fixable: bool = False
    fix: str = ""
    cell: int | None = None
    fixed: bool = False

    def location(self) -> str:
        """``path:line:col``, or ``path:cell N:line:col`` in a notebook."""
        path = f"{self.path}:" if self.path else ""
        cell = f"cell {self.cell}:" if self.cell is not None else ""
        return f"{path}{cell}{self.line}:{self.col}"

    def text(self) -> str:
        """The ``path:line:col: K3NNN message (fix: ...)`` line of the text output."""
        hint = f" (fix: {self.fix})" if self.fix else ""
        return f"{self.location()}: {self.rule} {self.message}{hint}"

    def to_dict(self) -> dict:
        """The JSON form: path, line, col, rule, message, fixable, plus fix, cell and fixed."""
        return dataclasses.asdict(self)
