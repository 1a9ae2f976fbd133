"""Maxout: TensorFlow Addons' grouping (unit j takes channels j, j + n, j + 2n, ...)."""

import keras
import numpy as np
import pytest

from kfx.layers import Maxout


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_picks_the_group_maximum():
    x = np.array([[1.0, 8.0, 5.0, 2.0, 3.0, 9.0]], "float32")
    # Groups: unit 0 {1, 2}, unit 1 {8, 3}, unit 2 {5, 9}.
    np.testing.assert_array_equal(_np(Maxout(3)(x)), [[2.0, 8.0, 9.0]])
    # Two units: {1, 5, 3} and {8, 2, 9}.
    np.testing.assert_array_equal(_np(Maxout(2)(x)), [[5.0, 9.0]])


def test_matches_the_addons_reshape_on_any_axis():
    x = np.random.default_rng(0).normal(size=(2, 12, 3, 4)).astype("float32")
    expected = x.reshape(2, 3, 4, 3, 4).max(axis=1)  # axis 1 read as (12 // 4, 4)
    np.testing.assert_array_equal(_np(Maxout(4, axis=1)(x)), expected)
    last = x.reshape(2, 12, 3, 2, 2).max(axis=3)
    np.testing.assert_array_equal(_np(Maxout(2)(x)), last)


def test_unknown_batch_and_time():
    inputs = keras.Input((None, 6))
    model = keras.Model(inputs, Maxout(3)(inputs))
    x = np.random.default_rng(1).normal(size=(5, 7, 6)).astype("float32")
    got = model.predict(x, batch_size=2, verbose=0)
    np.testing.assert_array_equal(got, x.reshape(5, 7, 2, 3).max(axis=2))


def test_channels_not_a_multiple_fail_naming_both_numbers():
    with pytest.raises(
        ValueError, match=r"Maxout: argument `num_units` got 3; .*10 input channels"
    ):
        Maxout(3)(np.ones((2, 10), "float32"))


@pytest.mark.parametrize("num_units", [0, -2, 2.0, None])
def test_bad_num_units(num_units):
    with pytest.raises(ValueError, match=rf"Maxout: argument `num_units` got {num_units!r}"):
        Maxout(num_units)


def test_bad_axis_fails_at_build():
    with pytest.raises(ValueError, match=r"Maxout: argument `axis` got 0"):
        Maxout(2, axis=0).build((None, 4))
