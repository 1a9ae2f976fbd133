"""kfx.tuning._single_replica: the one-replica all-reduce skipped, same training, strategies kept."""

from __future__ import annotations

import ast
import pathlib

import keras
import numpy as np
import pytest

import kfx
from kfx.tuning import _single_replica

TF_ONLY = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="the all-reduce is TensorFlow's"
)


def _model(seed=0, optimizer="adam"):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(optimizer, "mse")
    return model


def test_only_this_module_touches_the_optimizer_method():
    package = pathlib.Path(kfx.__file__).parent
    users = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if any(
            isinstance(node, ast.Constant)
            and node.value == _single_replica.METHOD
            or isinstance(node, ast.Attribute)
            and node.attr == _single_replica.METHOD
            for node in ast.walk(ast.parse(path.read_text()))
        )
    )
    assert users == ["tuning/_single_replica.py"]


@TF_ONLY
def test_the_supported_keras_has_the_method():
    """A Keras release that renames it fails here, not silently in a search's memory."""
    for name in ("adam", "sgd", "rmsprop", "adamw"):
        assert callable(getattr(keras.optimizers.get(name), _single_replica.METHOD, None)), name


def test_applies_on_tensorflow_only_and_once():
    model = _model()
    tensorflow = keras.backend.backend() == "tensorflow"
    assert _single_replica.skip_all_reduce(model) is tensorflow
    assert _single_replica.skip_all_reduce(model) is False  # already done
    assert _single_replica.skip_all_reduce("not a model") is False
    uncompiled = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    assert _single_replica.skip_all_reduce(uncompiled) is False


@TF_ONLY
def test_the_wrapped_loss_scale_optimizer_too():
    model = _model(optimizer=keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD()))
    assert _single_replica.skip_all_reduce(model)
    for optimizer in (model.optimizer, model.optimizer.inner_optimizer):
        assert getattr(optimizer, _single_replica.METHOD).kfx_single_replica


@TF_ONLY
def test_training_is_unchanged():
    x = np.random.default_rng(1).random((64, 3)).astype("float32")
    y = x @ np.array([1.0, -2.0, 0.5], dtype="float32")
    weights = []
    for skip in (False, True):
        model = _model(seed=3)
        if skip:
            assert _single_replica.skip_all_reduce(model)
        history = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
        weights.append((model.get_weights(), history.history["loss"]))
    (plain, plain_loss), (skipped, skipped_loss) = weights
    np.testing.assert_allclose(skipped_loss, plain_loss, rtol=1e-6)
    for a, b in zip(plain, skipped, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@TF_ONLY
def test_under_a_strategy_the_gradients_are_still_summed():
    import tensorflow as tf

    calls = []

    def summed(grads_and_vars):
        calls.append(len(grads_and_vars))
        return grads_and_vars

    wrapped = _single_replica._unless_distributed(summed, tf.distribute.has_strategy)
    pairs = [(tf.ones(2), None)]
    assert wrapped(pairs) == pairs and calls == []  # default strategy: skipped
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    strategy.run(lambda: wrapped(pairs))
    assert calls == [1]
    # And a model compiled and trained under the strategy trains as before.
    with strategy.scope():
        model = _model()
    assert _single_replica.skip_all_reduce(model)
    x = np.ones((8, 3), "float32")
    model.fit(x, x.sum(axis=1), epochs=1, verbose=0)
