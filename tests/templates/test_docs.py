"""The docstring examples of kfx.templates and the code in docs/templates.md run."""

import doctest
import importlib
import pathlib
import re

import pytest

import kfx.templates  # noqa: F401 - loads every template module

MODULES = [
    "kfx.templates",
    "kfx.templates.heads",
    "kfx.templates.multi_io",
    "kfx.templates.siamese",
    "kfx.templates.ensemble",
    "kfx.templates.autoencoder",
    "kfx.templates.features",
    "kfx.templates.video",
    "kfx.templates._graphs",
    "kfx.templates._listing",
    "kfx.templates._vectors",
]
GUIDE = pathlib.Path(__file__).parents[2] / "docs" / "templates.md"


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0


def _blocks():
    return re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.S)


def test_every_template_has_a_section():
    text = GUIDE.read_text()
    for name in kfx.templates.__all__:
        assert name in text, name
    assert len(_blocks()) >= 7  # one example per template, and kfx.nodes


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_guide_examples_run(index):
    exec(compile(_blocks()[index], f"{GUIDE.name}[{index}]", "exec"), {})
