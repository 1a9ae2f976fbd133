"""Monitoring overhead: ActivationLogger / GradientLogger vs Keras' TensorBoard, one run.

A small CNN on fixed synthetic 32x32x3 images trains for 3 epochs under each configuration:
no callback, ActivationLogger with its defaults, ActivationLogger with npz and images,
GradientLogger, and ``keras.callbacks.TensorBoard(histogram_freq=1)``. Every configuration
starts from the same weights with its train function already compiled; the configurations
alternate over the repeats (in a rotating order) so machine noise hits each. Two overheads
are reported:

- ``wall``: the fastest fit of a configuration over the fastest fit without callbacks, minus 1
  (noise only ever adds time, so the minimum is the cleanest figure on a busy machine);
- ``in_callback``: the time spent inside the callback's own hooks (a proxy times every hook
  the callback overrides, and only those, so Keras' async batch dispatch is unchanged), over
  the fastest fit without callbacks; the median over repeats.

Targets (issue 6): ActivationLogger defaults <= 2 %, with npz and images <= 5 %.

Run: python benchmarks/monitoring.py [--samples 4096 --epochs 3 --repeats 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time

import keras
import numpy as np
from _common import median, write_result

from kfx.callbacks import ActivationLogger, GradientLogger


def small_cnn() -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    x = inputs
    for filters in (16, 32, 64):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def timed(inner: keras.callbacks.Callback) -> keras.callbacks.Callback:
    """A callback that forwards the hooks `inner` overrides and adds up their time."""
    base = keras.callbacks.Callback
    hooks = [
        n
        for n in dir(base)
        if n.startswith("on_") and getattr(type(inner), n) is not getattr(base, n)
    ]

    class Timed(base):
        def __init__(self):
            super().__init__()
            self.seconds = 0.0
            self.async_safe = getattr(inner, "async_safe", False)

        def set_model(self, model):
            super().set_model(model)
            inner.set_model(model)

        def set_params(self, params):
            super().set_params(params)
            inner.set_params(params)

    def forward(name):
        def hook(self, *args, **kwargs):
            start = time.perf_counter()
            getattr(inner, name)(*args, **kwargs)
            self.seconds += time.perf_counter() - start

        return hook

    for name in hooks:
        setattr(Timed, name, forward(name))
    return Timed()


def configurations(x, y, folder: str) -> dict:
    configs = {
        "none": lambda: [],
        "activation_logger": lambda: [ActivationLogger(x, log_dir=f"{folder}/a")],
        "activation_logger_npz_images": lambda: [
            ActivationLogger(x, log_dir=f"{folder}/b", npz_dir=f"{folder}/b/npz", images=True)
        ],
        "gradient_logger": lambda: [GradientLogger((x, y), log_dir=f"{folder}/g")],
    }
    if importlib.util.find_spec("tensorflow"):
        configs["keras_tensorboard_histograms"] = lambda: [
            keras.callbacks.TensorBoard(f"{folder}/k", histogram_freq=1)
        ]
    return configs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.random((args.samples, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, args.samples)
    model = small_cnn()
    start_weights = model.get_weights()
    model.fit(x[:256], y[:256], batch_size=64, epochs=1, verbose=0)  # compile the train step
    times: dict[str, list[float]] = {}
    inside: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        configs = configurations(x, y, folder)
        for repeat in range(args.repeats):
            names = list(configs)
            shift = repeat % len(names)  # rotate: whatever runs first in a round pays a cost
            for name in names[shift:] + names[:shift]:
                make = configs[name]
                model.set_weights(start_weights)
                callbacks = [timed(c) for c in make()]
                start = time.perf_counter()
                model.fit(x, y, batch_size=64, epochs=args.epochs, verbose=0, callbacks=callbacks)
                times.setdefault(name, []).append(time.perf_counter() - start)
                inside.setdefault(name, []).append(sum(c.seconds for c in callbacks))
            print(
                f"repeat {repeat + 1}/{args.repeats}: "
                + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items())
            )
    base = min(times["none"])
    result = {
        name: {
            "fastest_seconds": min(values),
            "wall": min(values) / base - 1,
            "in_callback": median(inside[name]) / base,
            "in_callback_seconds": inside[name],
            "all_seconds": values,
        }
        for name, values in times.items()
    }
    for name, row in result.items():
        print(
            f"{name:>30}: fastest {row['fastest_seconds']:.2f} s for {args.epochs} epochs; overhead "
            f"wall {100 * row['wall']:+.1f} %, in callback {100 * row['in_callback']:.2f} %"
        )
    write_result(
        f"monitoring_{keras.backend.backend()}",
        {
            "samples": args.samples,
            "epochs": args.epochs,
            "repeats": args.repeats,
            "configs": result,
        },
    )


if __name__ == "__main__":
    main()
