"""kfx.distribute.fit in this process, under the default strategy and OneDeviceStrategy:
the same numbers as Model.fit, History and callbacks, checkpoints, errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="tf.distribute needs the TensorFlow backend"
)

if keras.backend.backend() == "tensorflow":
    import tensorflow as tf

    from kfx.distribute import fit, is_chief, task_info


def make_model(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(6, activation="tanh"), keras.layers.Dense(1)]
    )
    model.compile(keras.optimizers.Adam(0.01), "mse", metrics=["mae"])
    return model


def data(n=48):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 5)).astype("float32")
    return x, (x.sum(axis=1, keepdims=True) * 0.5).astype("float32")


def test_same_weights_and_logs_as_model_fit():
    x, y = data()
    ours = make_model()
    history = fit(
        ours, x, y, batch_size=8, epochs=2, shuffle=False, validation_data=(x, y), verbose=0
    )
    theirs = make_model()
    expected = theirs.fit(
        x, y, batch_size=8, epochs=2, shuffle=False, validation_data=(x, y), verbose=0
    )
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert set(history.history) == set(expected.history) == {"loss", "mae", "val_loss", "val_mae"}
    for key, values in expected.history.items():
        np.testing.assert_allclose(history.history[key], values, rtol=1e-5)
    assert history is ours.history and history.epoch == [0, 1]


def test_dataset_input_steps_per_epoch_and_one_device_strategy():
    x, y = data()
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        model = make_model()
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    seen = []

    class Count(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)

    history = fit(
        model,
        dataset,
        strategy=strategy,
        epochs=2,
        steps_per_epoch=4,
        callbacks=[Count()],
        verbose=0,
    )
    assert seen == [0, 1, 2, 3] * 2
    assert history.history["loss"][1] < history.history["loss"][0]


def test_stop_training_ends_at_the_epoch_end():
    x, y = data()
    model = make_model()

    class StopAfterFirst(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    history = fit(model, x, y, epochs=5, callbacks=[StopAfterFirst()], verbose=0)
    assert history.epoch == [0]


def test_checkpoint_dir_resumes_after_the_last_saved_epoch(tmp_path):
    x, y = data()
    first = fit(make_model(), x, y, epochs=2, checkpoint_dir=tmp_path, verbose=0)
    assert first.epoch == [0, 1]
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-2")
    straight = make_model()
    fit(straight, x, y, epochs=3, verbose=0)
    resumed = make_model(seed=1)  # other initial weights: the checkpoint overrides them
    history = fit(resumed, x, y, epochs=3, checkpoint_dir=tmp_path, verbose=0)
    assert history.epoch == [2]
    for a, b in zip(resumed.get_weights(), straight.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    done = fit(make_model(), x, y, epochs=3, checkpoint_dir=tmp_path, verbose=0)
    assert done.epoch == []  # nothing left to train


def test_progress_bar_on_the_chief(capsys):
    x, y = data(16)
    fit(make_model(), x, y, batch_size=8, epochs=1, verbose=2)
    assert "2/2" in capsys.readouterr().out
    assert is_chief() and task_info() == (None, None)


def test_errors_name_the_strategy_and_the_component(tmp_path):
    x, y = data(16)
    uncompiled = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"not compiled.*the default strategy"):
        fit(uncompiled, x, y)
    model = make_model()
    with pytest.raises(ValueError, match=r"BackupAndRestore cannot run under the default"):
        fit(model, x, y, callbacks=[keras.callbacks.BackupAndRestore(str(tmp_path))])
    with pytest.raises(ValueError, match=r"unbatched"):
        fit(model, tf.data.Dataset.from_tensor_slices((x, y)))
    with pytest.raises(ValueError, match=r"`y` and `sample_weight` must be None"):
        fit(model, tf.data.Dataset.from_tensor_slices((x, y)).batch(4), y)
    with pytest.raises(ValueError, match=r"argument `batch_size` got 0"):
        fit(model, x, y, batch_size=0)
    with pytest.raises(ValueError, match=r"argument `callbacks`"):
        fit(model, x, y, callbacks=["csv"])
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with pytest.raises(ValueError, match=r"not created under this OneDeviceStrategy"):
        fit(model, x, y, strategy=strategy)
