"""Jupyter notebooks: the code cells as Python sources, and the notebook with new sources.

IPython lines (``%matplotlib inline``, ``!pip install``) are not Python: they are masked as
comments while the rules run, and restored exactly after. A notebook is rewritten only when
a cell changed, as JSON with one-space indentation (Jupyter's own layout).
"""

from __future__ import annotations

import json

_MAGIC = "# kfx-migrate-ipython>"


def read_cells(text: str) -> tuple[dict, list[tuple[int, str]]]:
    """``(notebook, [(cell_number, source), ...])`` for the code cells (1-based numbers
    count every cell). Raises ``ValueError`` for invalid JSON or a notebook without cells."""
    notebook = json.loads(text)
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise ValueError("no `cells` list")
    cells = []
    for number, cell in enumerate(notebook["cells"], start=1):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            cells.append((number, "".join(source) if isinstance(source, list) else str(source)))
    return notebook, cells


def mask(source: str) -> str:
    """`source` with IPython magic and shell lines turned into marked comments."""
    lines = source.splitlines(keepends=True)
    return "".join(
        _MAGIC + line if line.lstrip().startswith(("%", "!")) else line for line in lines
    )


def unmask(source: str) -> str:
    """The inverse of :func:`mask`."""
    lines = source.splitlines(keepends=True)
    return "".join(line[len(_MAGIC) :] if line.startswith(_MAGIC) else line for line in lines)


def write_cells(notebook: dict, sources: dict[int, str]) -> str:
    """The notebook's JSON text with the code cells numbered in `sources` replaced."""
    for number, source in sources.items():
        cell = notebook["cells"][number - 1]
        cell["source"] = (
            source.splitlines(keepends=True) if isinstance(cell.get("source"), list) else source
        )
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
