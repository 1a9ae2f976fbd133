"""Sampling: z = mean + exp(log_var / 2) * eps, mean-centred, deterministic at inference."""

import keras
import numpy as np
import pytest

from kfx.layers import Sampling


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_samples_are_centred_on_the_mean_with_the_right_spread():
    n = 20000
    z_mean = np.full((n, 2), [2.0, -1.0], "float32")
    z_log_var = np.full((n, 2), np.log([4.0, 0.25]), "float32")
    z = _np(Sampling(seed=0)([z_mean, z_log_var], training=True))
    # Standard errors: 2 / sqrt(n) = 0.014 and 0.5 / sqrt(n) = 0.0035; allow 5 of them.
    assert np.all(np.abs(z.mean(axis=0) - [2.0, -1.0]) < [0.07, 0.018]), z.mean(axis=0)
    np.testing.assert_allclose(z.std(axis=0), [2.0, 0.5], rtol=0.03)


def test_inference_returns_the_mean():
    z_mean = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    z_log_var = np.zeros((3, 4), "float32")
    layer = Sampling(seed=1)
    np.testing.assert_array_equal(_np(layer([z_mean, z_log_var])), z_mean)
    np.testing.assert_array_equal(_np(layer([z_mean, z_log_var], training=False)), z_mean)


def test_seeded_draws_repeat():
    args = [np.zeros((4, 3), "float32"), np.zeros((4, 3), "float32")]
    a = _np(Sampling(seed=5)(args, training=True))
    b = _np(Sampling(seed=5)(args, training=True))
    np.testing.assert_array_equal(a, b)
    assert np.std(a) > 0


def test_single_input_fails():
    with pytest.raises(
        ValueError, match=r"Sampling: argument `inputs` got .*\[z_mean, z_log_var\]"
    ):
        Sampling().build((None, 4))


def test_mismatched_shapes_fail():
    with pytest.raises(ValueError, match=r"Sampling: argument `inputs` got .*same shape"):
        Sampling()([np.zeros((2, 3), "float32"), np.zeros((2, 4), "float32")])


def test_bad_seed():
    with pytest.raises(ValueError, match=r"Sampling: argument `seed` got 'a'"):
        Sampling(seed="a")
