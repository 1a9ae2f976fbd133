"""Which files ``kfx migrate`` reads, and how it writes them back.

Folders are searched recursively for ``.py`` files and ``.ipynb`` notebooks, skipping
virtual environments (``.venv``, ``site-packages``), caches and hidden folders, since code
there is not the project's. A file given by name is always read; saved models (``.h5``, a
SavedModel folder) only when given by name. Writes are atomic (a
temporary file in the same folder, then ``os.replace``) and keep the file's permissions,
so an interrupted run never leaves half a script.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from kfx._io import write_bytes
from kfx.migrate.saved_models import is_saved_model_folder

SOURCE_SUFFIXES = (".py", ".ipynb")
_SKIPPED_FOLDERS = {"site-packages", "__pycache__", "node_modules"}


class PathError(FileNotFoundError):
    """A PATH argument that does not exist or cannot be read (``kfx migrate`` exits 2)."""


def _skipped(name: str) -> bool:
    return name.startswith(".") or name in _SKIPPED_FOLDERS


def _walk(folder: Path) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not _skipped(d))
        found += [Path(root) / f for f in sorted(files) if f.endswith(SOURCE_SUFFIXES)]
    return found


def collect(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """The files to migrate under `paths`, each once, in the given order.

    Raises:
        PathError: a path does not exist or is a folder that cannot be listed.
    """
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir() and is_saved_model_folder(path):
            files.append(path)  # converted as a whole, never searched
        elif path.is_dir():
            if not os.access(path, os.R_OK | os.X_OK):
                raise PathError(f"kfx migrate: cannot read folder {str(path)!r}")
            files += _walk(path)
        elif path.exists():
            files.append(path)
        else:
            raise PathError(f"kfx migrate: no such file or folder {str(path)!r}")
    seen: set[Path] = set()
    return [f for f in files if not (f in seen or seen.add(f))]


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path`'s content with `data` atomically, keeping its permission bits."""
    write_bytes(path, data, mode=stat.S_IMODE(path.stat().st_mode))
