"""Training callbacks: activation and gradient logging, a time budget, and sensible defaults.

- :class:`ActivationLogger`: layer activations (histograms, mean/std/zero fraction, feature
  map images) to TensorBoard and npz, at the end of every n-th epoch.
- :class:`GradientLogger`: per-weight gradient histograms and norms from one batch.
- :func:`standard`: checkpoint of the best model, EarlyStopping, ReduceLROnPlateau,
  CSVLogger and TensorBoard under one folder.
- :class:`TimeStopping`: stop after a time budget.

Event files are written with the tensorboard package (no TensorFlow needed, so the same on
every backend), each atomically; on a cluster only the chief writes.

Example:
    >>> import tempfile, keras, numpy as np
    >>> from kfx import callbacks
    >>> x = np.random.default_rng(0).random((64, 8), dtype="float32")
    >>> y = x.sum(axis=1, keepdims=True)
    >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, name="hidden"),
    ...                           keras.layers.Dense(1, name="out")])
    >>> model.compile("adam", "mse")
    >>> log_dir = tempfile.mkdtemp()
    >>> monitors = [callbacks.ActivationLogger(x, log_dir=log_dir),
    ...             callbacks.GradientLogger((x, y), log_dir=log_dir)]
    >>> _ = model.fit(x, y, validation_split=0.25, epochs=2, verbose=0,
    ...               callbacks=monitors + callbacks.standard(log_dir, tensorboard=False))
    >>> import os; sorted(os.listdir(log_dir))
    ['activations', 'best.keras', 'gradients', 'history.csv']
"""

from __future__ import annotations

from kfx.callbacks.activation_logger import ActivationLogger
from kfx.callbacks.gradient_logger import GradientLogger
from kfx.callbacks.standard import standard
from kfx.callbacks.time_stopping import TimeStopping

__all__ = ["ActivationLogger", "GradientLogger", "TimeStopping", "standard"]
