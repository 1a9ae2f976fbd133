"""GradientLogger: per-weight gradient histograms and norms from one batch."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import keras
from keras import ops

from kfx import _events
from kfx._validation import check_positive_int, fail
from kfx.callbacks._data import read_data
from kfx.callbacks._epoch_logger import EpochLogger
from kfx.callbacks._stats import BINS, summarize

#: The TensorBoard run (sub-folder of `log_dir`) that gradients go to.
RUN = "gradients"


class GradientLogger(EpochLogger):
    """Gradients of the compiled loss on one batch of `data`, at the end of every n-th epoch.

    The gradients are taken with the model's variables as they are (training mode, no weight
    or metric is changed: ``stateless_call`` and ``stateless_compute_loss``) with
    ``tf.GradientTape`` on TensorFlow and ``jax.grad`` on JAX. Written to
    ``log_dir/gradients/``: per trainable weight a histogram ``PATH/gradient`` and a scalar
    ``PATH/gradient_norm`` (PATH is the variable's path without the model's name,
    ``"dense/kernel"``), and
    ``global/gradient_norm``.

    Args:
        data: a tuple ``(x, y)`` or ``(x, y, sample_weight)``, or a ``tf.data.Dataset``
            yielding them; the first `batch_size` samples are read once, at construction.
        log_dir: TensorBoard folder.
        every_n_epochs: log at the end of epochs n, 2n, ...
        batch_size: samples in the batch.

    Example:
        >>> import tempfile, keras, numpy as np
        >>> from kfx.callbacks import GradientLogger
        >>> x = np.random.default_rng(0).random((16, 4), dtype="float32")
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, name="score")])
        >>> model.compile("sgd", "mse")
        >>> logger = GradientLogger((x, x[:, :1]), log_dir=tempfile.mkdtemp())
        >>> _ = model.fit(x, x[:, :1], epochs=1, verbose=0, callbacks=[logger])
        >>> sorted(logger.last_norms)
        ['global', 'score/bias', 'score/kernel']
    """

    _TRANSIENT = ("_tb_dir",)

    def __init__(
        self,
        data: Any,
        *,
        log_dir: str | os.PathLike,
        every_n_epochs: int = 1,
        batch_size: int = 32,
    ):
        super().__init__(every_n_epochs)
        where = type(self).__name__
        check_positive_int(where, "batch_size", batch_size)
        if log_dir is None:
            fail(where, "log_dir", None, "a folder to write TensorBoard events to")
        self.x, self.y = read_data(data, batch_size, where)
        if self.y is None:
            fail(where, "data", "inputs without targets", "a tuple (x, y) or a dataset of (x, y)")
        self.log_dir = Path(log_dir)
        self.batch_size = batch_size
        #: Gradient norms of the last logged epoch, by variable path (and "global").
        self.last_norms: dict[str, float] = {}

    def on_train_begin(self, logs=None):
        if not getattr(self.model, "compiled", False):
            fail(
                type(self).__name__,
                "model",
                self.model.name,
                "a compiled model (it needs the loss)",
            )
        self._tb_dir = self._prepare_dir(self.log_dir / RUN, "TensorBoard")

    def gradients(self) -> dict[str, Any]:
        """The loss gradient of every trainable weight on the recorded batch, by variable path."""
        model = self.model
        prefix = f"{model.name}/"
        paths = [v.path.removeprefix(prefix) for v in model.trainable_variables]
        return dict(zip(paths, loss_gradients(model, self.x, self.y), strict=True))

    def _log(self, epoch: int) -> None:
        values, squares = [], 0.0
        self.last_norms = {}
        for path, gradient in self.gradients().items():
            if gradient is None:  # a weight the loss does not depend on
                continue
            stats = summarize(gradient, BINS)
            norm = float(stats["norm"])
            self.last_norms[path] = norm
            squares += norm**2
            values.append(_events.histogram(f"{path}/gradient", stats["edges"], stats["counts"]))
            values.append(_events.scalar(f"{path}/gradient_norm", norm))
        self.last_norms["global"] = squares**0.5
        values.append(_events.scalar("global/gradient_norm", squares**0.5))
        if self._usable(self._tb_dir, "TensorBoard"):
            try:
                _events.write_event_file(self._tb_dir, [(epoch, values)])
            except OSError as err:
                self._warn("TensorBoard", f"could not write to {str(self._tb_dir)!r} ({err})")


def _current(variable) -> Any:
    """A Keras variable's value as a plain tensor.

    On TensorFlow ``read_value()``: under a distribution strategy the value is a
    DistributedVariable, which ``convert_to_tensor`` leaves as it is and a gradient tape
    cannot watch outside a replica context.
    """
    value = variable.value
    return value.read_value() if hasattr(value, "read_value") else ops.convert_to_tensor(value)


def loss_gradients(model: keras.Model, x: Any, y: Any) -> list:
    """Gradients of `model`'s compiled loss on ``(x, y)`` for its trainable variables.

    Stateless: no variable (weights, batch-norm statistics, metrics) is changed.
    """
    trainable = [_current(v) for v in model.trainable_variables]
    non_trainable = [_current(v) for v in model.non_trainable_variables]
    metrics = [_current(v) for v in model.metrics_variables]

    def loss_of(values):
        y_pred, updated = model.stateless_call(values, non_trainable, x, training=True)
        loss, _ = model.stateless_compute_loss(
            values, updated, metrics, x=x, y=y, y_pred=y_pred, training=True
        )
        return loss

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(trainable)
            loss = loss_of(trainable)
        return tape.gradient(loss, trainable)
    if backend == "jax":
        import jax

        return jax.grad(loss_of)(trainable)
    if backend == "torch":
        import torch

        trainable = [t.detach().requires_grad_(True) for t in trainable]
        return list(torch.autograd.grad(loss_of(trainable), trainable, allow_unused=True))
    fail("GradientLogger", "backend", backend, "tensorflow, jax or torch (gradients need autodiff)")
