"""kfx/distribute/_steps.py: the model's own steps under a strategy, with global metrics."""

from __future__ import annotations

import keras
import numpy as np
import pytest

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="tf.distribute needs the TensorFlow backend"
)

if keras.backend.backend() == "tensorflow":
    import tensorflow as tf

    from kfx.distribute._steps import Steps, _pack, _replica_synced, _unpack, build


def compiled(batch_norm=False):
    keras.utils.set_random_seed(0)
    layers = [keras.Input((4,)), keras.layers.Dense(3, activation="tanh")]
    layers += [keras.layers.BatchNormalization()] if batch_norm else []
    model = keras.Sequential([*layers, keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.05), "mse", metrics=["mae"])
    return model


def batch(n=8):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True).astype("float32")


def dataset(n=8):
    return tf.data.Dataset.from_tensor_slices(batch(n)).batch(n)


def test_build_creates_the_optimizer_and_metric_variables():
    model = compiled()
    assert not model.optimizer.built
    build(model, tf.distribute.get_strategy(), dataset())
    assert model.optimizer.built and model.optimizer.variables
    assert all(v.numpy() == 0 for m in model.metrics for v in m.variables)  # reset after


def test_steps_match_keras_train_and_test_on_batch():
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    x, y = batch()
    with strategy.scope():
        ours = compiled()
    theirs = compiled()
    build(ours, strategy, dataset())
    steps = Steps(ours, strategy)
    data = next(iter(strategy.experimental_distribute_dataset(dataset())))
    logs = steps.logs(steps.train(data))
    expected = theirs.train_on_batch(x, y, return_dict=True)
    assert set(logs) == set(expected) == {"loss", "mae"}
    for key, value in expected.items():
        np.testing.assert_allclose(logs[key], value, rtol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    ours.reset_metrics()
    theirs.reset_metrics()  # test_on_batch resets them itself only from Keras 3.15 on
    logs = steps.logs(steps.test(data))
    expected = theirs.test_on_batch(x, y, return_dict=True)
    for key, value in expected.items():
        np.testing.assert_allclose(logs[key], value, rtol=1e-5)


def test_any_worker_and_sync_with_one_replica():
    model = compiled(batch_norm=True)
    strategy = tf.distribute.get_strategy()
    build(model, strategy, dataset())
    steps = Steps(model, strategy)
    assert steps.any_worker(True) and not steps.any_worker(False)
    assert sorted(v.name for v in steps.synced) == ["moving_mean", "moving_variance"]
    before = [v.numpy().copy() for v in steps.synced]
    steps.sync_replicas()  # one replica: nothing to average
    for a, v in zip(before, steps.synced, strict=True):
        np.testing.assert_array_equal(a, v.numpy())


def test_replica_synced_skips_aggregated_and_integer_variables():
    model = compiled(batch_norm=True)
    names = [v.name for v in _replica_synced(model)]
    assert names == ["moving_mean", "moving_variance"]
    assert not _replica_synced(compiled())


def test_pack_and_unpack_round_trip_shapes_and_dtypes():
    like = [tf.ones((2, 3)), tf.constant([7], tf.int64), tf.zeros((), tf.float16)]
    vector = _pack(like)
    assert vector.dtype == tf.float64 and vector.shape == (8,)
    back = _unpack(vector, like)
    for a, b in zip(back, like, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert _pack([]).shape == (0,) and _unpack(_pack([]), []) == []
