"""MirroredStrategy over two logical CPUs: kfx networks, every kfx layer and a multi-output
template train under kfx.distribute.fit with replicas in sync; bad input fails at the start.

Logical devices must be configured before TensorFlow initializes its devices, which the
pytest process (shared by other tests) has long done: one fresh interpreter runs every
check (``_mirrored_checks.py``) and the tests read its JSON results.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from kfx import layers

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="tf.distribute needs the TensorFlow backend"
)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("mirrored") / "results.json"
    proc = subprocess.run(
        [sys.executable, str(HERE / "_mirrored_checks.py"), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(out.read_text())


def check_trained_in_sync(result: dict) -> None:
    assert result["error"] is None, result["error"]
    losses = [v for k, v in result["history"].items() if k.endswith("loss")]
    assert losses and np.isfinite(losses).all()
    assert result["trained"], "some trainable weight did not move"
    assert result["spread"] == 0.0, f"replicas differ by {result['spread']}"


def test_two_replicas(results):
    assert results["replicas"] == 2


def test_every_kfx_layer_trains_in_sync(results):
    assert results["layer_classes"] == [cls.__name__ for cls in layers.list_layers()]
    covered = {case_id.split("-")[0] for case_id in results["layers"]}
    assert covered == set(results["layer_classes"])
    for case_id, result in results["layers"].items():
        assert result["error"] is None, f"{case_id}: {result['error']}"
        check_trained_in_sync(result)


def test_resnet_with_batchnorm_trains_in_sync(results):
    result = results["resnet"]
    check_trained_in_sync(result)  # moving statistics averaged at each epoch end
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(result["history"])


def test_multi_io_template_trains_with_per_output_logs(results):
    result = results["multi_io"]
    check_trained_in_sync(result)
    assert {"loss", "kind_loss", "score_loss", "kind_sparse_categorical_accuracy"} <= set(
        result["history"]
    )
    assert result["history"]["loss"][-1] < result["history"]["loss"][0]


def test_two_replicas_match_one_device(results):
    result = results["against_one_device"]
    assert result["error"] is None, result["error"]
    for a, b in zip(result["mirrored"]["weights"], result["one"]["weights"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for key, values in result["one"]["history"].items():
        np.testing.assert_allclose(result["mirrored"]["history"][key], values, rtol=1e-5)


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("uncompiled", ["not compiled", "'sequential"]),
        ("odd_dataset", ["global batch size 5", "`x`", "2 replicas"]),
        ("odd_batch_size", ["global batch size 7", "`x`"]),
        ("odd_validation", ["global batch size 5", "`validation_data`"]),
        ("callback", ["BackupAndRestore", "checkpoint_dir"]),
        ("outside_scope", ["not created under this", "strategy.scope()"]),
    ],
)
def test_bad_input_is_a_value_error_naming_strategy_and_component(results, case, words):
    message = results["errors"][case]
    assert message.startswith("kfx.distribute.fit:"), message
    assert "MirroredStrategy" in message, message
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("trainer", ["kfx_fit", "keras_fit"])
def test_loggers_write_once_per_epoch_under_two_replicas(results, trainer):
    result = results["loggers"]
    assert result["error"] is None, result["error"]
    logged = result[trainer]
    assert logged["npz"] == ["activations_epoch_0001.npz", "activations_epoch_0002.npz"]
    assert logged["activation_events"] == 2 and logged["gradient_events"] == 2
    assert np.isfinite(logged["gradient_norm"]) and logged["gradient_norm"] > 0
