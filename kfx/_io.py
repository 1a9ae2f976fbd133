"""Atomic file writes: a temporary file in the target folder, then ``os.replace``.

A crash or a full disk leaves either the previous file or none, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from kfx._validation import fail

# mkstemp creates files readable by the owner only; written files get the usual mode.
_UMASK = os.umask(0)
os.umask(_UMASK)
_FILE_MODE = 0o666 & ~_UMASK


def _temp_beside(path: Path) -> tuple[int, str]:
    """A new temporary file in `path`'s folder (made if missing): ``(fd, name)``.

    The name keeps the suffix: Keras checks ".keras" / ".png" extensions.
    """
    try:
        return tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path` (same suffix); move it onto `path` on success.

    Example:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
        >>> with atomic_path(target) as tmp:
        ...     _ = tmp.write_text("hello")
        >>> target.read_text()
        'hello'
    """
    path = Path(path)
    fd, tmp = _temp_beside(path)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.is_file():
            os.chmod(tmp_path, _FILE_MODE)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_bytes(path: str | os.PathLike, data: bytes, mode: int | None = None) -> Path:
    """Atomically write `data` to `path` and return the path (fewer system calls than
    :func:`atomic_path`: small state files are written many times a minute). `mode`: the
    new file's permission bits (default: rw-r--r--; ``kfx migrate`` keeps the old file's)."""
    path = Path(path)
    fd, tmp = _temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            os.fchmod(file.fileno(), _FILE_MODE if mode is None else mode)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Atomically write `text` to `path` and return the path."""
    return write_bytes(path, text.encode("utf-8"))


def save_model(model, path: str | os.PathLike) -> Path:
    """Atomically save a Keras model to a ``.keras`` file."""
    if not str(path).endswith(".keras"):
        fail("save_model", "path", str(path), "a path ending in '.keras'")
    with atomic_path(path) as tmp:
        model.save(tmp)
    return Path(path)
