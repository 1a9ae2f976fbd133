"""Run a tutorial program fast and offline: ``python _tutorial_shim.py [--keras2] program.py``.

Before the program runs (as ``__main__``, its text untouched), this prelude replaces the
``keras.datasets`` loaders (also under ``tf.keras.datasets``) with generated arrays of the
real datasets' shapes and dtypes (tutorials hard-code them: ``x_train.reshape(60000,
784)``), and wraps
``keras.Model.fit`` / ``evaluate`` / ``predict`` so that training takes one epoch of at
most :data:`STEPS` batches. Plots go to the ``Agg`` backend. Used by benchmarks/migrate.py
to run the code blocks of the tutorials before and after ``kfx migrate --fix``.

With ``--keras2`` the program runs on Keras 2 instead, the ``tf-keras`` package (a dev
dependency): ``TF_USE_LEGACY_KERAS=1`` makes ``tf.keras`` Keras 2, and ``keras`` and every
``keras.*`` module it imports are ``tf_keras``'s. That is the baseline: what the tutorial
did on the Keras it was written for.
"""

from __future__ import annotations

import functools
import importlib
import importlib.abc
import importlib.util
import os
import runpy
import sys

import numpy as np

#: Batches per epoch (and for evaluate / predict on generators).
STEPS = 2
#: name -> ((train, test) samples, x shape, x dtype, x high, y shape, y high); the Keras 2
#: datasets.
DATASETS = {
    "mnist": ((60_000, 10_000), (28, 28), "uint8", 256, (), 10),
    "fashion_mnist": ((60_000, 10_000), (28, 28), "uint8", 256, (), 10),
    "cifar10": ((50_000, 10_000), (32, 32, 3), "uint8", 256, (1,), 10),
    "cifar100": ((50_000, 10_000), (32, 32, 3), "uint8", 256, (1,), 100),
    "boston_housing": ((404, 102), (13,), "float64", 100, (), 50),
}
#: Word-index datasets: (train, test) samples and classes; sequences of word ids (lists of
#: varying length) and labels.
SEQUENCES = {"imdb": ((25_000, 25_000), 2), "reuters": ((8_982, 2_246), 46)}


def _split(rng, samples, x_shape, dtype, x_high, y_shape, y_high):
    x = rng.integers(0, x_high, (samples, *x_shape)).astype(dtype)
    return x, rng.integers(0, y_high, (samples, *y_shape)).astype("int64")


def _arrays(name: str):
    def load_data(*args, **kwargs):
        rng = np.random.default_rng(0)
        sizes, *spec = DATASETS[name]
        return tuple(_split(rng, samples, *spec) for samples in sizes)

    return load_data


def _sequences(name: str):
    def load_data(*args, num_words=None, **kwargs):
        rng = np.random.default_rng(0)
        words = num_words or 10_000
        sizes, classes = SEQUENCES[name]

        def split(samples):
            x = np.empty(samples, dtype=object)
            x[:] = [list(rng.integers(1, words, rng.integers(20, 200))) for _ in range(samples)]
            return x, rng.integers(0, classes, samples)

        return split(sizes[0]), split(sizes[1])

    return load_data


def _short(method, training: bool):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if training:
            kwargs["epochs"] = 1  # a Keras 1 `nb_epoch=` stays: Keras 3 rejects it
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


class _Keras2Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``keras`` and ``keras.X`` as ``tf_keras`` and ``tf_keras.X``."""

    def find_spec(self, name, path=None, target=None):
        if name != "keras" and not name.startswith("keras."):
            return None
        return importlib.util.spec_from_loader(name, self)

    def create_module(self, spec):
        return importlib.import_module("tf_keras" + spec.name[len("keras") :])

    def exec_module(self, module) -> None:
        pass  # already imported, as tf_keras's


def use_keras2() -> None:
    """Make ``keras`` (and ``tf.keras``) Keras 2: tf-keras. Call before importing either."""
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    sys.meta_path.insert(0, _Keras2Finder())


def main(arguments: list[str]) -> None:
    if arguments[0] == "--keras2":
        use_keras2()
        arguments = arguments[1:]
    program = arguments[0]
    os.environ.setdefault("MPLBACKEND", "Agg")
    install()
    sys.argv = [program]
    runpy.run_path(program, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
