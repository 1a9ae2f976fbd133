"""kfx/distribute/_checkpoints.py: per-epoch checkpoints, kept by the chief only, and resume."""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="tf.distribute needs the TensorFlow backend"
)

if keras.backend.backend() == "tensorflow":
    import tensorflow as tf

    from kfx.distribute._checkpoints import MAX_TO_KEEP, Checkpointer, restore

    STRATEGY = tf.distribute.get_strategy()


def compiled(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(keras.optimizers.Adam(0.1), "mse")
    model.optimizer.build(model.trainable_variables)
    return model


def test_the_chief_saves_and_a_rerun_restores_weights_and_epoch(tmp_path):
    model = compiled()
    saver = Checkpointer(tmp_path, model, STRATEGY, chief=True)
    assert saver.restore() == 0  # nothing to resume
    saver.save(4)
    saved = [w.copy() for w in model.get_weights()]
    other = compiled(seed=1)
    assert not np.allclose(other.get_weights()[0], saved[0])
    assert Checkpointer(tmp_path, other, STRATEGY, chief=True).restore() == 4
    for a, b in zip(other.get_weights(), saved, strict=True):
        np.testing.assert_array_equal(a, b)
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-4")


def test_the_last_checkpoints_are_kept(tmp_path):
    saver = Checkpointer(tmp_path, compiled(), STRATEGY, chief=True)
    for epoch in range(1, 6):
        saver.save(epoch)
    kept = sorted(p.split(".")[0] for p in os.listdir(tmp_path) if p.startswith("ckpt-"))
    assert sorted(set(kept)) == [f"ckpt-{n}" for n in range(6 - MAX_TO_KEEP, 6)]


def test_another_worker_writes_a_temporary_folder_and_deletes_it(tmp_path):
    chief_dir = tmp_path / "ckpt"
    Checkpointer(chief_dir, compiled(), STRATEGY, chief=True).save(2)
    before = sorted(os.listdir(chief_dir))
    worker = Checkpointer(chief_dir, compiled(seed=1), STRATEGY, chief=False)
    assert worker.write_dir != str(chief_dir) and os.path.isdir(worker.write_dir)
    assert worker.restore() == 2  # it reads the chief's folder
    worker.save(3)
    assert not os.path.exists(worker.write_dir)
    assert sorted(os.listdir(chief_dir)) == before  # the chief's files only
    idle = Checkpointer(chief_dir, compiled(), STRATEGY, chief=False)
    idle.close()
    assert not os.path.exists(idle.write_dir)


def test_restore_starts_at_zero_and_never_past_the_last_epoch(tmp_path):
    assert restore(None, compiled(), STRATEGY, True, 5) == (None, 0)
    Checkpointer(tmp_path, compiled(), STRATEGY, chief=True).save(4)
    checkpointer, start = restore(tmp_path, compiled(), STRATEGY, True, 3)
    assert isinstance(checkpointer, Checkpointer) and start == 3
    assert restore(tmp_path, compiled(), STRATEGY, True, 9)[1] == 4
