"""L2Normalize: unit Euclidean norm along an axis; zero vectors stay zero."""

import keras
import numpy as np
import pytest

from kfx.layers import L2Normalize


def _np(x):
    return keras.ops.convert_to_numpy(x)


@pytest.mark.parametrize("axis", [-1, 1])
def test_unit_norm(axis):
    x = np.random.default_rng(0).normal(size=(4, 5, 6)).astype("float32")
    y = _np(L2Normalize(axis=axis)(x))
    np.testing.assert_allclose(np.linalg.norm(y, axis=axis), 1.0, rtol=1e-5)
    np.testing.assert_allclose(y, x / np.linalg.norm(x, axis=axis, keepdims=True), rtol=1e-5)


def test_zero_vector_stays_zero():
    y = _np(L2Normalize()(np.zeros((1, 3), "float32")))
    assert np.all(y == 0) and np.all(np.isfinite(y))


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"L2Normalize: argument `epsilon` got 0"):
        L2Normalize(epsilon=0)
    with pytest.raises(ValueError, match=r"L2Normalize: argument `axis` got 'last'"):
        L2Normalize(axis="last")


@pytest.mark.parametrize("axis", [0, 2, -3])
def test_bad_axis_fails_at_build(axis):
    with pytest.raises(ValueError, match=rf"L2Normalize: argument `axis` got {axis}"):
        L2Normalize(axis=axis).build((None, 4))
