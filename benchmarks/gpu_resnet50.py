"""ResNet50 training throughput: keras.applications vs kfx (and torchvision when present).

Issue 8's measurement, meant for a GPU machine with JAX (``KERAS_BACKEND=jax``); it also
runs on a CPU with small settings to check that it works. Every model trains on the same
synthetic batch, already on the device (a ``keras.utils.PyDataset`` that returns it), with
the same policy, optimizer, ``jit_compile`` and ``steps_per_execution``; images/second are
measured after warm-up. Model FLOPs utilisation uses ~24.6 GFLOP per 224x224 training
image (3x the 8.2 GFLOP forward multiply-adds count), scaled by (size/224)^2.

Example (CPU smoke run):
    KERAS_BACKEND=jax python benchmarks/gpu_resnet50.py --batch 4 --size 64 --steps 4 --warmup 1
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import keras
import numpy as np
from _common import write_result

#: Training FLOPs per 224x224 image for ResNet50 (forward 4.1 GMAC = 8.2 GFLOP, x3 for training).
TRAIN_GFLOP_PER_IMAGE_224 = 24.6
#: Peak dense bf16 TFLOP/s, for model FLOPs utilisation (NVIDIA datasheets).
PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0}


class SameBatch(keras.utils.PyDataset):
    """`length` steps of one batch that lives on the device."""

    def __init__(self, x, y, length: int):
        super().__init__()
        self.x, self.y, self.length = x, y, length

    def __len__(self):
        return self.length

    def __getitem__(self, index):
        return self.x, self.y


def device_batch(batch: int, size: int, classes: int):
    rng = np.random.default_rng(0)
    x = rng.random((batch, size, size, 3), dtype=np.float32)
    y = rng.integers(0, classes, batch).astype("int32")
    return keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(y)


def build(name: str, size: int, classes: int) -> keras.Model:
    if name == "keras":
        return keras.applications.ResNet50(
            weights=None, input_shape=(size, size, 3), classes=classes
        )
    import kfx

    return kfx.models.ResNet50((size, size, 3), classes)


def keras_throughput(name: str, args) -> dict:
    keras.backend.clear_session()
    keras.config.set_dtype_policy(args.policy)
    model = build(name, args.size, args.classes)
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
        loss="sparse_categorical_crossentropy",
        jit_compile=True,
        steps_per_execution=args.steps_per_execution,
    )
    x, y = device_batch(args.batch, args.size, args.classes)
    warm = SameBatch(x, y, args.warmup * args.steps_per_execution)
    timed = SameBatch(x, y, args.steps * args.steps_per_execution)
    model.fit(warm, epochs=1, verbose=0)
    start = time.perf_counter()
    history = model.fit(timed, epochs=1, verbose=0)
    seconds = time.perf_counter() - start
    images = args.batch * args.steps * args.steps_per_execution
    return {
        "model": name,
        "images_per_s": images / seconds,
        "final_loss": history.history["loss"][-1],
    }


def torch_throughput(args) -> dict | None:
    try:
        import torch
        import torchvision
    except ImportError:
        return None
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = torchvision.models.resnet50(num_classes=args.classes).to(
        device, memory_format=torch.channels_last
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(args.batch, 3, args.size, args.size, device=device).to(
        memory_format=torch.channels_last
    )
    y = torch.randint(0, args.classes, (args.batch,), device=device)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        with torch.autocast(device, dtype=torch.bfloat16):
            loss = loss_fn(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss

    steps = args.steps * args.steps_per_execution
    for _ in range(args.warmup * args.steps_per_execution):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        loss = step()
    if device == "cuda":
        torch.cuda.synchronize()
    return {
        "model": "torchvision",
        "images_per_s": args.batch * steps / (time.perf_counter() - start),
        "final_loss": float(loss),
    }


def device_name() -> str:
    if keras.backend.backend() == "jax":
        import jax

        return jax.devices()[0].device_kind
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=10, help="timed executions")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up executions")
    parser.add_argument("--steps-per-execution", type=int, default=10)
    parser.add_argument("--policy", default="mixed_bfloat16")
    parser.add_argument("--models", default="keras,kfx,torch")
    parser.add_argument(
        "--out", default="gpu_resnet50", help="result name under benchmarks/results/"
    )
    args = parser.parse_args()

    device = device_name()
    gflop = TRAIN_GFLOP_PER_IMAGE_224 * (args.size / 224) ** 2
    peak = next((v for k, v in PEAK_BF16_TFLOPS.items() if k in device), None)
    rows = []
    for name in args.models.split(","):
        row = torch_throughput(args) if name == "torch" else keras_throughput(name, args)
        if row is None:
            print("torchvision not installed: skipped")
            continue
        row["mfu"] = row["images_per_s"] * gflop / 1e3 / peak if peak else None
        rows.append(row)
        print(
            f"{row['model']:>12}: {row['images_per_s']:9.1f} img/s"
            + (f"  MFU {row['mfu']:.1%}" if peak else "")
        )
    by_name = {r["model"]: r["images_per_s"] for r in rows}
    result = {
        "device": device,
        "settings": vars(args),
        "results": rows,
        "kfx_vs_keras": by_name["kfx"] / by_name["keras"]
        if {"kfx", "keras"} <= set(by_name)
        else None,
        "kfx_vs_torch": by_name["kfx"] / by_name["torchvision"]
        if {"kfx", "torchvision"} <= set(by_name)
        else None,
    }
    write_result(args.out, result)
    print(json.dumps({k: result[k] for k in ("device", "kfx_vs_keras", "kfx_vs_torch")}))


if __name__ == "__main__":
    main()
