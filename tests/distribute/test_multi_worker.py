"""MultiWorkerMirroredStrategy: two real worker processes on 127.0.0.1 started by
kfx.distribute.launch, each bounded by a timeout and stopped by process group.

- two workers train, end with identical weights, match a single-process run with the same
  global batch and seed, and only the chief writes files;
- a worker killed with SIGKILL in the middle of an epoch makes the launcher stop the other;
  the same command then resumes from the last checkpoint, finishes, and the saved model loads
  and evaluates.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from kfx.distribute import launch

HERE = Path(__file__).resolve().parent
WORKER = HERE / "_train_worker.py"
EPOCHS = 3
#: Seconds any one launch may take (two interpreters importing TensorFlow on 2 cores).
LAUNCH_TIMEOUT = 180

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        keras.backend.backend() != "tensorflow",
        reason="tf.distribute needs the TensorFlow backend",
    ),
]
ENV = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
ENV.pop("TF_CONFIG", None)


def result(out: Path, index: int) -> dict:
    data = np.load(out / f"result-{index}.npz")
    weights = [
        data[k]
        for k in sorted((k for k in data.files if k.startswith("w")), key=lambda k: int(k[1:]))
    ]
    return {
        "weights": weights,
        "history": json.loads(str(data["history"])),
        "epochs": json.loads(str(data["epochs_run"])),
    }


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_two_workers_match_one_process_and_only_the_chief_writes(tmp_path):
    out, logs, ckpt = tmp_path / "out", tmp_path / "chief-logs", tmp_path / "ckpt"
    logs.mkdir()
    command = [sys.executable, str(WORKER), str(out), "--epochs", str(EPOCHS)]
    command += ["--ckpt", str(ckpt), "--logs", str(logs)]
    status = launch(
        2, command, log_dir=tmp_path / "worker-logs", timeout=LAUNCH_TIMEOUT, env=ENV, quiet=True
    )
    worker_logs = "\n".join(p.read_text() for p in sorted((tmp_path / "worker-logs").glob("*.log")))
    assert status == 0, worker_logs[-4000:]
    chief, other = result(out, 0), result(out, 1)

    loss = chief["history"]["loss"]
    assert len(loss) == EPOCHS and loss[-1] < loss[0] * 0.8
    assert chief["history"] == other["history"]  # global metrics, reduced over both workers
    for a, b in zip(chief["weights"], other["weights"], strict=True):
        np.testing.assert_array_equal(a, b)

    alone = tmp_path / "alone"
    proc = subprocess.run(
        [sys.executable, str(WORKER), str(alone), "--epochs", str(EPOCHS)],
        capture_output=True,
        text=True,
        timeout=LAUNCH_TIMEOUT,
        env=ENV,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    single = result(alone, 0)
    for a, b in zip(chief["weights"], single["weights"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(loss, single["history"]["loss"], rtol=1e-4)

    # Chief-only side effects: CSV log, ModelCheckpoint and tf.train checkpoints, once each.
    assert files_under(logs) == ["best.keras", "log.csv"]
    assert len((logs / "log.csv").read_text().strip().splitlines()) == EPOCHS + 1
    ckpt_files = files_under(ckpt)
    assert "checkpoint" in ckpt_files
    assert not [f for f in ckpt_files if "worker" in f or "/" in f]
    # Only the chief prints progress.
    assert "Epoch 1/" in (tmp_path / "worker-logs" / "worker0.log").read_text()
    assert "Epoch 1/" not in (tmp_path / "worker-logs" / "worker1.log").read_text()


def test_sigkill_mid_epoch_then_rerun_resumes_from_last_checkpoint(tmp_path):
    out, ckpt, model_path = tmp_path / "out", tmp_path / "ckpt", tmp_path / "model.keras"
    epochs = 4
    base = [sys.executable, str(WORKER), str(out), "--epochs", str(epochs), "--ckpt", str(ckpt)]
    log_dir = tmp_path / "worker-logs"
    first: dict = {}

    def run_first():
        first["status"] = launch(
            2,
            [*base, "--slow", "0.2"],
            log_dir=log_dir,
            timeout=LAUNCH_TIMEOUT,
            env=ENV,
            quiet=True,
        )

    thread = threading.Thread(target=run_first)
    thread.start()
    progress = out / "progress-1.txt"
    deadline = time.monotonic() + LAUNCH_TIMEOUT
    victim = None
    while time.monotonic() < deadline and thread.is_alive():
        try:
            pid, epoch, step = (int(v) for v in progress.read_text().split())
        except (OSError, ValueError):
            pid = epoch = step = -1
        if epoch >= 1 and 2 <= step <= 5:  # in the middle of the second epoch (8 steps)
            victim = pid
            os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    thread.join(timeout=LAUNCH_TIMEOUT)
    assert victim is not None and not thread.is_alive()
    assert first["status"] == 128 + signal.SIGKILL  # the launcher reports the killed worker
    chief_pid = int((out / "progress-0.txt").read_text().split()[0])
    with pytest.raises(ProcessLookupError):  # the launcher stopped (and reaped) the chief
        os.kill(chief_pid, 0)
    assert not (out / "result-0.npz").exists()
    done = int((ckpt / "checkpoint").read_text().split('"')[1].split("-")[-1])
    assert 1 <= done < epochs

    status = launch(
        2,
        [*base, "--save", str(model_path)],
        log_dir=log_dir,
        timeout=LAUNCH_TIMEOUT,
        env=ENV,
        quiet=True,
    )
    assert status == 0, (log_dir / "worker0.log").read_text()[-4000:]
    chief, other = result(out, 0), result(out, 1)
    assert chief["epochs"] == list(range(done, epochs))  # resumed, not from epoch 0
    for a, b in zip(chief["weights"], other["weights"], strict=True):
        np.testing.assert_array_equal(a, b)

    model = keras.saving.load_model(model_path)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 6)).astype("float32")
    loss, mae = model.evaluate(x, np.zeros((128, 1), "float32"), verbose=0)
    assert np.isfinite([loss, mae]).all()
    for a, b in zip(model.get_weights(), chief["weights"], strict=True):
        np.testing.assert_array_equal(a, b)
