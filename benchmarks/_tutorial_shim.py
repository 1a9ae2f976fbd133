"""Run a tutorial program fast and offline: ``python _tutorial_shim.py program.py``.

Before the program runs (as ``__main__``, its text untouched), this prelude replaces the
``keras.datasets`` loaders (also under ``tf.keras.datasets``) with generated arrays of the
real datasets' per-sample shapes and dtypes, :data:`SAMPLES` samples each, and wraps
``keras.Model.fit`` / ``evaluate`` / ``predict`` so that training takes one epoch of at
most :data:`STEPS` batches. Plots go to the ``Agg`` backend. Used by benchmarks/migrate.py
to run the code blocks of the tutorials before and after ``kfx migrate --fix``.
"""

from __future__ import annotations

import functools
import os
import runpy
import sys

import numpy as np

#: Samples per generated split: enough for a few batches, small enough to be quick.
SAMPLES = 64
#: Batches per epoch (and for evaluate / predict on generators).
STEPS = 2
#: name -> (x shape, x dtype, x high, y shape, y high) per sample; the Keras 2 datasets.
DATASETS = {
    "mnist": ((28, 28), "uint8", 256, (), 10),
    "fashion_mnist": ((28, 28), "uint8", 256, (), 10),
    "cifar10": ((32, 32, 3), "uint8", 256, (1,), 10),
    "cifar100": ((32, 32, 3), "uint8", 256, (1,), 100),
    "boston_housing": ((13,), "float64", 100, (), 50),
}
#: Word-index datasets: sequences of word ids (lists of varying length), labels.
SEQUENCES = {"imdb": 2, "reuters": 46}


def _split(rng, x_shape, dtype, x_high, y_shape, y_high):
    x = rng.integers(0, x_high, (SAMPLES, *x_shape)).astype(dtype)
    return x, rng.integers(0, y_high, (SAMPLES, *y_shape)).astype("int64")


def _arrays(name: str):
    def load_data(*args, **kwargs):
        rng = np.random.default_rng(0)
        return _split(rng, *DATASETS[name]), _split(rng, *DATASETS[name])

    return load_data


def _sequences(name: str):
    def load_data(*args, num_words=None, **kwargs):
        rng = np.random.default_rng(0)
        words = num_words or 10_000

        def split():
            x = np.empty(SAMPLES, dtype=object)
            x[:] = [list(rng.integers(1, words, rng.integers(20, 200))) for _ in range(SAMPLES)]
            return x, rng.integers(0, SEQUENCES[name], SAMPLES)

        return split(), split()

    return load_data


def _short(method, training: bool):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if training:
            kwargs["epochs"] = 1
            kwargs.pop("nb_epoch", None)
            kwargs["steps_per_epoch"] = min(kwargs.get("steps_per_epoch") or STEPS, STEPS)
            if kwargs.get("validation_data") is not None:
                kwargs["validation_steps"] = 1
        elif "steps" in kwargs or not _is_array(args[0] if args else kwargs.get("x")):
            kwargs["steps"] = min(kwargs.get("steps") or STEPS, STEPS)
        return method(self, *args, **kwargs)

    return wrapper


def _is_array(data) -> bool:
    return data is None or isinstance(data, (np.ndarray, list, tuple, dict))


def install() -> None:
    """Patch the loaders and the training loop (see the module docstring)."""
    import keras
    import tensorflow as tf

    for namespace in (keras.datasets, tf.keras.datasets):
        for name in DATASETS:
            getattr(namespace, name).load_data = _arrays(name)
        for name in SEQUENCES:
            getattr(namespace, name).load_data = _sequences(name)
    keras.Model.fit = _short(keras.Model.fit, training=True)
    for name in ("evaluate", "predict"):
        setattr(keras.Model, name, _short(getattr(keras.Model, name), training=False))


def main(program: str) -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")
    install()
    sys.argv = [program]
    runpy.run_path(program, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1])
