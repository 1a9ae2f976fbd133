"""TimeStopping: stop training once a time budget is spent."""

from __future__ import annotations

import time

import keras

from kfx._validation import fail


class TimeStopping(keras.callbacks.Callback):
    """Stop training after `seconds` of wall time (checked after every batch and epoch).

    The batch that crosses the budget finishes, then ``fit`` ends its epoch early and returns;
    `stopped_epoch` tells which epoch it was (-1 when the budget was not reached).

    Args:
        seconds: the budget, counted from the start of ``fit``.
        verbose: 1 prints a line when training is stopped.

    Example:
        >>> import keras, numpy as np
        >>> from kfx.callbacks import TimeStopping
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile("sgd", "mse")
        >>> stopper = TimeStopping(seconds=0)
        >>> history = model.fit(np.zeros((8, 2)), np.zeros(8), epochs=50, verbose=0,
        ...                     callbacks=[stopper])
        >>> len(history.history["loss"]), stopper.stopped_epoch
        (1, 0)
    """

    def __init__(self, seconds: float, verbose: int = 0):
        super().__init__()
        # Only reads the clock after a batch: safe for Keras' asynchronous batch-end dispatch,
        # which a callback with its own on_train_batch_end would otherwise turn off.
        self.async_safe = True
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            fail("TimeStopping", "seconds", seconds, "a number of seconds >= 0")
        self.seconds = seconds
        self.verbose = verbose
        self.stopped_epoch = -1
        self._deadline = None
        self._epoch = 0
        self._trained = None

    def set_model(self, model):
        super().set_model(model)
        # Our own reference: on JAX the `model` property syncs the training state, which a
        # batch-end hook run asynchronously must not touch (the next step may own the buffers).
        self._trained = model

    def on_train_begin(self, logs=None):
        self._deadline = time.monotonic() + self.seconds
        self.stopped_epoch = -1

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._check()

    def on_epoch_end(self, epoch, logs=None):
        self._check()

    def on_train_end(self, logs=None):
        if self.verbose and self.stopped_epoch >= 0:
            print(
                f"TimeStopping: {self.seconds} s budget spent, training stopped in epoch {self.stopped_epoch + 1}"
            )

    def _check(self) -> None:
        if (
            self.stopped_epoch < 0
            and self._deadline is not None
            and time.monotonic() >= self._deadline
        ):
            self._trained.stop_training = True
            self.stopped_epoch = self._epoch

    def get_config(self) -> dict:
        return {"seconds": self.seconds, "verbose": self.verbose}
