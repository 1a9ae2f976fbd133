"""kfx.models.ResNet50 vs keras.applications.ResNet50: build time and training throughput.

Same backend, input size, batch, optimizer and data in one run; the two models alternate
over the repeats so that machine noise hits both. Ratios are kfx / keras: throughput >= 1.0
means the builder adds no cost; build-time ratio < 1 means kfx builds faster.

Run: python benchmarks/blocks.py [--size 128 --batch 8 --steps 6 --repeats 3]
"""

from __future__ import annotations

import argparse
import time

import keras
import numpy as np
from _common import median, write_result

import kfx


def build(which: str, size: int, classes: int) -> tuple[keras.Model, float]:
    keras.backend.clear_session()
    start = time.perf_counter()
    if which == "keras":
        model = keras.applications.ResNet50(
            weights=None, input_shape=(size, size, 3), classes=classes
        )
    else:
        model = kfx.models.ResNet50((size, size, 3), classes)
    return model, time.perf_counter() - start


def images_per_second(model: keras.Model, x, y, steps: int) -> float:
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9), "sparse_categorical_crossentropy")
    model.train_on_batch(x, y)  # trace and compile
    model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return steps * len(x) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--classes", type=int, default=1000)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.random((args.batch, args.size, args.size, 3), dtype=np.float32)
    y = rng.integers(0, args.classes, args.batch)
    runs = {"keras": {"build_s": [], "img_s": []}, "kfx": {"build_s": [], "img_s": []}}
    params = {}
    for _ in range(args.repeats):
        for which in runs:
            model, seconds = build(which, args.size, args.classes)
            params[which] = model.count_params()
            runs[which]["build_s"].append(seconds)
            runs[which]["img_s"].append(images_per_second(model, x, y, args.steps))
    summary = {which: {k: median(v) for k, v in values.items()} for which, values in runs.items()}
    throughput_ratio = summary["kfx"]["img_s"] / summary["keras"]["img_s"]
    build_ratio = summary["kfx"]["build_s"] / summary["keras"]["build_s"]
    print(f"{'model':>6} {'params':>12} {'build s':>8} {'img/s':>8}")
    for which in runs:
        print(
            f"{which:>6} {params[which]:>12,} {summary[which]['build_s']:>8.2f} {summary[which]['img_s']:>8.2f}"
        )
    print(
        f"throughput ratio kfx/keras {throughput_ratio:.3f} (target >= 1.0); build time ratio {build_ratio:.3f}"
    )
    write_result(
        "blocks",
        {
            "settings": vars(args),
            "params": params,
            "median": summary,
            "raw": runs,
            "throughput_ratio": throughput_ratio,
            "build_time_ratio": build_ratio,
            "param_ratio": params["kfx"] / params["keras"],
        },
    )


if __name__ == "__main__":
    main()
