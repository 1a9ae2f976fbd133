"""StochasticDepth: identity at inference, whole samples dropped in training, survivors scaled."""

import keras
import numpy as np
import pytest

from kfx.layers import StochasticDepth


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_identity_at_inference():
    x = np.random.default_rng(0).normal(size=(8, 4, 3)).astype("float32")
    layer = StochasticDepth(0.7, seed=0)
    np.testing.assert_array_equal(_np(layer(x)), x)
    np.testing.assert_array_equal(_np(layer(x, training=False)), x)


def test_training_drops_whole_samples_and_scales_survivors():
    rate, n = 0.25, 4000
    x = np.ones((n, 3, 2), "float32")
    y = _np(StochasticDepth(rate, seed=42)(x, training=True))
    per_sample = y.reshape(n, -1)
    # Each sample is either dropped entirely or kept entirely, scaled by 1 / (1 - rate).
    assert np.all(per_sample == per_sample[:, :1])
    np.testing.assert_allclose(np.unique(per_sample), [0.0, 1 / (1 - rate)], rtol=1e-6)
    dropped = np.mean(per_sample[:, 0] == 0)
    # Binomial(4000, 0.25): standard deviation 0.0068; 5 of them.
    assert abs(dropped - rate) < 0.035, dropped
    assert abs(per_sample.mean() - 1.0) < 0.05  # the expectation is unchanged


def test_residual_use_and_seeded_reproducibility():
    x = np.random.default_rng(1).normal(size=(64, 5)).astype("float32")
    branch = np.random.default_rng(2).normal(size=(64, 5)).astype("float32")
    a = _np(x + StochasticDepth(0.5, seed=7)(branch, training=True))
    b = _np(x + StochasticDepth(0.5, seed=7)(branch, training=True))
    np.testing.assert_array_equal(a, b)
    kept = np.all(np.isclose(a, x + 2 * branch), axis=1)
    dropped = np.all(np.isclose(a, x), axis=1)
    assert np.all(kept | dropped) and kept.any() and dropped.any()


def test_rate_zero_is_identity_in_training():
    x = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_array_equal(_np(StochasticDepth(0.0)(x, training=True)), x)


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, "0.1", None, True])
def test_bad_rate(rate):
    with pytest.raises(ValueError, match=rf"StochasticDepth: argument `rate` got {rate!r}"):
        StochasticDepth(rate)


def test_bad_seed():
    with pytest.raises(ValueError, match=r"StochasticDepth: argument `seed` got 1.5"):
        StochasticDepth(0.1, seed=1.5)
