"""Shared fixtures. The backend comes from KERAS_BACKEND (TensorFlow unless set)."""

from __future__ import annotations

import functools
import gc
import importlib.util
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402

BACKEND = keras.backend.backend()

#: Prepended to a fresh interpreter's code to make ``import kfx`` fail there, as on a
#: machine where kfx is not installed.
BLOCK_KFX = "import sys; sys.modules['kfx'] = None\n"


def run_fresh_python(
    code: str, *, without_kfx: bool = False, timeout: float = 300, env=None
) -> str:
    """Run `code` in a new interpreter (same backend); fail the test on a non-zero exit."""
    source = (BLOCK_KFX if without_kfx else "") + textwrap.dedent(code)
    full_env = {**os.environ, "KERAS_BACKEND": BACKEND, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-c", source],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )
    assert proc.returncode == 0, f"fresh process failed:\n{proc.stdout}\n{proc.stderr[-4000:]}"
    return proc.stdout


@pytest.fixture
def fresh_python():
    """``fresh_python(code, without_kfx=False) -> stdout`` in a new interpreter."""
    return run_fresh_python


@pytest.fixture(params=["channels_last", "channels_first"])
def data_format(request):
    """Run a test under both image data formats, restoring the global setting after."""
    previous = keras.config.image_data_format()
    keras.config.set_image_data_format(request.param)
    yield request.param
    keras.config.set_image_data_format(previous)


@pytest.fixture(scope="module", autouse=True)
def _freeze_import_time_objects():
    """Keep import-time objects out of the full gc.collect() that clear_session() ends with.

    That walk over everything TensorFlow/JAX created at import costs ~0.4 s per test; objects
    alive when a module starts are frozen for its duration, what tests create is still
    collected.
    """
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.fixture(autouse=True)
def _fresh_keras_session():
    yield
    keras.backend.clear_session()


def _image_input(spatial: tuple[int, ...], channels: int, name: str | None = None):
    """``keras.Input`` of `spatial` dims and `channels`, laid out per the current data format."""
    if keras.config.image_data_format() == "channels_first":
        return keras.Input((channels, *spatial), name=name)
    return keras.Input((*spatial, channels), name=name)


def _split_shape(tensor) -> tuple[tuple, int]:
    """``(spatial dims, channels)`` of a tensor under the current data format."""
    shape = tuple(tensor.shape)[1:]
    if keras.config.image_data_format() == "channels_first":
        return shape[1:], shape[0]
    return shape[:-1], shape[-1]


#: Spatial dims used for the rank-3/4/5 (1D/2D/3D) block tests.
SPATIAL = {1: (16,), 2: (8, 8), 3: (4, 4, 4)}


@pytest.fixture
def make_input():
    """``make_input(spatial, channels, name=None)``: an input in the current data format."""
    return _image_input


@pytest.fixture
def split_shape():
    """``split_shape(tensor) -> (spatial, channels)`` under the current data format."""
    return _split_shape


@pytest.fixture(params=sorted(SPATIAL), ids=lambda r: f"{r}d")
def spatial(request):
    """Spatial dims for 1D, 2D and 3D (inputs of rank 3, 4 and 5)."""
    return SPATIAL[request.param]


@functools.cache
def _load_helper(name: str):
    """The helper module tests/_<name>.py (tests are not a package under importlib mode)."""
    spec = importlib.util.spec_from_file_location(
        f"_kfx_test_{name}", Path(__file__).with_name(f"_{name}.py")
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def slurm(tmp_path_factory):
    """A real single-node SLURM cluster (tests/_slurm.py) for this test process, stopped at
    the end; skips with the reason where it cannot start (not root, no apt-get)."""
    module = _load_helper("slurm")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    offset = int(worker[2:]) if worker[2:].isdigit() else 0
    try:
        cluster = module.start(
            tmp_path_factory.mktemp("slurm"),
            resv_ports=module.RESV_PORTS_START + offset * module.RESV_PORTS_COUNT,
        )
    except module.Unavailable as err:
        pytest.skip(f"no SLURM cluster here: {err}")
    yield cluster
    cluster.stop()


@pytest.fixture
def tensorboard_server(tmp_path):
    """``start(logdir) -> Server`` (tests/_tensorboard.py): a real TensorBoard on 127.0.0.1,
    ready to answer; every server started is stopped by its PID after the test."""
    module = _load_helper("tensorboard")
    servers = []

    def start(logdir):
        server = module.start(logdir, tmp_path / f"tensorboard{len(servers)}.log", tmp_path)
        servers.append(server)
        server.wait_until_ready()
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def browser():
    """A headless Chromium (tests/_browser.py), quit after the test; skips with the reason
    where Chromium, chromedriver or selenium is missing."""
    module = _load_helper("browser")
    try:
        module.find_programs()
    except module.Unavailable as err:
        pytest.skip(f"no headless Chromium here: {err}")
    with module.open_browser() as opened:
        yield opened


@pytest.fixture
def doc_blocks():
    """``doc_blocks("distributed.md", "yaml")``: the fenced code blocks of a docs page in a
    language, in order, so tests run what the docs show."""

    def blocks(page: str, language: str) -> list[str]:
        text = (Path(__file__).parent.parent / "docs" / page).read_text()
        return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.M | re.S)

    return blocks
