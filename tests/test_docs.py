"""The docs build with --strict, and every docstring Example in kfx runs."""

import doctest
import importlib
import pathlib
import pkgutil
import shutil
import subprocess
import sys

import pytest

import kfx

ROOT = pathlib.Path(__file__).parent.parent
MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(kfx.__path__, "kfx.")
    if not info.name.endswith(("__main__", ".cli")) and ".cli" not in info.name
)


@pytest.mark.slow
def test_mkdocs_builds_strict(tmp_path):
    site = tmp_path / "site"
    proc = subprocess.run(
        [str(pathlib.Path(sys.executable).parent / "mkdocs"), "build", "--strict", "-d", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    api = (site / "api" / "blocks" / "index.html").read_text()
    assert (
        "residual" in api and "The shortcut is the identity" in api
    )  # rendered from the docstrings
    assert (site / "img" / "residual_block.png").read_bytes().startswith(b"\x89PNG")


def test_figure_script_draws_the_block(tmp_path, monkeypatch):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz 'dot' is not installed")
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        make_figures = importlib.import_module("make_figures")
    finally:
        sys.path.pop(0)
    monkeypatch.setattr(make_figures, "IMG", tmp_path)
    # The trainings behind the figures, cut to the bone: the drawing code is what is tested.
    for setting, value in (("HISTOGRAM_EPOCHS", 1), ("SEARCH_TRIALS", 2), ("SEARCH_EPOCHS", 1)):
        monkeypatch.setattr(make_figures, setting, value)
    make_figures.main()
    expected = {"residual_block", "activation_histograms", "search_trials"}
    expected |= {f"template_{t}" for t in ("multi_io", "siamese", "ensemble", "autoencoder")}
    assert {p.stem for p in tmp_path.glob("*.png")} >= expected
    for path in tmp_path.glob("*.png"):
        assert path.read_bytes().startswith(b"\x89PNG"), path


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
    public = not any(part.startswith("_") for part in name.split("."))
    if public and not hasattr(module, "__path__"):  # every public module shows an example
        assert result.attempted > 0, f"{name} has no docstring Example"
