"""The file-level driver: :func:`check`, :func:`fix` and :func:`diff` over paths.

Each file is read once, as bytes (so encoding and newlines come back as they were), run
through the rules (:mod:`kfx.migrate._engine`) and, when fixing, written atomically only if
it changed: a file without fixes keeps its bytes and its mtime. A file that cannot be read,
does not parse, is read-only or is a notebook with invalid JSON gets a K3000 finding and the
run goes on. Many files are split into batches, one worker process per batch (forked, so
the workers start without importing anything again), with a progress bar on a terminal.
Files that mention neither Keras nor TensorFlow are only checked for syntax.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import os
import stat
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from kfx.migrate import _notebook, saved_models
from kfx.migrate._engine import imports_context, run_source, syntax_error_finding
from kfx.migrate._files import collect, write_atomic
from kfx.migrate._finding import FILE_ERROR, Finding
from kfx.migrate._registry import select_rules

#: Below this many files one process is faster than starting workers.
PARALLEL_MIN_FILES = 48
#: Batches per worker: small enough to balance uneven files, large enough to amortise.
_BATCHES_PER_WORKER = 4


@dataclasses.dataclass
class FileResult:
    """What one file gave: its findings and, for ``diff``, the unified diff text."""

    path: str
    findings: list[Finding]
    diff: str = ""


def _file_error(path: str, message: str, cell: int | None = None) -> Finding:
    return Finding(path, 1, 1, FILE_ERROR, message, cell=cell)


def _unified(path: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", f"b/{path}"
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


#: Every rule needs one of these words in the file (a Keras or TensorFlow import, a Keras
#: module name): a file without them is only checked for syntax, with Python's own parser,
#: which is much faster than building a libcst tree.
_TRIGGERS = (b"keras", b"tensorflow")


def _mentions_keras(data: bytes) -> bool:
    return any(word in data for word in _TRIGGERS)


def _python(path: str, data: bytes, rules, fixing: bool):
    if not _mentions_keras(data):
        try:
            compile(data, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
        except (SyntaxError, ValueError) as error:
            return data, [dataclasses.replace(syntax_error_finding(error), path=path)]
        return data, []
    new, findings = run_source(data, rules, fixing=fixing)
    findings = [dataclasses.replace(f, path=path) for f in findings]
    return new, findings


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _notebook_run(path: str, data: bytes, rules, fixing: bool):
    try:
        notebook, cells = _notebook.read_cells(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        return data, [_file_error(path, f"notebook is not valid JSON: {error}; left unchanged")]
    if not _mentions_keras(data):
        return data, []
    masked = {number: _notebook.mask(source) for number, source in cells}
    inherited = imports_context(list(masked.values()))
    findings, changed = [], {}
    for number in masked:
        new, found = run_source(masked[number], rules, fixing=fixing, inherited=inherited)
        findings += [dataclasses.replace(f, path=path, cell=number) for f in found]
        if new != masked[number]:
            changed[number] = _notebook.unmask(new)
    if not changed:
        return data, findings
    return _notebook.write_cells(notebook, changed).encode("utf-8"), findings


def _cell_diffs(path: str, data: bytes, new: bytes) -> str:
    _, old_cells = _notebook.read_cells(data.decode("utf-8"))
    _, new_cells = _notebook.read_cells(new.decode("utf-8"))
    return "".join(
        _unified(f"{path}:cell {number}", old, fixed)
        for (number, old), (_, fixed) in zip(old_cells, new_cells, strict=True)
        if old != fixed
    )


def process_file(path: Path, rules, mode: str) -> FileResult:
    """Check (`mode` ``"check"``), fix (``"fix"``, writes) or diff (``"diff"``) one file."""
    name = str(path)
    if path.suffix in saved_models.H5_SUFFIXES:
        return FileResult(name, saved_models.migrate_h5(path, write=mode == "fix"))
    if path.is_dir():  # collect() only returns SavedModel folders
        return FileResult(name, saved_models.saved_model_findings(path))
    if path.suffix == ".keras":  # already the Keras 3 format
        return FileResult(name, [])
    try:
        data = path.read_bytes()
    except OSError as error:
        return FileResult(name, [_file_error(name, f"cannot read file: {error.strerror}")])
    runner = _notebook_run if path.suffix == ".ipynb" else _python
    new, findings = runner(name, data, rules, mode != "check")
    if new == data:
        return FileResult(name, [dataclasses.replace(f, fixed=False) for f in findings])
    if mode == "diff":
        text = (
            _cell_diffs(name, data, new)
            if path.suffix == ".ipynb"
            else _unified(name, _decode(data), _decode(new))
        )
        return FileResult(name, findings, text)
    if not _writable(path):
        fixes = sum(f.fixed for f in findings)
        error = _file_error(name, f"file is read-only: {fixes} fixes not written")
        return FileResult(name, [error, *(dataclasses.replace(f, fixed=False) for f in findings)])
    try:
        write_atomic(path, new)
    except OSError as error:
        error = _file_error(name, f"cannot write file: {error.strerror}")
        return FileResult(name, [error, *(dataclasses.replace(f, fixed=False) for f in findings)])
    return FileResult(name, findings)


def _writable(path: Path) -> bool:
    """Whether to write `path`: permitted, and not marked read-only (a mode without any
    write bit counts as read-only even for root, who could write it anyway)."""
    return os.access(path, os.W_OK) and bool(stat.S_IMODE(path.stat().st_mode) & 0o222)


def _process_batch(paths: Sequence[Path], rule_ids: Sequence[str], mode: str) -> list[FileResult]:
    rules = [r for r in select_rules() if r.id in set(rule_ids)]
    return [process_file(path, rules, mode) for path in paths]


class _Progress:
    """``kfx migrate: 120/500 files`` on stderr, redrawn in place; silent off a terminal."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.done, self.enabled = total, 0, enabled

    def advance(self, count: int) -> None:
        self.done += count
        if self.enabled:
            width = 30
            filled = width * self.done // max(self.total, 1)
            bar = "#" * filled + "-" * (width - filled)
            sys.stderr.write(f"\rkfx migrate [{bar}] {self.done}/{self.total} files")
            if self.done >= self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


def _workers(count: int, jobs: int | None) -> int:
    if jobs is not None:
        return max(1, jobs)
    if count < PARALLEL_MIN_FILES or "fork" not in _start_methods():
        return 1
    return max(1, min(os.cpu_count() or 1, count // (PARALLEL_MIN_FILES // 2)))


def _start_methods() -> list[str]:
    import multiprocessing

    return multiprocessing.get_all_start_methods()


def run_paths(
    paths: Iterable[str | os.PathLike],
    *,
    mode: str = "check",
    select=None,
    ignore=None,
    jobs: int | None = None,
    progress: bool | None = None,
) -> list[FileResult]:
    """Every file under `paths` through the selected rules, in file order.

    Args:
        mode: ``"check"``, ``"fix"`` or ``"diff"``.
        jobs: worker processes (default: one per core when there are many files).
        progress: draw a progress bar on stderr (default: many files and stderr is a TTY).
    """
    files = collect(paths)
    rules = select_rules(select, ignore)
    workers = _workers(len(files), jobs)
    show = (
        progress
        if progress is not None
        else len(files) >= PARALLEL_MIN_FILES and sys.stderr.isatty()
    )
    bar = _Progress(len(files), show)
    if workers == 1:
        results = []
        for path in files:
            results.append(process_file(path, rules, mode))
            bar.advance(1)
        return results
    import multiprocessing

    size = max(1, -(-len(files) // (workers * _BATCHES_PER_WORKER)))
    batches = [files[i : i + size] for i in range(0, len(files), size)]
    ids = [r.id for r in rules]
    by_batch: dict[int, list[FileResult]] = {}
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = {
            pool.submit(_process_batch, batch, ids, mode): i for i, batch in enumerate(batches)
        }
        for future in as_completed(futures):
            by_batch[futures[future]] = future.result()
            bar.advance(len(by_batch[futures[future]]))
    return [result for i in range(len(batches)) for result in by_batch[i]]


def _sorted(results: list[FileResult]) -> list[Finding]:
    return [
        f
        for r in results
        for f in sorted(r.findings, key=lambda f: (f.cell or 0, f.line, f.col, f.rule))
    ]


def check(paths, select=None, ignore=None, *, jobs: int | None = None) -> list[Finding]:
    """The findings in the files under `paths`; nothing is written.

    Args:
        paths: files (``.py``, ``.ipynb``) and folders (searched recursively).
        select: rule ids or prefixes to run (``["K31", "K3201"]``); None for all.
        ignore: rule ids or prefixes not to run.
        jobs: worker processes (default: one per core when there are many files).

    Raises:
        FileNotFoundError: a path does not exist (``kfx.migrate._files.PathError``).

    Example:
        >>> import pathlib, tempfile
        >>> from kfx.migrate import check
        >>> script = pathlib.Path(tempfile.mkdtemp()) / "train.py"
        >>> _ = script.write_text("import keras\\nopt = keras.optimizers.SGD(lr=0.1)\\n")
        >>> (finding,) = check([script])
        >>> finding.line, finding.col, finding.rule, finding.fixable
        (2, 7, 'K3101', True)
    """
    return _sorted(run_paths(paths, mode="check", select=select, ignore=ignore, jobs=jobs))


def fix(paths, select=None, ignore=None, *, jobs: int | None = None) -> list[Finding]:
    """Apply every safe fix in the files under `paths`; return all findings (``fixed`` set).

    Files are written atomically and only when they change. Arguments as for :func:`check`.

    Example:
        >>> import pathlib, tempfile
        >>> from kfx.migrate import fix
        >>> script = pathlib.Path(tempfile.mkdtemp()) / "train.py"
        >>> _ = script.write_text("import keras\\nopt = keras.optimizers.SGD(lr=0.1)\\n")
        >>> (finding,) = fix([script])
        >>> finding.rule, finding.fixed
        ('K3101', True)
        >>> print(script.read_text(), end="")
        import keras
        opt = keras.optimizers.SGD(learning_rate=0.1)
    """
    return _sorted(run_paths(paths, mode="fix", select=select, ignore=ignore, jobs=jobs))


def diff(paths, select=None, ignore=None, *, jobs: int | None = None) -> str:
    """The unified diff that :func:`fix` would apply; nothing is written.

    Example:
        >>> import pathlib, tempfile
        >>> from kfx.migrate import diff
        >>> script = pathlib.Path(tempfile.mkdtemp()) / "train.py"
        >>> _ = script.write_text("from keras.layers.core import Dense\\n")
        >>> print(diff([script]).splitlines()[-2:])
        ['-from keras.layers.core import Dense', '+from keras.layers import Dense']
    """
    results = run_paths(paths, mode="diff", select=select, ignore=ignore, jobs=jobs)
    return "".join(r.diff for r in results)
