"""Every script in examples/ runs with --quick and prints what its docstring promises.

Each example's docstring has an ``Expect: <regex>`` line; a new example is tested the
moment it is added.
"""

import ast
import pathlib
import re
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).parent.parent / "examples"
SCRIPTS = sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


def expected_pattern(script: pathlib.Path) -> str:
    doc = ast.get_docstring(ast.parse(script.read_text())) or ""
    match = re.search(r"^Expect: (.+)$", doc, re.MULTILINE)
    assert match, f"{script.name}: its docstring needs an 'Expect: <regex>' line"
    return match.group(1)


def test_examples_exist_and_are_indexed():
    assert SCRIPTS
    index = (EXAMPLES / "README.md").read_text()
    missing = [p.name for p in SCRIPTS if p.name not in index]
    assert not missing, f"examples/README.md does not list {missing}"


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_example_runs_quick(script, tmp_path):
    pattern = expected_pattern(script)
    proc = subprocess.run(
        [sys.executable, str(script), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, (
        f"{script.name} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    )
    assert re.search(pattern, proc.stdout), (
        f"{script.name}: {pattern!r} not in output:\n{proc.stdout[-2000:]}"
    )
