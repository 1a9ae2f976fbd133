"""Per-epoch checkpoints of :func:`kfx.distribute.fit`, and resuming from the last one.

With ``checkpoint_dir``, weights, optimizer state and the number of epochs done are saved at
every epoch end through ``tf.train.CheckpointManager``. Every worker takes part in the save
(it may run collectives), but only the chief's files are kept: the other workers write to a
temporary folder that they delete at once, as TensorFlow's multi-worker guide does. A rerun
of the same command restores the chief's last checkpoint and trains the remaining epochs.

Example:
    >>> import tempfile, keras, tensorflow as tf
    >>> from kfx.distribute._checkpoints import Checkpointer
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> folder = tempfile.mkdtemp()
    >>> saver = Checkpointer(folder, model, tf.distribute.get_strategy(), chief=True)
    >>> saver.restore(), saver.save(2), Checkpointer(folder, model, saver.strategy, True).restore()
    (0, None, 2)
"""

from __future__ import annotations

import os
import shutil
import tempfile

from kfx.distribute._backend import tensorflow

#: Checkpoints kept in `checkpoint_dir`.
MAX_TO_KEEP = 3


class Checkpointer:
    """Per-epoch checkpoints; the chief writes `directory`, other workers a temp folder."""

    def __init__(self, directory, model, strategy, chief: bool):
        tf = tensorflow()
        self.chief = chief
        self.strategy = strategy
        self.directory = os.fspath(directory)
        with strategy.scope():
            self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="kfx_epoch")
        self.checkpoint = tf.train.Checkpoint(
            model=model, optimizer=model.optimizer, epoch=self.epoch
        )
        self.write_dir = self.directory if chief else tempfile.mkdtemp(prefix="kfx-ckpt-")
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, self.write_dir, max_to_keep=MAX_TO_KEEP
        )

    def restore(self) -> int:
        """Restore the last checkpoint of the chief's folder; the epoch to start from."""
        latest = tensorflow().train.latest_checkpoint(self.directory)
        if latest is None:
            return 0
        self.checkpoint.restore(latest).assert_existing_objects_matched()
        return int(self.epoch.numpy())

    def save(self, epochs_done: int) -> None:
        self.epoch.assign(epochs_done)
        # Every worker saves (the save may run collectives); only the chief keeps its files.
        self.manager.save(checkpoint_number=epochs_done)
        self.close()

    def close(self) -> None:
        """Delete a non-chief worker's temporary folder (the chief's files stay)."""
        if not self.chief:
            shutil.rmtree(self.write_dir, ignore_errors=True)


def restore(checkpoint_dir, model, strategy, chief: bool, epochs: int):
    """``(Checkpointer or None, the epoch to start from)``: 0 without a checkpoint to resume."""
    if checkpoint_dir is None:
        return None, 0
    checkpointer = Checkpointer(checkpoint_dir, model, strategy, chief)
    return checkpointer, min(checkpointer.restore(), epochs)
