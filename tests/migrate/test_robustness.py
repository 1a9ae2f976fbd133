"""``--fix`` over real Python that is not Keras 2 code (the installed NumPy): no crash, every
file still compiles, and no findings."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy
import pytest

from kfx.migrate import fix
from kfx.migrate._engine import run_source
from kfx.migrate._registry import list_rules

#: Files that go through the full libcst pass even though they mention no Keras (the file
#: driver only syntax-checks those): a wide sample of real syntax, small enough to be fast.
ENGINE_SAMPLE = 15

#: Findings that are right on NumPy, with the reason. NumPy imports no Keras or TensorFlow,
#: so the call, attribute and method rules never apply; it imports no Keras module either,
#: so the import rules have nothing to report: none are expected.
EXPECTED: set[tuple[str, str]] = set()


def _copy_numpy(target: Path) -> dict[Path, bytes]:
    source = Path(numpy.__file__).parent
    for path in source.rglob("*.py"):
        copy = target / path.relative_to(source)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
    return {p: p.read_bytes() for p in target.rglob("*.py")}


@pytest.mark.slow
def test_fix_over_numpy_changes_nothing_and_compiles(tmp_path):
    before = _copy_numpy(tmp_path)
    start = time.perf_counter()
    findings = fix([tmp_path])
    seconds = time.perf_counter() - start
    found = {(Path(f.path).name, f.rule) for f in findings}
    assert found <= EXPECTED, sorted(f.text() for f in findings)
    for path, data in before.items():
        assert path.read_bytes() == data, path
        compile(data, str(path), "exec")
    lines = sum(data.count(b"\n") for data in before.values())
    print(
        f"\nfix: {len(before)} files, {lines} lines, {seconds:.1f} s, {lines / seconds:,.0f} lines/s"
    )


@pytest.mark.slow
def test_the_libcst_pass_over_numpy_changes_nothing():
    source = Path(numpy.__file__).parent
    files = sorted(source.rglob("*.py"), key=lambda p: p.stat().st_size)
    sample = files[:: max(1, len(files) // ENGINE_SAMPLE)][:ENGINE_SAMPLE]
    rules = list_rules()
    start, lines = time.perf_counter(), 0
    for path in sample:
        data = path.read_bytes()
        lines += data.count(b"\n")
        new, findings = run_source(data, rules, fixing=True)
        assert new == data and findings == [], (path, [f.text() for f in findings])
    seconds = time.perf_counter() - start
    print(f"\nlibcst pass: {len(sample)} files, {lines} lines, {lines / seconds:,.0f} lines/s")
