"""Files: what is written, what is left alone, and files that cannot be migrated."""

from __future__ import annotations

import json
import os
import stat

import pytest

from kfx.migrate import check, diff, fix
from kfx.migrate._files import PathError, collect

KERAS2 = "import keras\nopt = keras.optimizers.Adam(lr=0.1)\n"
CLEAN = "import keras\nopt = keras.optimizers.Adam(learning_rate=0.1)\n"


def _old(path):
    os.utime(path, (1_000_000, 1_000_000))  # an mtime a write would change
    return path.stat().st_mtime_ns


def test_clean_files_keep_bytes_and_mtime(tmp_path):
    clean = tmp_path / "clean.py"
    clean.write_bytes(CLEAN.encode())
    mtime = _old(clean)
    dirty = tmp_path / "dirty.py"
    dirty.write_text(KERAS2)
    findings = fix([tmp_path])
    assert [(f.path, f.fixed) for f in findings] == [(str(dirty), True)]
    assert clean.read_bytes() == CLEAN.encode() and clean.stat().st_mtime_ns == mtime
    assert dirty.read_text() == CLEAN


def test_fix_keeps_crlf_encoding_and_permissions(tmp_path):
    script = tmp_path / "s.py"
    script.write_bytes(
        b"# -*- coding: latin-1 -*-\r\nimport keras\r\n# caf\xe9\r\nk = keras.optimizers.SGD(lr=1)\r\n"
    )
    script.chmod(0o750)
    fix([script])
    assert script.read_bytes() == (
        b"# -*- coding: latin-1 -*-\r\nimport keras\r\n# caf\xe9\r\nk = keras.optimizers.SGD(learning_rate=1)\r\n"
    )
    assert stat.S_IMODE(script.stat().st_mode) == 0o750
    assert [p.name for p in tmp_path.iterdir()] == ["s.py"]  # no temporary file left


def test_diff_writes_nothing(tmp_path):
    script = tmp_path / "s.py"
    script.write_text(KERAS2)
    text = diff([script])
    assert f"--- a/{script}" in text and "+opt = keras.optimizers.Adam(learning_rate=0.1)" in text
    assert script.read_text() == KERAS2


def test_read_only_file_is_named_and_the_run_goes_on(tmp_path):
    locked = tmp_path / "a_locked.py"
    locked.write_text(KERAS2)
    locked.chmod(0o444)
    other = tmp_path / "b_other.py"
    other.write_text(KERAS2)
    findings = fix([tmp_path])
    errors = [f for f in findings if f.rule == "K3000"]
    assert [(f.path, "read-only" in f.message) for f in errors] == [(str(locked), True)]
    assert locked.read_text() == KERAS2 and other.read_text() == CLEAN
    assert not any(f.fixed for f in findings if f.path == str(locked))


def test_syntax_error_is_a_finding(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import keras\ndef broken(:\n")
    good = tmp_path / "good.py"
    good.write_text(KERAS2)
    findings = check([tmp_path])
    assert [(f.path, f.rule, f.line) for f in findings] == [
        (str(bad), "K3000", 2),
        (str(good), "K3101", 2),
    ]
    assert "does not parse" in findings[0].message


def _notebook(*cells):
    return {
        "cells": [{"cell_type": t, "metadata": {}, "source": s} for t, s in cells],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def test_notebook_cells_are_fixed_and_magics_kept(tmp_path):
    book = tmp_path / "n.ipynb"
    content = _notebook(
        ("code", ["%matplotlib inline\n", "from tensorflow.keras import optimizers\n"]),
        ("markdown", ["Adam(lr=1) in prose stays\n"]),
        ("code", ["!pip list\n", "opt = optimizers.Adam(lr=0.1)\n", "model.fit_generator(g)"]),
    )
    book.write_text(json.dumps(content, indent=1))
    findings = fix([book])
    assert sorted((f.cell, f.line, f.rule) for f in findings) == [(3, 2, "K3101"), (3, 3, "K3201")]
    cells = json.loads(book.read_text())["cells"]
    assert cells[0]["source"] == content["cells"][0]["source"]
    assert cells[1]["source"] == ["Adam(lr=1) in prose stays\n"]
    assert cells[2]["source"] == [
        "!pip list\n",
        "opt = optimizers.Adam(learning_rate=0.1)\n",
        "model.fit(g)",
    ]
    assert fix([book]) == [] or not any(f.fixed for f in fix([book]))


def test_invalid_notebook_json_is_a_finding(tmp_path):
    book = tmp_path / "broken.ipynb"
    book.write_text("{not json")
    (findings,) = check([book])
    assert (findings.rule, findings.path) == (
        "K3000",
        str(book),
    ) and "not valid JSON" in findings.message
    assert book.read_text() == "{not json"


def test_collect_skips_environments_and_hidden_folders(tmp_path):
    for folder in (".venv/lib", "lib/site-packages/pkg", ".git", "src/pkg", "__pycache__"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "m.py").write_text("x = 1\n")
    (tmp_path / "src" / "nb.ipynb").write_text("{}")
    (tmp_path / "src" / "notes.txt").write_text("")
    assert [p.relative_to(tmp_path).as_posix() for p in collect([tmp_path])] == [
        "src/nb.ipynb",
        "src/pkg/m.py",
    ]
    with pytest.raises(PathError, match="missing.py"):
        collect([tmp_path / "missing.py"])


def test_worker_processes_give_the_same_findings(tmp_path):
    for i in range(12):
        (tmp_path / f"m{i:02d}.py").write_text(KERAS2 if i % 3 else CLEAN)
    one = check([tmp_path], jobs=1)
    assert check([tmp_path], jobs=2) == one and len(one) == 8
    assert fix([tmp_path], jobs=2) == [f.__class__(**{**f.__dict__, "fixed": True}) for f in one]
    assert check([tmp_path], jobs=2) == []
