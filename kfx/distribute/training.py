"""``fit()``: train a compiled Keras model under any tf.distribute strategy.

Keras 3's own ``Model.fit`` fails under ``MultiWorkerMirroredStrategy`` ("Attempt to convert a
value (PerReplica:{...}) with an unsupported type", keras-team/keras issue 20585). :func:`fit`
runs the model's own ``train_step`` / ``test_step`` (so its loss, metrics, optimizer and any
overridden step) inside ``strategy.run`` inside a ``tf.function``, and does on the host what
Keras' loop does: a progress bar, a ``History``, callbacks, validation. In addition:

- Metric state is summed over replicas and workers with ``strategy.reduce`` inside the step
  and read with ``Metric.stateless_result``, so the logs are the global values
  (``_steps.py``).
- Callbacks with side effects (checkpoints, TensorBoard, CSV, kfx loggers) run on the chief
  only (:func:`kfx.distribute.is_chief_only`); ``model.stop_training`` is all-reduced at each
  epoch end, so every worker stops at the same epoch.
- With ``checkpoint_dir``, weights, optimizer state and the epoch are saved at every epoch
  end, and a rerun resumes after the last saved epoch (``_checkpoints.py``).
- On the ``evaluator`` task of a ``TF_CONFIG`` cluster it trains nothing: it evaluates each
  checkpoint the chief writes (``_sidecar.py``).

This module holds the loop; the input pipeline is ``_data.py``.

Example:
    >>> import numpy as np, keras, tensorflow as tf
    >>> from kfx.distribute import fit
    >>> strategy = tf.distribute.get_strategy()  # the default strategy: one device
    >>> with strategy.scope():
    ...     model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    ...     model.compile("sgd", "mse", metrics=["mae"])
    >>> x, y = np.ones((16, 4), "float32"), np.zeros((16, 1), "float32")
    >>> history = fit(model, x, y, batch_size=8, epochs=2, verbose=0)
    >>> sorted(history.history), len(history.history["loss"])
    (['loss', 'mae'], 2)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import keras

from kfx._validation import check_int, fail, is_int
from kfx.distribute._backend import WHERE, tensorflow
from kfx.distribute._checkpoints import MAX_TO_KEEP, restore
from kfx.distribute._data import DEFAULT_BATCH_SIZE, DEFAULT_SEED, prepare_data
from kfx.distribute._sidecar import evaluate_checkpoints
from kfx.distribute._steps import Steps, build
from kfx.distribute.callback_roles import split_callbacks
from kfx.distribute.clusters import cluster
from kfx.distribute.strategies import is_chief, strategy_name

__all__ = ["DEFAULT_BATCH_SIZE", "DEFAULT_SEED", "MAX_TO_KEEP", "fit"]


def fit(
    model: keras.Model,
    x: Any = None,
    y: Any = None,
    *,
    sample_weight: Any = None,
    strategy=None,
    epochs: int = 1,
    batch_size: int | None = None,
    steps_per_epoch: int | None = None,
    validation_data: Any = None,
    callbacks: Sequence[keras.callbacks.Callback] | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    verbose: str | int = "auto",
) -> keras.callbacks.History:
    """Train a compiled model under `strategy`, as ``model.fit`` would, on any number of workers.

    Build and compile the model inside ``strategy.scope()``. Run the same script on every
    worker (see :func:`kfx.distribute.launch`): each worker gets its part of every global
    batch, gradients are summed across all replicas, and every worker ends with the same
    weights.

    Args:
        model: a built, compiled ``keras.Model`` whose variables were created under
            `strategy`; its ``train_step`` / ``test_step`` run per replica.
        x: input arrays (or dict/tuple of arrays) or a ``tf.data.Dataset`` of ``(x, y)`` or
            ``(x, y, sample_weight)`` batched with the *global* batch size. Datasets are
            auto-sharded (by file when read from files, else by data).
        y: targets for array `x`.
        sample_weight: per-sample weights for array `x`.
        strategy: a ``tf.distribute.Strategy`` (default: ``tf.distribute.get_strategy()``).
        epochs: index of the last epoch (as in ``Model.fit``); with a checkpoint, training
            resumes after the last saved epoch.
        batch_size: global batch size for array inputs (default 32); a multiple of
            ``strategy.num_replicas_in_sync``.
        steps_per_epoch: batches per epoch (default: one pass over `x`); with it, `x` is
            repeated and read on across epochs.
        validation_data: ``(x, y)``, ``(x, y, sample_weight)`` or a batched dataset,
            evaluated at each epoch end; logs get the ``val_`` prefix.
        callbacks: Keras callbacks. ``ModelCheckpoint``, ``TensorBoard``, ``CSVLogger``,
            ``RemoteMonitor``, kfx loggers and any callback with ``chief_only = True`` run on
            the chief only (:func:`kfx.distribute.is_chief_only`); the others everywhere.
            ``BackupAndRestore``: ``ValueError`` (use `checkpoint_dir`).
        checkpoint_dir: folder of per-epoch ``tf.train`` checkpoints (weights, optimizer,
            epoch); if it holds one, training resumes from it. On an ``evaluator`` task, the
            chief's folder, whose checkpoints are evaluated on `validation_data` as they
            come, up to the one of epoch `epochs` (the History then holds ``val_`` logs).
        shuffle: shuffle array inputs each epoch (same order on every worker).
        seed: shuffle seed for array inputs (default: a fixed one, identical on every worker).
        verbose: ``"auto"`` or 1 (progress bar), 2 (one line per epoch), 0 (silent); workers
            other than the chief are silent.

    Returns:
        A ``keras.callbacks.History`` (also ``model.history``) of the global metric values.

    Raises:
        ValueError: the model is not compiled or not built under `strategy`; a global batch
            that does not divide across the replicas; a callback that cannot run here. The
            message names the strategy and the offending argument.
    """
    tf = tensorflow()
    strategy = strategy or tf.distribute.get_strategy()
    _check_model(model, strategy)
    _check_epochs(epochs, steps_per_epoch)
    if cluster().is_evaluator:
        return evaluate_checkpoints(
            model,
            validation_data,
            checkpoint_dir,
            strategy=strategy,
            epochs=epochs,
            batch_size=batch_size,
            callbacks=callbacks,
        )
    chief = is_chief(strategy)
    kept = split_callbacks(callbacks, strategy, chief)
    train_data, val_data = prepare_data(
        model, strategy, x, y, sample_weight, validation_data, batch_size, shuffle, seed
    )
    build(model, strategy, train_data(0))
    steps = Steps(model, strategy)
    dist_val = None if val_data is None else strategy.experimental_distribute_dataset(val_data)
    checkpointer, initial_epoch = restore(checkpoint_dir, model, strategy, chief, epochs)
    batches_of = _epoch_batches(strategy, train_data, steps_per_epoch, initial_epoch)
    callback_list = _callback_list(kept, model, verbose, chief, epochs, steps_per_epoch)
    try:
        _train_epochs(
            model, steps, callback_list, batches_of, dist_val, checkpointer, initial_epoch, epochs
        )
    finally:
        if checkpointer is not None:
            checkpointer.close()
    return model.history


def _check_model(model, strategy) -> None:
    name = strategy_name(strategy)
    if not isinstance(model, keras.Model):
        fail(WHERE, "model", model, "a keras.Model")
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", False):
        raise ValueError(
            f"{WHERE}: the model {model.name!r} is not compiled; call model.compile(optimizer, "
            f"loss, metrics) inside `with strategy.scope():` before fit (strategy {name})."
        )
    if not model.built:
        raise ValueError(
            f"{WHERE}: the model {model.name!r} is not built; give it an Input (or call it "
            f"once) inside `with strategy.scope():` (strategy {name})."
        )
    for variable in model.variables:
        if not strategy.extended.variable_created_in_scope(variable.value):
            raise ValueError(
                f"{WHERE}: variable {variable.path!r} of model {model.name!r} was not created "
                f"under this {name}; build and compile the model inside "
                f"`with strategy.scope():` (strategy {name})."
            )


def _check_epochs(epochs, steps_per_epoch) -> None:
    check_int(WHERE, "epochs", epochs, minimum=0)
    if steps_per_epoch is not None and (not is_int(steps_per_epoch) or steps_per_epoch < 1):
        fail(WHERE, "steps_per_epoch", steps_per_epoch, "None or a positive int")


def _epoch_batches(
    strategy, train_data, steps_per_epoch, initial_epoch
) -> Callable[[int], Iterator]:
    """``batches_of(epoch)``: the distributed batches of one epoch.

    Without `steps_per_epoch`, one pass over that epoch's data; with it, that many batches
    of one repeated iterator, read on across epochs.
    """
    if steps_per_epoch is None:
        return lambda epoch: iter(strategy.experimental_distribute_dataset(train_data(epoch)))
    repeated = iter(strategy.experimental_distribute_dataset(train_data(initial_epoch).repeat()))
    return lambda epoch: (next(repeated) for _ in range(steps_per_epoch))


def _callback_list(kept, model, verbose, chief: bool, epochs: int, steps_per_epoch):
    """Keras' ``CallbackList`` with a ``History``, and a progress bar on the chief only."""
    verbose = 1 if verbose == "auto" else verbose
    return keras.callbacks.CallbackList(
        kept,
        add_history=True,
        add_progbar=bool(verbose) and chief,
        model=model,
        verbose=verbose if chief else 0,
        epochs=epochs,
        steps=steps_per_epoch,
    )


def _train_epochs(
    model, steps, callback_list, batches_of, dist_val, checkpointer, initial_epoch, epochs
) -> None:
    """The epoch loop, with the callbacks' hooks; stops on every worker when one asks."""
    model.stop_training = False
    logs: dict[str, float] = {}
    callback_list.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        callback_list.on_epoch_begin(epoch)
        for step, batch in enumerate(batches_of(epoch)):
            callback_list.on_train_batch_begin(step)
            logs = steps.logs(steps.train(batch))
            callback_list.on_train_batch_end(step, logs)
        steps.sync_replicas()
        epoch_logs = dict(logs)
        if dist_val is not None:
            epoch_logs.update(_evaluate(model, steps, dist_val, callback_list))
        callback_list.on_epoch_end(epoch, epoch_logs)
        if checkpointer is not None:
            checkpointer.save(epoch + 1)
        if steps.any_worker(bool(model.stop_training)):
            model.stop_training = True
            break
    callback_list.on_train_end(logs)


def _evaluate(model, steps: Steps, dist_val, callback_list) -> dict[str, float]:
    """One pass over the validation data; its logs with the ``val_`` prefix."""
    model.reset_metrics()
    callback_list.on_test_begin()
    logs: dict[str, float] = {}
    for step, batch in enumerate(dist_val):
        callback_list.on_test_batch_begin(step)
        logs = steps.logs(steps.test(batch))
        callback_list.on_test_batch_end(step, logs)
    callback_list.on_test_end(logs)
    return {f"val_{k}": v for k, v in logs.items()}
