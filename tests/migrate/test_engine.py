"""The engine's pieces: the read-only walk, positions without PositionProvider, fixes that
rebuild only the paths to fixed nodes, and the import adder."""

from __future__ import annotations

import sys
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from kfx.migrate import _engine, fix_source
from kfx.migrate._positions import generate
from kfx.migrate._walk import preorder, visit

CASES = sorted((Path(__file__).parent / "cases").glob("*.txt"))
BENCHMARKS = Path(__file__).parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import _keras2_tree  # noqa: E402

#: What position tracking must get right: decorators (a function starts at its first one),
#: strings over several lines, continuation lines, \r\n and lone \r newlines, tabs, a
#: comment header, nested blocks, a file without a final newline.
TRICKY = (
    "# header\n\n@decorate(1)\n@other\ndef f(a,\n      b=2):\n"
    "\tif a:\n\t\treturn '''x\ny''' + \\\n\t\t\tb\n\treturn [i for i in b]\r\n"
    "class C(Base):\r    x = {1: (2,\r         3)}\r\n"
    "y = f(1)[0].g"
)


SOURCES = [TRICKY, _keras2_tree.script(3, 120), *(p.read_text() for p in CASES)]


@pytest.mark.parametrize("index", range(len(SOURCES)))
def test_generate_gives_the_code_and_position_providers_starts(index):
    module = cst.parse_module(SOURCES[index])
    nodes = list(preorder(module))
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    code, found = generate(module, nodes)
    assert code == module.code
    assert len(found) == len(nodes) > 20
    assert all(found[id(node)] == expected[node].start for node in nodes)


def test_walk_visits_in_libcst_order_with_leaves_and_pruning():
    module = cst.parse_module(_keras2_tree.script(0, 100) + TRICKY)

    class Order(cst.CSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.events = []

        def on_visit(self, node):
            self.events.append(("visit", node))
            return not isinstance(node, cst.Call)  # skip what is inside calls

        def on_leave(self, node):
            self.events.append(("leave", node))

    libcst_order, ours = Order(), Order()
    module.visit(libcst_order)
    visit(module, ours)
    assert len(ours.events) == len(libcst_order.events) > 1000
    assert all(
        a[0] == b[0] and a[1] is b[1] for a, b in zip(ours.events, libcst_order.events, strict=True)
    )
    assert [n for n in preorder(module)][:3] == [e[1] for e in libcst_order.events[:3]]


@pytest.mark.parametrize("case", [p for p in CASES if p.name.endswith("_before.py.txt")])
def test_fixes_without_readable_node_fields_are_the_same(case, monkeypatch):
    """A node class whose children fields cannot be read (no source) is rebuilt by a small
    transformer instead; the result is the same."""
    source = case.read_text()
    expected = fix_source(source)
    monkeypatch.setattr(_engine, "fields", lambda cls: None)
    assert fix_source(source) == expected


def test_fix_shares_the_statements_it_does_not_change():
    source = "import numpy as np\n\n\ndef f(x):\n    return np.sum(x)\n\n\nopt = Adam(lr=0.1)\n"
    module = cst.parse_module("from keras.optimizers import Adam\n" + source)
    new, findings, _ = _engine._one_pass(module, _all_rules(), fixing=True)
    assert [f.rule for f in findings] == ["K3101"] and findings[0].fixed
    assert new.body[2] is module.body[2]  # def f: untouched, not copied
    assert new.body[3] is not module.body[3]
    assert new.code.endswith("opt = Adam(learning_rate=0.1)\n")


def _all_rules():
    from kfx.migrate._registry import select_rules

    return select_rules()


def _libcst_add_imports(module: cst.Module, names: set[str]) -> cst.Module:
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import AddImportsVisitor

    context = CodemodContext()
    for name in sorted(names):
        AddImportsVisitor.add_needed_import(context, name)
    return AddImportsVisitor(context).transform_module(module)


@pytest.mark.parametrize(
    "source",
    [
        "x = 1\n",
        '"""Doc."""\nx = 1\n',
        "import os\n\n\nx = 1\n",
        "import os\nimport sys\n",  # imports only
        "# top\ndef f():\n    pass\n",  # a function first
        '"""Doc."""\nfrom __future__ import annotations\n# c\nimport os\n\nclass A:\n    pass\n',
        "",
        "import kfx\nimport os.path\nx = 1\n",  # kfx there already
        "def f():\n    import keras\n",  # not at the top: does not count
        "import keras as k\nfrom keras import layers\n\n# why\nx = 1\n",
        "__strict__ = True\nimport os\nx = 1\n",
        "x = 1; import keras\n",
    ],
)
def test_add_imports_is_libcsts_add_imports_visitor(source):
    """The same result as libcst's AddImportsVisitor over the whole module."""
    module = cst.parse_module(source)
    names = {"keras", "kfx"}
    assert _engine._add_imports(module, names).code == _libcst_add_imports(module, names).code


def test_generate_falls_back_to_position_provider(monkeypatch):
    from kfx.migrate import _positions

    module = cst.parse_module(TRICKY)
    nodes = list(preorder(module))
    tracked = generate(module, nodes)
    monkeypatch.setattr(_positions, "CodegenState", None)
    assert _positions.generate(module, nodes) == tracked
