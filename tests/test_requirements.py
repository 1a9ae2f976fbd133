"""kfx._requirements: ``import kfx`` stops on Keras 2 or below the floors, with one message."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib import metadata

import pytest

from kfx import _requirements as r

FINE = {
    "keras": "3.10.0",
    "tensorflow-cpu": "2.16.2",
    "keras-tuner": "1.4.6",
    "tensorboard": "2.16.2",
}


@pytest.mark.parametrize(
    "versions, expected",
    [
        (
            {**FINE, "keras": "2.15.0"},
            "kfx needs Keras 3.10 or newer (Keras 3); found keras 2.15.0 (Keras 2). Upgrade it: "
            'pip install --upgrade "keras>=3.10"',
        ),
        (
            {**FINE, "keras": "3.9.2"},
            "kfx needs Keras 3.10 or newer (Keras 3); found keras 3.9.2 (Keras before 3.10 "
            "counts metrics wrongly under tf.distribute with more than one replica, and before "
            "3.7 fails to reload models that reuse a shared layer). Upgrade it: "
            'pip install --upgrade "keras>=3.10"',
        ),
        (
            {**FINE, "tensorflow-cpu": "2.15.1"},
            "kfx needs TensorFlow 2.16 or newer; found tensorflow-cpu 2.15.1 (TensorFlow below "
            "2.16 pins Keras 2 (its tf.keras is Keras 2)). Upgrade it: "
            'pip install --upgrade "tensorflow-cpu>=2.16"',
        ),
        (
            {**FINE, "keras-tuner": "1.4.5"},
            "kfx needs keras-tuner 1.4.6 or newer; found keras-tuner 1.4.5 (keras-tuner below "
            "1.4.6 is built on keras-core, not Keras 3). Upgrade it: "
            'pip install --upgrade "keras-tuner>=1.4.6"',
        ),
        (
            {**FINE, "tensorboard": "2.16.1"},
            "kfx needs TensorBoard 2.16.2 or newer; found tensorboard 2.16.1 (TensorBoard 2.16.0 "
            "and 2.16.1 require tf-keras (Keras 2)). Upgrade it: "
            'pip install --upgrade "tensorboard>=2.16.2"',
        ),
        (
            {"tensorflow": "2.16.1"},
            'kfx needs Keras 3.10 or newer, which is not installed: pip install --upgrade "keras>=3.10"',
        ),
    ],
)
def test_message_names_found_needed_and_the_pip_command(versions, expected):
    assert r.problem(versions) == expected


def test_check_raises_an_import_error_with_the_message():
    versions = {**FINE, "keras": "2.15.0"}
    with pytest.raises(r.IncompatibleVersionError, match=re.escape(r.problem(versions))):
        r.check(lambda: versions, environ={})
    assert issubclass(r.IncompatibleVersionError, ImportError)


def test_check_reads_an_importable_keras_without_metadata():
    """Keras from a source checkout has no metadata: its ``__version__`` is checked instead."""
    r.check(lambda: {"tensorflow-cpu": "2.16.2"}, environ={})  # this process's Keras 3


def test_floors_and_newer_pass():
    assert r.problem(FINE) is None
    assert r.problem({"keras": "3.15.1"}) is None  # TensorFlow, keras-tuner, TensorBoard: optional
    nightly = {"keras-nightly": "3.16.0.dev2026010103", "tf-nightly": "2.22.0.dev20260227"}
    assert r.problem(nightly) is None
    assert r.problem({**FINE, "keras": "3.12.0"}) is None  # 3.12 > 3.10 (not a string compare)
    r.check(lambda: FINE, environ={})


def test_legacy_keras_variable_is_refused():
    message = r.problem(FINE, {"TF_USE_LEGACY_KERAS": "1"})
    assert message.startswith("kfx needs Keras 3; TF_USE_LEGACY_KERAS=1 makes tf.keras the Keras 2")
    assert r.problem(FINE, {"TF_USE_LEGACY_KERAS": "0"}) is None


def test_parse():
    assert r.parse("2.16.0rc1") == (2, 16, 0)
    assert r.parse("1.4.6") > r.parse("1.4.5") and r.parse("3.5") == (3, 5)
    assert r.parse("unknown") == ()


def _floor(requirements: list[str], distribution: str) -> tuple[int, ...]:
    for requirement in requirements:
        match = re.fullmatch(
            rf"{re.escape(distribution)}(\[[^\]]*\])?\s*>=\s*([\d.]+)(\s*;.*)?", requirement.strip()
        )
        if match:
            return r.parse(match.group(2))
    raise AssertionError(f"no floor for {distribution} in {requirements}")


def test_floors_equal_pyproject():
    requirements = metadata.requires("kfx")  # pyproject.toml's, as installed
    for requirement in r.REQUIREMENTS:
        name = "tensorflow" if requirement.label == "TensorFlow" else requirement.distributions[0]
        assert _floor(requirements, name) == requirement.minimum, requirement.label
    assert _floor(requirements, "tensorflow-cpu") == r.REQUIREMENTS[1].minimum


def _fake_distribution(root, name: str, version: str) -> None:
    """An installed distribution's metadata only, as pip leaves it (no code)."""
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


@pytest.mark.parametrize(
    "name, version, needed",
    [
        ("keras", "2.15.0", 'pip install --upgrade "keras>=3.10"'),
        ("tensorflow-cpu", "2.15.1", 'pip install --upgrade "tensorflow-cpu>=2.16"'),
    ],
)
def test_import_stops_before_keras_is_imported(tmp_path, name, version, needed):
    """A fresh ``import kfx`` where an old version shadows the installed one on sys.path."""
    _fake_distribution(tmp_path, name, version)
    code = (
        "import sys\n"
        "try:\n    import kfx\nexcept ImportError as e:\n"
        "    print(type(e).__name__, isinstance(e, ImportError)); print(e)\n"
        "print('keras' in sys.modules, 'tensorflow' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 0, proc.stderr
    kind, message, imported = proc.stdout.strip().splitlines()
    assert kind == "IncompatibleVersionError True"
    assert f"found {name} {version}" in message and message.endswith(needed)
    assert imported == "False False"
