"""Every registered rule against its fixtures in cases/ (K3NNN_before.py.txt / _after.py.txt).

The fixtures are plain text (``.py.txt``): pytest never collects or imports them, ruff never
lints them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kfx.migrate import check_source, fix_source, list_rules

CASES = Path(__file__).parent / "cases"
RULES = list_rules()


def _case(rule_id: str, which: str) -> str:
    return (CASES / f"{rule_id}_{which}.py.txt").read_text()


def test_registry_has_the_families_and_unique_ids():
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids)) >= 15
    assert {r.family for r in RULES} >= {"imports", "arguments", "methods"}
    for rule in RULES:
        assert rule.id.startswith("K3") and len(rule.id) == 5, rule.id
        assert rule.summary and "|" not in rule.summary, rule.id
        assert len(rule.docs) > 80, f"{rule.id} needs a docs paragraph"
        assert rule.nodes, rule.id


def test_every_case_file_belongs_to_a_rule():
    ids = {r.id for r in RULES}
    stray = {p.name.split("_")[0] for p in CASES.glob("*.py.txt")} - ids
    assert not stray, stray


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_findings_on_before_carry_the_rule(rule):
    findings = check_source(_case(rule.id, "before"), select=[rule.id])
    assert findings and {f.rule for f in findings} == {rule.id}
    assert all(f.line >= 1 and f.col >= 1 and f.message and f.fix for f in findings)
    if not rule.fixable:
        assert not any(f.fixable for f in findings)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_fix_gives_after_which_compiles_and_is_stable(rule):
    before, after = _case(rule.id, "before"), _case(rule.id, "after")
    fixed, findings = fix_source(before, select=[rule.id])
    assert fixed == after
    compile(after, f"{rule.id}_after.py", "exec")
    assert fix_source(after, select=[rule.id])[0] == after  # a second --fix changes nothing
    assert fix_source(fixed)[0] == fix_source(fix_source(fixed)[0])[0]  # all rules: stable too
    left = check_source(after, select=[rule.id])
    assert not any(f.fixable for f in left), [f.text() for f in left]
    if rule.fixable:
        assert any(f.fixed for f in findings) and fixed != before
    else:
        assert fixed == before


def test_fixes_keep_comments_and_formatting():
    source = "import keras\n\nopt = keras.optimizers.Adam(  # tuned\n    lr = 3e-4,\n)\n"
    assert fix_source(source)[0] == (
        "import keras\n\nopt = keras.optimizers.Adam(  # tuned\n    learning_rate = 3e-4,\n)\n"
    )


def test_call_rules_ignore_modules_without_keras():
    source = "import numpy as np\nnp.save('out')\nopt = Adam(lr=1)\nprint(a.output_shape)\n"
    assert check_source(source) == []


def test_chained_fixes_converge_in_one_run():
    source = "from tensorflow.python.keras.layers.core import Dense\n"
    fixed, findings = fix_source(source)
    assert fixed == "from keras.layers import Dense\n"
    assert sorted(f.rule for f in findings) == ["K3002", "K3007"]


def test_a_fix_that_would_not_compile_is_refused(monkeypatch):
    import libcst as cst

    from kfx.migrate import _registry

    rule = next(r for r in RULES if r.id == "K3101")
    broken = lambda node, context: node.with_changes(func=cst.Name("lambda"))  # noqa: E731
    monkeypatch.setitem(
        _registry._RULES, "K3101", _registry.dataclasses.replace(rule, fixer=broken)
    )
    source = "import keras\nopt = keras.optimizers.Adam(lr=1)\n"
    fixed, findings = fix_source(source, select=["K3101"])
    assert fixed == source
    assert findings[0].rule == "K3000" and "would not compile" in findings[0].message


def test_tensorflow_ops_outside_model_code_are_not_reported():
    source = (
        "import tensorflow as tf\n"
        "import numpy as np\n"
        "x = tf.constant(np.ones((2, 3)))\n"
        "y = tf.concat([x, x], axis=0)\n"
        "def loss(y_true, y_pred):\n"
        "    return tf.reduce_mean(tf.square(y_true - y_pred))\n"
        "class Block(tf.keras.layers.Layer):\n"
        "    def call(self, inputs):\n"
        "        return tf.nn.relu(self.dense(inputs))\n"
    )
    assert [f.text() for f in check_source(source, select=["K35"])] == []


def test_a_keras_tensor_reaches_through_functions_and_model_outputs():
    source = (
        "import tensorflow as tf\n"
        "base = tf.keras.applications.ResNet50(weights=None)\n"
        "pooled = tf.reduce_mean(base.output, axis=[1, 2], name='gap')\n"
        "def block(x):\n"
        "    y = tf.keras.layers.Conv2D(8, 3)(x)\n"
        "    return tf.nn.relu(y)\n"
    )
    found = check_source(source, select=["K3501"])
    assert sorted((f.line, f.fixable) for f in found) == [(3, False), (6, True)]
    fixed = fix_source(source, select=["K3501"])[0]
    assert "keras.ops.relu(y)" in fixed and "tf.reduce_mean(base.output" in fixed


def test_every_addons_equivalent_exists():
    import importlib

    from kfx.migrate._addons import ADDONS

    for short, equivalent in ADDONS.items():
        module, _, name = equivalent.target.rpartition(".")
        assert hasattr(importlib.import_module(module), name), (short, equivalent.target)
