"""docs/layers.md: every Python block of the guide runs, in order, in one namespace."""

import contextlib
import io
import re
from pathlib import Path

import keras
import pytest

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "layers.md"


def _blocks():
    return re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.S)


def test_guide_lists_every_layer():
    import kfx

    text = GUIDE.read_text()
    missing = [c.__name__ for c in kfx.layers.list_layers() if f"`{c.__name__}(" not in text]
    assert not missing, f"docs/layers.md does not describe {missing}"


def test_guide_examples_run():
    blocks = _blocks()
    assert len(blocks) >= 10
    namespace = {}
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        for number, code in enumerate(blocks, 1):
            try:
                exec(compile(code, f"{GUIDE.name}[block {number}]", "exec"), namespace)
            except Exception as error:  # report which block failed
                pytest.fail(f"block {number} of {GUIDE.name} failed: {error!r}\n{code}")
    # Each `print(...)  # (2, 8)...` comment states what the print shows; check them in order.
    printed, position = output.getvalue(), 0
    expected = [
        match.group(1)
        for code in blocks
        for match in re.finditer(r"^\s*print\(.*\)  # (\(.*?\)|\[.*\])", code, flags=re.M)
    ]
    assert len(expected) >= 8
    for value in expected:
        found = printed.find(value, position)
        assert found >= 0, f"the guide says {value!r}; printed:\n{printed[position:]}"
        position = found + len(value)
    assert printed.splitlines()[-1] == "True"  # the reload gives the same predictions
    keras.backend.clear_session()
