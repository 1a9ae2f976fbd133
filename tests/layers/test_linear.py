"""Linear: x @ W + b, the same numbers as keras.layers.Dense, and clear errors."""

import keras
import numpy as np
import pytest

from kfx.layers import Linear


def test_equals_x_at_w_plus_b():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3)).astype("float32")
    kernel = rng.normal(size=(3, 5)).astype("float32")
    bias = rng.normal(size=(5,)).astype("float32")
    layer = Linear(5)
    layer.build((None, 3))
    layer.set_weights([kernel, bias])
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(x)), x @ kernel + bias, rtol=1e-5, atol=1e-5
    )


def test_matches_dense_with_the_same_weights_on_sequences():
    x = np.random.default_rng(1).normal(size=(2, 7, 3)).astype("float32")
    dense = keras.layers.Dense(4, activation="relu")
    dense(x)
    linear = Linear(4, activation="relu")
    linear(x)
    assert [w.name for w in linear.weights] == [w.name for w in dense.weights]
    linear.set_weights(dense.get_weights())
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(linear(x)), keras.ops.convert_to_numpy(dense(x)), atol=1e-6
    )
    assert linear.compute_output_shape((None, 7, 3)) == (None, 7, 4)


def test_without_bias():
    layer = Linear(2, use_bias=False, kernel_initializer="ones")
    y = layer(np.array([[1.0, 2.0, 3.0]], "float32"))
    assert [w.name for w in layer.weights] == ["kernel"]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(y), [[6.0, 6.0]])


@pytest.mark.parametrize("units", [0, -3, 2.5, True, "8", None])
def test_bad_units(units):
    with pytest.raises(ValueError, match=rf"Linear: argument `units` got {units!r}"):
        Linear(units)


def test_bad_activation():
    with pytest.raises(ValueError, match=r"Linear: argument `activation` got 'nope'"):
        Linear(2, activation="nope")


def test_bad_initializer():
    with pytest.raises(ValueError, match=r"Linear: argument `kernel_initializer` got 'nope'"):
        Linear(2, kernel_initializer="nope")


def test_wrong_rank_and_unknown_features_fail_at_build():
    with pytest.raises(
        ValueError, match=r"Linear: argument `inputs` got 'shape \(3,\) \(rank 1\)'"
    ):
        Linear(2).build((3,))
    with pytest.raises(ValueError, match=r"Linear: .*known features dimension"):
        Linear(2).build((None, None))
