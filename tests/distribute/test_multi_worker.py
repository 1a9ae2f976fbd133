"""MultiWorkerMirroredStrategy: two real worker processes on 127.0.0.1 started by
kfx.distribute.launch, each bounded by a timeout and stopped by process group.

- two workers train, end with identical weights, match a single-process run with the same
  global batch and seed, and only the chief writes files;
- a worker killed with SIGKILL in the middle of an epoch makes the launcher stop the other;
  the same command then resumes from the last checkpoint, finishes, and the saved model loads
  and evaluates;
- a TFJob-shaped cluster (one chief, one worker, one evaluator in TF_CONFIG): the chief and
  the worker train, the evaluator evaluates the chief's checkpoints without joining them,
  and only the chief writes;
- on a real single-node SLURM cluster (the `slurm` fixture, tests/_slurm.py), `srun -n 2
  python train.py` with no TF_CONFIG: the tasks find their cluster themselves, train as two
  replicas equal to one process, and only task 0 writes; the same step with one task
  SIGKILLed mid-epoch ends, and rerunning it resumes from the last epoch checkpoint.
"""

from __future__ import annotations

import doctest
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import pytest

from kfx.distribute import launch, launcher
from kfx.distribute.clusters import _expand_nodelist

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


def result(out: Path, index) -> dict:
    data = np.load(out / f"result-{index}.npz")
    weights = [
        data[k]
        for k in sorted((k for k in data.files if k.startswith("w")), key=lambda k: int(k[1:]))
    ]
    return {
        "weights": weights,
        "history": json.loads(str(data["history"])),
        "epochs": json.loads(str(data["epochs_run"])),
        "replicas": int(data["replicas"]),
        "kind": str(data["kind"]),
    }


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def single_process(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "alone"
    done = subprocess.run(
        [sys.executable, str(WORKER), str(out), *args],
        capture_output=True,
        text=True,
        timeout=LAUNCH_TIMEOUT,
        env=ENV,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return result(out, 0)


def kill_mid_second_epoch(progress: Path, running: Callable[[], bool]) -> int | None:
    """SIGKILL the process that writes `progress` once it is in the middle of epoch 2, while
    `running()`; its PID, or None when that moment never came."""
    deadline = time.monotonic() + LAUNCH_TIMEOUT
    while time.monotonic() < deadline and running():
        try:
            pid, epoch, batch = (int(v) for v in progress.read_text().split())
        except (OSError, ValueError):
            pid = epoch = batch = -1
        if epoch >= 1 and 2 <= batch <= 5:  # 8 batches an epoch
            os.kill(pid, signal.SIGKILL)
            return pid
        time.sleep(0.05)
    return None


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

    single = single_process(tmp_path, "--epochs", str(EPOCHS))
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
    victim = kill_mid_second_epoch(out / "progress-1.txt", thread.is_alive)
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


def test_tfjob_chief_worker_and_evaluator(tmp_path):
    out, logs, ckpt = tmp_path / "out", tmp_path / "logs", tmp_path / "ckpt"
    logs.mkdir()
    chief, worker, evaluator = (f"127.0.0.1:{port}" for port in launcher.free_ports(3))
    spec = {"chief": [chief], "worker": [worker], "evaluator": [evaluator]}
    args = ["--epochs", str(EPOCHS), "--ckpt", str(ckpt), "--logs", str(logs), "--validate"]
    procs = {}
    try:
        for task in ("chief", "worker", "evaluator"):
            config = json.dumps({"cluster": spec, "task": {"type": task, "index": 0}})
            procs[task] = subprocess.Popen(
                [sys.executable, str(WORKER), str(out), *args],
                env={**ENV, "TF_CONFIG": config},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        outputs = {
            task: proc.communicate(timeout=LAUNCH_TIMEOUT)[0] for task, proc in procs.items()
        }
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
    for task, proc in procs.items():
        assert proc.returncode == 0, f"{task}:\n{outputs[task][-3000:]}"
    trained, other, judge = result(out, "chief0"), result(out, 0), result(out, "evaluator0")
    assert trained["replicas"] == other["replicas"] == 2  # the chief and the worker
    assert judge["replicas"] == 1  # the evaluator did not join the collective
    for a, b in zip(trained["weights"], other["weights"], strict=True):
        np.testing.assert_array_equal(a, b)
    # The evaluator evaluated the chief's last checkpoint: the chief's own final val_loss.
    assert "loss" not in judge["history"] and judge["epochs"][-1] == EPOCHS - 1
    np.testing.assert_allclose(
        judge["history"]["val_loss"][-1], trained["history"]["val_loss"][-1], rtol=1e-4
    )
    for a, b in zip(judge["weights"], trained["weights"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert files_under(logs) == ["best.keras", "log.csv"]  # the chief's, once
    assert "Epoch 1/" in outputs["chief"] and "Epoch 1/" not in outputs["worker"]


# --- SLURM -----------------------------------------------------------------------------


def test_scontrol_expands_node_lists_as_kfx_reads_them(slurm):
    for nodelist in ("vm", "n[01-03,07],gpu1", "r[1-2]n[8-10],b"):
        done = slurm.run("scontrol", "show", "hostnames", nodelist, timeout=30)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == _expand_nodelist(nodelist)


def test_srun_two_tasks_match_one_process_and_only_task_zero_writes(slurm, tmp_path):
    out, logs, ckpt = tmp_path / "out", tmp_path / "logs", tmp_path / "ckpt"
    logs.mkdir()
    args = ["--epochs", str(EPOCHS), "--ckpt", str(ckpt), "--logs", str(logs)]
    done = slurm.run(
        "srun",
        "-n",
        "2",
        "--kill-on-bad-exit=1",
        sys.executable,
        str(WORKER),
        str(out),
        *args,
        env=ENV,
        timeout=LAUNCH_TIMEOUT,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    first, second = result(out, 0), result(out, 1)
    assert first["kind"] == second["kind"] == "slurm"
    assert first["replicas"] == second["replicas"] == 2
    assert first["history"] == second["history"]  # global metrics, reduced over both tasks
    for a, b in zip(first["weights"], second["weights"], strict=True):
        np.testing.assert_array_equal(a, b)
    alone = single_process(tmp_path, "--epochs", str(EPOCHS))
    assert alone["kind"] == "single"
    for a, b in zip(first["weights"], alone["weights"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    # Only task 0 wrote: one CSV log, one ModelCheckpoint, checkpoints without worker folders.
    assert files_under(logs) == ["best.keras", "log.csv"]
    assert len((logs / "log.csv").read_text().strip().splitlines()) == EPOCHS + 1
    assert "checkpoint" in files_under(ckpt) and not [f for f in files_under(ckpt) if "/" in f]
    assert done.stdout.count("Epoch 1/") == 1  # one progress report, task 0's


def test_srun_task_killed_then_rerun_resumes_from_the_last_checkpoint(slurm, tmp_path):
    out, ckpt = tmp_path / "out", tmp_path / "ckpt"
    epochs = 4
    command = ["srun", "-n", "2", "--kill-on-bad-exit=1", sys.executable, str(WORKER), str(out)]
    command += ["--epochs", str(epochs), "--ckpt", str(ckpt)]
    step = subprocess.Popen(
        [*command, "--slow", "0.2"],
        env={**slurm.env, **ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        victim = kill_mid_second_epoch(out / "progress-1.txt", lambda: step.poll() is None)
        step.wait(timeout=LAUNCH_TIMEOUT)
    finally:
        if step.poll() is None:
            step.kill()
            step.wait(timeout=30)
    assert victim is not None, step.stdout.read()[-3000:]
    assert step.returncode != 0  # srun reports the killed task and ends the step
    assert not (out / "result-0.npz").exists()
    done_epochs = int((ckpt / "checkpoint").read_text().split('"')[1].split("-")[-1])
    assert 1 <= done_epochs < epochs

    rerun = slurm.run(*command, env=ENV, timeout=LAUNCH_TIMEOUT)
    assert rerun.returncode == 0, (rerun.stdout + rerun.stderr)[-4000:]
    first, second = result(out, 0), result(out, 1)
    assert first["epochs"] == list(range(done_epochs, epochs))  # resumed, not from epoch 0
    for a, b in zip(first["weights"], second["weights"], strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_sbatch_script_of_the_docs_trains_on_two_tasks(slurm, tmp_path, doc_blocks):
    (script,) = [b for b in doc_blocks("distributed.md", "bash") if b.startswith("#!/bin/bash")]
    (tmp_path / "train.sbatch").write_text(script)
    # The docs' `python train.py`: the test worker, writing into this folder.
    (tmp_path / "train.py").write_text(
        f"import runpy, sys\nsys.argv = [{str(WORKER)!r}, 'out', '--epochs', '2', '--ckpt', 'ckpt']\n"
        f"runpy.run_path({str(WORKER)!r}, run_name='__main__')\n"
    )
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"  # `python` is this venv's
    done = slurm.run(
        "sbatch",
        "--wait",
        "train.sbatch",
        cwd=tmp_path,
        env={**ENV, "PATH": path},
        timeout=LAUNCH_TIMEOUT,
    )
    outputs = "".join(p.read_text() for p in tmp_path.glob("kfx-train-*.out"))
    assert done.returncode == 0, (done.stdout + done.stderr + outputs)[-4000:]
    first, second = result(tmp_path / "out", 0), result(tmp_path / "out", 1)
    assert first["kind"] == "slurm" and first["replicas"] == second["replicas"] == 2
    for a, b in zip(first["weights"], second["weights"], strict=True):
        np.testing.assert_array_equal(a, b)
    assert outputs.count("Epoch 1/") == 1


def test_the_python_examples_of_the_docs_run():
    failures, tried = doctest.testfile(
        str(Path(__file__).parents[2] / "docs" / "distributed.md"), module_relative=False
    )
    assert tried >= 2 and failures == 0
