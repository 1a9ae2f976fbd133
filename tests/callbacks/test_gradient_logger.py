import copy

import keras
import numpy as np
import pytest
from tensorboard.backend.event_processing.plugin_event_accumulator import EventAccumulator
from tensorboard.util import tensor_util

from kfx.callbacks import GradientLogger


def linear_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="lin")], name="net")
    model.compile("sgd", "mse")
    return model


def test_gradients_equal_the_analytic_ones_and_reach_tensorboard(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 3), dtype=np.float32), rng.random((8, 2), dtype=np.float32)
    model = linear_model()
    logger = GradientLogger((x, y), log_dir=tmp_path, batch_size=8)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[logger])

    kernel, bias = (np.asarray(w) for w in model.get_layer("lin").get_weights())
    residual = x @ kernel + bias - y  # d mean((xW+b-y)^2) / dW = 2 x^T r / (N * outputs)
    expected = {
        "lin/kernel": 2 * x.T @ residual / residual.size,
        "lin/bias": 2 * residual.sum(0) / residual.size,
    }
    gradients = {k: keras.ops.convert_to_numpy(v) for k, v in logger.gradients().items()}
    for path, value in expected.items():
        np.testing.assert_allclose(gradients[path], value, rtol=1e-4, atol=1e-6)
        assert logger.last_norms[path] > 0

    acc = EventAccumulator(str(tmp_path / "gradients"), size_guidance={"tensors": 0})
    acc.Reload()
    tags = set(acc.Tags()["tensors"])
    assert tags == {
        "lin/kernel/gradient",
        "lin/kernel/gradient_norm",
        "lin/bias/gradient",
        "lin/bias/gradient_norm",
        "global/gradient_norm",
    }
    assert [e.step for e in acc.Tensors("lin/kernel/gradient")] == [0, 1]
    buckets = tensor_util.make_ndarray(acc.Tensors("lin/kernel/gradient")[-1].tensor_proto)
    assert buckets[:, 2].sum() == 6
    norms = {
        tag: float(tensor_util.make_ndarray(acc.Tensors(tag)[-1].tensor_proto))
        for tag in tags
        if tag.endswith("norm")
    }
    assert norms["global/gradient_norm"] == pytest.approx(logger.last_norms["global"], rel=1e-5)


def test_logging_changes_no_state(tmp_path):
    inputs = keras.Input((4,))
    h = keras.layers.BatchNormalization(name="bn")(keras.layers.Dense(4, name="d")(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1, name="out")(h))
    model.compile("sgd", "mse", metrics=["mae"])
    x, y = np.random.default_rng(1).random((16, 4), dtype=np.float32) * 5, np.ones((16, 1))
    logger = GradientLogger((x, y), log_dir=tmp_path)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[logger])
    before = [np.array(v) for v in model.variables]
    metrics_before = [np.array(v) for v in model.metrics_variables]
    logger._log(1)
    for old, new in zip(before, model.variables, strict=True):
        np.testing.assert_array_equal(old, np.array(new))
    for old, new in zip(metrics_before, model.metrics_variables, strict=True):
        np.testing.assert_array_equal(old, np.array(new))
    assert "bn/gamma" in logger.last_norms and "bn/moving_mean" not in logger.last_norms


def test_multi_output_dict_targets(tmp_path):
    inputs = keras.Input((3,), name="x")
    model = keras.Model(
        inputs,
        {
            "a": keras.layers.Dense(1, name="a")(inputs),
            "b": keras.layers.Dense(2, name="b")(inputs),
        },
    )
    model.compile("adam", {"a": "mse", "b": "mse"}, loss_weights={"a": 1.0, "b": 0.0})
    x = np.ones((4, 3), np.float32)
    y = {"a": np.zeros((4, 1)), "b": np.zeros((4, 2))}
    logger = GradientLogger((x, y), log_dir=tmp_path)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[logger])
    assert logger.last_norms["a/kernel"] > 0
    assert logger.last_norms["b/kernel"] == 0  # weight 0: no gradient reaches b


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="GradientLogger.*data.*without targets"):
        GradientLogger(np.zeros((4, 3)), log_dir=tmp_path)
    with pytest.raises(ValueError, match="GradientLogger.*batch_size"):
        GradientLogger((np.zeros((4, 3)), np.zeros(4)), log_dir=tmp_path, batch_size=0)
    with pytest.raises(ValueError, match="GradientLogger.*log_dir"):
        GradientLogger((np.zeros((4, 3)), np.zeros(4)), log_dir=None)


def test_deep_copy_and_reuse(tmp_path):
    x, y = np.ones((4, 3), np.float32), np.ones((4, 2), np.float32)
    logger = GradientLogger((x, y), log_dir=tmp_path)
    linear_model().fit(x, y, epochs=1, verbose=0, callbacks=[logger])
    clone = copy.deepcopy(logger)
    assert clone.model is None
    linear_model().fit(x, y, epochs=1, verbose=0, callbacks=[clone])
    assert set(clone.last_norms) == {"lin/kernel", "lin/bias", "global"}
