"""benchmarks/migrate.py's pieces: the generated tree, program extraction, the dataset shim,
and the read-only walk that the engine's speed rests on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import _keras2_tree  # noqa: E402
import migrate as bench  # noqa: E402

TUTORIAL = """# A tutorial

```python
import numpy as np
from keras.models import Sequential
from keras.layers import Dense
x = np.ones((8, 4))
```

Some text.

```python
model = Sequential([Dense(1, input_shape=(4,))])
model.compile("sgd", "mse")
model.fit(x, x[:, :1], nb_epoch=3)
```

```python
model.fit(data, labels)  # placeholder data: not a program
```

In [3]:
import keras
m = keras.Sequential([keras.layers.Dense(1)])
m.compile("sgd", "mse")

m.fit(keras.ops.ones((4, 2)), keras.ops.ones((4, 1)))

Epoch 1/1
<keras.callbacks.History at 0x1>
"""


def test_extraction_finds_fenced_blocks_and_notebook_cells(tmp_path):
    (tmp_path / "t.md").write_text(TUTORIAL)
    blocks = bench.extract_blocks(TUTORIAL)
    assert [line for line, _ in blocks] == [4, 13, 19, 23]
    assert blocks[-1][1].rstrip().endswith("keras.ops.ones((4, 1)))")  # output cut off
    found = bench.programs(tmp_path)
    assert [p["line"] for p in found] == [13, 23]  # the placeholder block is not complete
    assert found[0]["code"].startswith("import numpy")  # with the blocks before it


def test_generated_tree_has_findings_and_plain_files(tmp_path):
    from kfx.migrate import check

    lines = _keras2_tree.write_tree(tmp_path, files=10, lines=1000)
    assert 900 < lines <= 1000
    findings = check([tmp_path])
    with_findings = {f.path for f in findings}
    assert len(with_findings) == 9  # every Keras file; the NumPy one has none
    assert {f.rule for f in findings} >= {"K3001", "K3101", "K3104", "K3201", "K3301"}


@pytest.mark.slow
def test_shim_runs_a_tutorial_offline_and_short(tmp_path):
    program = tmp_path / "p.py"
    program.write_text(
        "import keras\n"
        "(x, y), (xt, yt) = keras.datasets.mnist.load_data()\n"
        "print('shapes', x.shape, y.shape, x.dtype)\n"
        "m = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), "
        "keras.layers.Dense(10)])\n"
        "m.compile('sgd', keras.losses.SparseCategoricalCrossentropy(from_logits=True))\n"
        "h = m.fit(x, y, epochs=500, batch_size=8, verbose=0)\n"
        "print('epochs', len(h.history['loss']))\n"
    )
    result = bench.run_program(program, timeout=120)
    assert result["status"] == "ok", result
    out = subprocess.run(
        [sys.executable, str(bench.SHIM), str(program)], capture_output=True, text=True
    ).stdout
    assert "shapes (60000, 28, 28) (60000,) uint8" in out and "epochs 1" in out


def test_shim_reports_the_error_line(tmp_path):
    program = tmp_path / "p.py"
    program.write_text("raise ValueError('boom')\n")
    result = bench.run_program(program, timeout=120)
    assert result["status"] == "error" and result["error"] == "ValueError: boom"


def test_preamble_adds_the_usual_imports_after_future_imports():
    code = '"""Doc."""\nfrom __future__ import print_function\nx = np.ones(2)\nm = keras.Model\n'
    assert bench.with_preamble(code) == (
        '"""Doc."""\nfrom __future__ import print_function\nimport numpy as np\n'
        "from tensorflow import keras\nx = np.ones(2)\nm = keras.Model\n"
    )
    assert bench.complete(bench.with_preamble("m = keras.Sequential()\nm.fit(np.ones(2))\n"))
    assert not bench.complete(bench.with_preamble("m = keras.Sequential()\nm.fit(data)\n"))


@pytest.mark.slow
def test_shim_runs_keras2_as_the_baseline(tmp_path):
    """--keras2: `keras` is tf-keras (Keras 2), where `Adam(lr=)` still works; Keras 3
    rejects it."""
    program = tmp_path / "p.py"
    program.write_text(
        "import keras\nfrom keras.layers import Dense\nprint('keras', keras.__version__)\n"
        "m = keras.Sequential([Dense(1, input_shape=(4,))])\n"
        "m.compile(keras.optimizers.Adam(lr=0.1), 'mse')\n"
    )
    assert bench.run_program(program, timeout=120, keras2=True)["status"] == "ok"
    keras3 = bench.run_program(program, timeout=120)
    assert keras3["status"] == "error" and "lr" in keras3["error"]
