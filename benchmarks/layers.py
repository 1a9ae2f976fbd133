"""Training step time of kfx layers against their nearest Keras layer, in one run.

Each pair is the layer followed by a Dense(1) head on the same data; the two models alternate
over the repeats and the best epoch time per step is kept. Ratio = kfx / keras.

Run: python benchmarks/layers.py [--jit auto|true|false]
"""

from __future__ import annotations

import argparse
import time

import keras
import numpy as np
from _common import write_result

import kfx

PAIRS = {
    "Linear/Dense": (
        lambda: kfx.layers.Linear(256, activation="relu"),
        lambda: keras.layers.Dense(256, activation="relu"),
        (512,),
    ),
    "LoopRNN/SimpleRNN(sequences)": (
        lambda: kfx.layers.LoopRNN(64, return_sequences=True),
        lambda: keras.layers.SimpleRNN(64, return_sequences=True),
        (50, 32),
    ),
    "LoopRNN/SimpleRNN(last)": (
        lambda: kfx.layers.LoopRNN(64),
        lambda: keras.layers.SimpleRNN(64),
        (50, 32),
    ),
    "GeMPooling2D/GlobalAveragePooling2D": (
        kfx.layers.GeMPooling2D,
        keras.layers.GlobalAveragePooling2D,
        (16, 16, 64),
    ),
}
BATCH = 64


def model_for(make, shape, jit) -> keras.Model:
    inputs = keras.Input(shape)
    y = make()(inputs)
    if len(y.shape) > 2:
        y = keras.layers.Flatten()(y)
    model = keras.Model(inputs, keras.layers.Dense(1)(y))
    model.compile(optimizer="sgd", loss="mse", jit_compile=jit)
    return model


def step_seconds(model, x, y) -> float:
    start = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    return (time.perf_counter() - start) / (len(x) // BATCH)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jit", default="auto", choices=["auto", "true", "false"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    jit = {"true": True, "false": False}.get(args.jit, "auto")
    rng = np.random.default_rng(0)
    ratios = {}
    for name, (ours, theirs, shape) in PAIRS.items():
        x = rng.random((1024, *shape), dtype=np.float32)
        y = rng.random((1024, 1), dtype=np.float32)
        models = {"kfx": model_for(ours, shape, jit), "keras": model_for(theirs, shape, jit)}
        for model in models.values():
            model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)  # trace and compile
        times = {key: [] for key in models}
        for _ in range(args.repeats):
            for key, model in models.items():
                times[key].append(step_seconds(model, x, y))
        best = {key: min(values) for key, values in times.items()}
        ratios[name] = {
            "kfx_s": best["kfx"],
            "keras_s": best["keras"],
            "ratio": best["kfx"] / best["keras"],
        }
        print(f"{name:>38}: kfx/keras step time {ratios[name]['ratio']:.2f}")
    write_result(
        f"layers_{keras.backend.backend()}_jit-{args.jit}",
        {"jit_compile": args.jit, "ratios": ratios},
    )


if __name__ == "__main__":
    main()
