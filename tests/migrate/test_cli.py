"""``kfx migrate`` / ``python -m kfx.migrate``: output, exit status, options."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from kfx.migrate.cli import main

KERAS2 = "import keras\nopt = keras.optimizers.Adam(lr=0.1)\nmodel.save('saved')\n"


@pytest.fixture
def project(tmp_path):
    (tmp_path / "train.py").write_text(KERAS2)
    (tmp_path / "clean.py").write_text("import keras\n")
    return tmp_path


def test_python_m_exit_status_in_fresh_processes(project):
    """The real entry point: 1 with findings, 0 after --fix of a clean tree, 2 for a bad PATH."""
    clean = project / "clean.py"
    commands = {
        1: [str(project)],
        0: [str(clean)],
        2: [str(project / "missing.py")],
    }
    env = {**os.environ, "KERAS_BACKEND": "numpy"}  # the cheapest backend to import
    procs = {
        code: subprocess.Popen(
            [sys.executable, "-m", "kfx.migrate", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for code, args in commands.items()
    }
    out = {code: proc.communicate(timeout=120) for code, proc in procs.items()}
    assert {code: proc.returncode for code, proc in procs.items()} == {1: 1, 0: 0, 2: 2}
    assert f"{project / 'train.py'}:2:7: K3101 " in out[1][0]
    assert out[1][0].strip().endswith("2 findings in 1 file, 1 fixable with --fix")
    assert out[0][0].strip() == "no findings in 1 file"
    assert "missing.py" in out[2][1]


def test_text_output_and_fix(project, capsys):
    assert main([str(project)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(
        f"{project / 'train.py'}:2:7: K3101 optimizers take `learning_rate=`"
    )
    assert lines[0].endswith("(fix: `learning_rate=`)")
    assert lines[1].startswith(f"{project / 'train.py'}:3:1: K3204 ")
    assert main([str(project), "--fix"]) == 1  # the SavedModel save is left
    out = capsys.readouterr().out
    assert out.strip().endswith("fixed 1 finding in 1 file; 1 finding left in 1 file")
    assert "learning_rate=0.1" in (project / "train.py").read_text()
    assert main([str(project), "--fix", "--ignore", "K3204"]) == 0


def test_diff_prints_and_writes_nothing(project, capsys):
    assert main([str(project), "--diff"]) == 1
    out = capsys.readouterr().out
    assert (
        "-opt = keras.optimizers.Adam(lr=0.1)\n+opt = keras.optimizers.Adam(learning_rate=0.1)\n"
        in out
    )
    assert (project / "train.py").read_text() == KERAS2


def test_json_format(project, capsys):
    assert main([str(project), "--format", "json"]) == 1
    found = json.loads(capsys.readouterr().out)
    assert [(f["rule"], f["line"], f["col"], f["fixable"]) for f in found] == [
        ("K3101", 2, 7, True),
        ("K3204", 3, 1, False),
    ]
    assert {"path", "line", "col", "rule", "message", "fixable"} <= set(found[0])


def test_select_and_ignore(project, capsys):
    assert main([str(project), "--select", "K31"]) == 1
    assert "K3204" not in capsys.readouterr().out
    assert main([str(project), "--select", "K3101", "--ignore", "K31"]) == 0
    assert main([str(project), "--select", "K99"]) == 2
    assert "unknown rule id or prefix K99" in capsys.readouterr().err


def test_usage_errors(tmp_path, capsys):
    assert main([]) == 2
    assert main([str(tmp_path / "nope")]) == 2
    assert "nope" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["--fix", "--diff", str(tmp_path)])
    assert exit_.value.code == 2


def test_file_problems_are_findings(tmp_path, capsys):
    (tmp_path / "bad.py").write_text("def f(:\n")
    (tmp_path / "nb.ipynb").write_text("[1,")
    locked = tmp_path / "locked.py"
    locked.write_text(KERAS2)
    locked.chmod(0o444)
    assert main([str(tmp_path), "--fix", "--format", "json"]) == 1
    found = {(os.path.basename(f["path"]), f["rule"]) for f in json.loads(capsys.readouterr().out)}
    assert {("bad.py", "K3000"), ("nb.ipynb", "K3000"), ("locked.py", "K3000")} <= found
    assert locked.read_text() == KERAS2


def test_list_rules(capsys):
    assert main(["--list-rules", "--format", "json"]) == 0
    rules = json.loads(capsys.readouterr().out)
    assert rules[0]["id"] == "K3001" and {"summary", "fixable", "docs"} <= set(rules[0])


def test_the_worked_example_in_the_docs_is_the_commands_output(capsys, monkeypatch):
    """docs/migrate.md shows `kfx migrate docs/examples/keras2_train.py --diff` verbatim."""
    from pathlib import Path

    root = Path(__file__).parents[2]
    monkeypatch.chdir(root)
    text = (root / "docs" / "migrate.md").read_text()
    shown = text[text.index("<!-- example:start -->") : text.index("<!-- example:end -->")]
    blocks = shown.split("```")[1::2]  # the diff, then the findings left
    assert main(["docs/examples/keras2_train.py", "--diff"]) == 1
    out = capsys.readouterr().out
    assert out == blocks[0].removeprefix("diff\n") + blocks[1].removeprefix("text\n")
