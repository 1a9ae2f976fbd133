"""kfx.distribute.fit throughput: 1 vs 2 logical devices, 1 vs 2 worker processes, a SLURM step.

Each configuration runs in a fresh interpreter (logical devices must be set before
TensorFlow starts): the default strategy on one device (the baseline), MirroredStrategy over
two logical CPUs, two MultiWorkerMirroredStrategy workers on 127.0.0.1 started by
kfx.distribute.launch (``kfx train``), and a 2-task ``srun`` step on the single-node SLURM
cluster of the tests (tests/_slurm.py; skipped where it cannot start), whose tasks find their
cluster themselves. For the last two, also the seconds from the launch (``kfx train`` or
``srun``) to the first training step. Same model, data and global batch everywhere; samples/s is measured
over the epochs after the first (which traces the step). Ratios are 2-way / 1-way: on a
machine with C cores, two replicas share those cores, so the ratio is bounded by
C / (cores one replica already uses), minus the per-step all-reduce and host loop.

Run: python benchmarks/distributed.py [--samples 2048 --batch 64 --epochs 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from _common import print_result, read_result, run_child, write_result

HERE = Path(__file__).resolve()


def child(args) -> None:
    """One measurement; prints ``RESULT <json>`` (the chief's, for workers)."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    from kfx.distribute import fit, is_chief, multi_worker_strategy
    from kfx.distribute.strategies import logical_cpus

    if args.mode == "workers":
        strategy = multi_worker_strategy()
    else:
        devices = logical_cpus(args.devices)
        import tensorflow as tf

        strategy = (
            tf.distribute.MirroredStrategy(devices)
            if args.devices > 1
            else tf.distribute.OneDeviceStrategy(devices[0])
        )
    import keras
    import numpy as np

    import kfx

    x, y = kfx.datasets.synthetic_images(args.samples, (16, 16, 3), 10, seed=0)
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = kfx.models.resnet(
            (16, 16, 3), 10, depths=(1, 1), widths=(16, 32), kind="basic", stem="small"
        )
        model.compile("adam", "sparse_categorical_crossentropy")

    class Clock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times, self.start = [], 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self.start)

    class FirstStep(keras.callbacks.Callback):
        at: float | None = None

        def on_train_batch_begin(self, batch, logs=None):
            self.at = self.at or time.time()

    clock, first = Clock(), FirstStep()
    fit(
        model,
        x,
        y,
        strategy=strategy,
        epochs=args.epochs,
        batch_size=args.batch,
        callbacks=[clock, first],
        verbose=0,
    )
    timed = clock.times[1:] or clock.times
    result = {
        "replicas": strategy.num_replicas_in_sync,
        "epoch_s": clock.times,
        "samples_per_s": args.samples / float(np.median(timed)),
        "first_step_unix": first.at,
    }
    if is_chief(strategy):
        print_result(result)


def run_devices(devices: int, common: list[str]) -> dict:
    return run_child(HERE, ["--child", "--devices", str(devices), *common], timeout=1200)


def run_workers(n: int, common: list[str]) -> dict:
    from kfx.distribute import launch

    logs = Path(tempfile.mkdtemp(prefix="kfx-bench-"))
    started = time.time()
    status = launch(
        n,
        [sys.executable, str(HERE), "--child", "--mode", "workers", *common],
        log_dir=logs,
        timeout=1200,
        quiet=True,
    )
    text = (logs / "worker0.log").read_text()
    result = read_result(text)
    if status or result is None:
        raise RuntimeError(f"{n} workers failed ({status}):\n{text[-4000:]}")
    return {**result, "launch_to_first_step_s": result["first_step_unix"] - started}


def run_slurm_step(n: int, common: list[str]) -> dict:
    """``srun -n N`` of the same child on the tests' single-node SLURM cluster."""
    spec = importlib.util.spec_from_file_location("_slurm", HERE.parents[1] / "tests" / "_slurm.py")
    slurm_module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = slurm_module
    spec.loader.exec_module(slurm_module)
    try:
        cluster = slurm_module.start()
    except slurm_module.Unavailable as err:
        return {"skipped": str(err)}
    try:
        started = time.time()
        done = cluster.run(
            "srun",
            "-n",
            str(n),
            "--kill-on-bad-exit=1",
            sys.executable,
            str(HERE),
            "--child",
            "--mode",
            "workers",
            *common,
            timeout=1200,
        )
    finally:
        cluster.stop()
    result = read_result(done.stdout)
    if done.returncode or result is None:
        raise RuntimeError(f"srun -n {n} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return {**result, "launch_to_first_step_s": result["first_step_unix"] - started}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=64, help="global batch size")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="devices", help=argparse.SUPPRESS)
    parser.add_argument("--devices", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    common = [
        "--samples",
        str(args.samples),
        "--batch",
        str(args.batch),
        "--epochs",
        str(args.epochs),
    ]
    one = run_devices(1, common)
    two_devices = run_devices(2, common)
    two_workers = run_workers(2, common)
    slurm_step = run_slurm_step(2, common)

    cores = os.cpu_count()
    result = {
        "model": "kfx.models.resnet basic, depths (1, 1), widths (16, 32), 16x16x3 inputs",
        "samples": args.samples,
        "global_batch": args.batch,
        "epochs": args.epochs,
        "cpu_count": cores,
        "one_device_samples_per_s": one["samples_per_s"],
        "two_logical_devices_samples_per_s": two_devices["samples_per_s"],
        "two_workers_samples_per_s": two_workers["samples_per_s"],
        "ratio_two_devices_vs_one": two_devices["samples_per_s"] / one["samples_per_s"],
        "ratio_two_workers_vs_one": two_workers["samples_per_s"] / one["samples_per_s"],
        "slurm_two_tasks_samples_per_s": slurm_step.get("samples_per_s"),
        "ratio_slurm_two_tasks_vs_one": (
            slurm_step["samples_per_s"] / one["samples_per_s"]
            if "samples_per_s" in slurm_step
            else None
        ),
        "kfx_train_to_first_step_s": two_workers["launch_to_first_step_s"],
        "srun_to_first_step_s": slurm_step.get("launch_to_first_step_s"),
        "bound": (
            f"{cores} CPU cores shared by every replica: one TensorFlow process already uses "
            "all cores for its ops, so two replicas split the same compute; add the per-step "
            "all-reduce (in-process for logical devices, gRPC ring between workers) and the "
            "per-step host loop. Speed-ups need devices that do not share compute."
        ),
        "runs": {
            "one_device": one,
            "two_devices": two_devices,
            "two_workers": two_workers,
            "slurm_two_tasks": slurm_step,
        },
    }
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))
    write_result("distributed", result)


if __name__ == "__main__":
    main()
