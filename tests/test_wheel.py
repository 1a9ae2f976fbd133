"""The package as a user installs it: wheel and sdist, installed beside an older TensorFlow.

``python -m build`` makes both; ``twine check`` passes on them; the wheel holds only kfx and
the sdist the tests and docs. The wheel then goes into a copy of a venv that already holds
TensorFlow at kfx's floor and a pinned numpy (the oldest row of the matrix, .matrix/oldest,
minus kfx and what only kfx needs): pip must leave both as they were, and ``import kfx``,
``kfx --version``, ``kfx demo --quick`` and ``kfx inspect`` must work there. Last, a real
Keras 2 installed into that copy makes ``import kfx`` stop with the version message.

The venv is copied with hard links (seconds, nothing downloaded); building it once is the
matrix's job (``python tools/matrix.py oldest --build-only``). Marked ``matrix`` and skipped
unless ``KFX_WHEEL_BASE`` names that venv: ``make test-wheel`` sets it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import kfx

ROOT = Path(__file__).resolve().parent.parent
BASE = os.environ.get("KFX_WHEEL_BASE")
#: Distributions that only kfx brings into a TensorFlow project; removed from the copy, so
#: that pip has kfx's own dependencies to install and TensorFlow's to leave alone.
ONLY_KFX_NEEDS = ("kfx", "keras-tuner", "kt-legacy", "pydot", "libcst")
#: The distributions the user's project pinned: installing kfx must not change them.
PINNED = ("tensorflow-cpu", "numpy", "keras", "tensorboard", "ml-dtypes", "protobuf")

pytestmark = [
    pytest.mark.matrix,
    pytest.mark.skipif(
        not BASE, reason="set KFX_WHEEL_BASE to a venv with TensorFlow (make test-wheel)"
    ),
]


def _run(command, *, cwd=None, timeout=900, check=True, env=None):
    proc = subprocess.run(
        [str(c) for c in command],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})},
    )
    if check:
        assert proc.returncode == 0, f"{command}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """The sdist and the wheel, built the way an index upload would be: ``python -m build``."""
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", out, ROOT])
    (sdist,) = out.glob("kfx-*.tar.gz")
    (wheel,) = out.glob("kfx-*.whl")
    return sdist, wheel


def test_twine_check_passes(dist):
    proc = _run([sys.executable, "-m", "twine", "check", "--strict", *dist])
    assert proc.stdout.count("PASSED") == 2, proc.stdout


def test_wheel_holds_kfx_and_complete_metadata(dist):
    _, wheel = dist
    info = f"kfx-{kfx.__version__}.dist-info"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        meta = Parser().parsestr(archive.read(f"{info}/METADATA").decode())
    assert {name.split("/")[0] for name in names} == {"kfx", info}
    assert "kfx/_requirements.py" in names and f"{info}/licenses/LICENSE" in names
    assert not [name for name in names if name.startswith("kfx/") and "__pycache__" in name]
    assert meta["Version"] == kfx.__version__ and meta["License-Expression"] == "Apache-2.0"
    classifiers = meta.get_all("Classifier")
    for minor in (10, 11, 12, 13):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    assert {url.split(",")[0] for url in meta.get_all("Project-URL")} >= {"Homepage", "Source"}
    plain = [req for req in meta.get_all("Requires-Dist") if "extra ==" not in req]
    assert not [req for req in plain if req.startswith("tensorflow")], plain  # no TF pulled


def test_sdist_holds_tests_and_docs(dist):
    sdist, _ = dist
    top = f"kfx-{kfx.__version__}"
    with tarfile.open(sdist) as archive:
        names = set(archive.getnames())
    for path in (
        "pyproject.toml",
        "LICENSE",
        "README.md",
        "kfx/__init__.py",
        "tests/conftest.py",
        "tests/test_wheel.py",
        "docs/install.md",
        "mkdocs.yml",
        "constraints/oldest.txt",
        "tools/matrix.py",
    ):
        assert f"{top}/{path}" in names, path
    assert not [name for name in names if "__pycache__" in name or ".matrix" in name]


def _pip_list(python: Path) -> dict[str, str]:
    out = _run([python, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"])
    return {d["name"].lower().replace("_", "-"): d["version"] for d in json.loads(out.stdout)}


@pytest.fixture(scope="module")
def project():
    """A copy of the base venv (hard links) without kfx: an existing TensorFlow project."""
    base = Path(BASE).resolve()
    assert (base / "bin" / "python").exists(), f"KFX_WHEEL_BASE={BASE} is not a venv"
    where = Path(tempfile.mkdtemp(prefix="wheel-test-", dir=base.parent))
    venv = where / "venv"
    try:
        _run(["cp", "-al", base, venv])
    except AssertionError:  # another file system: a plain copy
        shutil.rmtree(venv, ignore_errors=True)
        _run(["cp", "-a", base, venv])
    python = venv / "bin" / "python"
    _run([python, "-m", "pip", "uninstall", "--yes", *ONLY_KFX_NEEDS])
    yield python, where
    shutil.rmtree(where, ignore_errors=True)


@pytest.fixture(scope="module")
def installed(project, dist):
    """The wheel installed (no extras) into `project`; the pip lists before and after."""
    python, where = project
    before = _pip_list(python)
    _run([python, "-m", "pip", "install", "--disable-pip-version-check", dist[1]])
    return python, where, before, _pip_list(python)


def test_install_keeps_tensorflow_and_numpy(installed):
    _, _, before, after = installed
    assert "tensorflow-cpu" in before and "numpy" in before
    assert {name: after.get(name) for name in PINNED} == {name: before[name] for name in PINNED}
    changed = {name for name in before if after.get(name) != before[name]}
    assert not changed, {name: (before[name], after.get(name)) for name in changed}
    assert set(after) - set(before) == set(ONLY_KFX_NEEDS)


def test_import_version_demo_and_inspect_work_there(installed):
    python, where, _, _ = installed
    bin_dir = python.parent
    out = _run([python, "-c", "import kfx; print(kfx.__version__); print(kfx.__file__)"], cwd=where)
    version, location = out.stdout.split()
    assert version == kfx.__version__
    assert Path(location).is_relative_to(bin_dir.parent)  # the wheel, not this checkout
    assert _run([bin_dir / "kfx", "--version"], cwd=where).stdout.strip() == f"kfx {version}"
    demo = where / "demo"
    _run([bin_dir / "kfx", "demo", "--quick", "--out", demo], cwd=where, timeout=1200)
    assert (demo / "model.keras").is_file()
    shown = _run([bin_dir / "kfx", "inspect", demo / "model.keras"], cwd=where).stdout
    assert "Total params" in shown or "params" in shown.lower(), shown


def test_import_stops_on_a_real_keras_2(installed):
    """Runs last in this module: it puts Keras 2.15 into the copy."""
    python, where, _, _ = installed
    _run([python, "-m", "pip", "install", "--quiet", "--no-deps", "keras==2.15.0"])
    proc = _run([python, "-c", "import kfx"], cwd=where, check=False)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last == (
        "kfx._requirements.IncompatibleVersionError: kfx needs Keras 3.10 or newer (Keras 3); "
        'found keras 2.15.0 (Keras 2). Upgrade it: pip install --upgrade "keras>=3.10"'
    )
