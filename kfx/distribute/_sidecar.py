"""The ``evaluator`` task of a cluster: it evaluates the chief's checkpoints, and never trains.

A TFJob (or any ``TF_CONFIG``) may name an ``evaluator`` beside the chief and the workers. It
runs the same script, but it must not join the training collective (the others would wait
for its gradients) and must not write. When :func:`kfx.distribute.fit` runs on that task it
comes here instead: it waits for each new checkpoint the chief writes in `checkpoint_dir`,
loads its weights, evaluates `validation_data` with ``model.evaluate`` and records the
``val_`` logs under that checkpoint's epoch, until the checkpoint of the last epoch. The
callbacks that are not chief-only see each ``on_epoch_end``.
"""

from __future__ import annotations

import os
import time

import keras

from kfx._validation import fail
from kfx.distribute._backend import WHERE, tensorflow
from kfx.distribute.callback_roles import split_callbacks

#: Seconds between two looks at the checkpoint folder.
POLL_SECONDS = 0.5
#: Seconds without a new checkpoint after which the evaluator gives up (the chief is gone).
IDLE_TIMEOUT = 3600.0


def evaluate_checkpoints(
    model: keras.Model,
    validation_data,
    checkpoint_dir,
    *,
    strategy,
    epochs: int,
    batch_size: int | None,
    callbacks,
    idle_timeout: float = IDLE_TIMEOUT,
) -> keras.callbacks.History:
    """Evaluate each checkpoint of the chief until the one of epoch `epochs`; the History.

    Raises:
        ValueError: `checkpoint_dir` or `validation_data` is missing (the evaluator has
            nothing else to do).
        TimeoutError: no new checkpoint came for `idle_timeout` seconds.
    """
    if checkpoint_dir is None:
        fail(WHERE, "checkpoint_dir", None, "the chief's checkpoint folder on an evaluator task")
    if validation_data is None:
        fail(WHERE, "validation_data", None, "data to evaluate on an evaluator task")
    tf = tensorflow()
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="kfx_epoch")
    checkpoint = tf.train.Checkpoint(model=model, epoch=epoch)
    callback_list = keras.callbacks.CallbackList(
        split_callbacks(callbacks, strategy, chief=False), add_history=True, model=model
    )
    callback_list.on_train_begin()
    seen, last_change, logs = None, time.monotonic(), {}
    while int(epoch.numpy()) < epochs:
        latest = tf.train.latest_checkpoint(os.fspath(checkpoint_dir))
        if latest is None or latest == seen:
            if time.monotonic() - last_change > idle_timeout:
                raise TimeoutError(
                    f"{WHERE}: the evaluator saw no new checkpoint in {checkpoint_dir} for "
                    f"{idle_timeout:g} s (last: {seen}); is the chief still training?"
                )
            time.sleep(POLL_SECONDS)
            continue
        checkpoint.restore(latest).expect_partial()
        seen, last_change = latest, time.monotonic()
        logs = {f"val_{k}": v for k, v in _evaluate(model, validation_data, batch_size).items()}
        callback_list.on_epoch_end(int(epoch.numpy()) - 1, logs)
    callback_list.on_train_end(logs)
    return model.history


def _evaluate(model, validation_data, batch_size) -> dict[str, float]:
    if isinstance(validation_data, (tuple, list)):
        x, y, *weights = validation_data
        return model.evaluate(
            x,
            y,
            sample_weight=weights[0] if weights else None,
            batch_size=batch_size,
            verbose=0,
            return_dict=True,
        )
    return model.evaluate(validation_data, verbose=0, return_dict=True)
