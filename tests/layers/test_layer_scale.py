"""LayerScale: starts at init_value * x, one learned scale per channel."""

import keras
import numpy as np
import pytest

from kfx.layers import LayerScale


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_starts_at_init_value_times_x():
    x = np.random.default_rng(0).normal(size=(2, 5, 6)).astype("float32")
    layer = LayerScale(1e-5)
    np.testing.assert_allclose(_np(layer(x)), 1e-5 * x, rtol=1e-6)
    assert tuple(layer.gamma.shape) == (6,) and layer.gamma.trainable


def test_scales_each_channel_on_its_axis():
    x = np.ones((2, 3, 4, 4), "float32")  # channels first
    layer = LayerScale(1.0, axis=1)
    layer.build(x.shape)
    layer.set_weights([np.array([1.0, 2.0, 3.0], "float32")])
    y = _np(layer(x))
    np.testing.assert_array_equal(y[:, :, 0, 0], [[1.0, 2.0, 3.0]] * 2)


@pytest.mark.parametrize("value", [-1.0, "1", None])
def test_bad_init_value(value):
    with pytest.raises(ValueError, match=rf"LayerScale: argument `init_value` got {value!r}"):
        LayerScale(value)


@pytest.mark.parametrize("axis", [0, 3, -4])
def test_bad_axis_fails_at_build(axis):
    with pytest.raises(ValueError, match=rf"LayerScale: argument `axis` got {axis}"):
        LayerScale(axis=axis).build((None, 4, 5))


def test_wrong_rank_fails_at_build():
    with pytest.raises(ValueError, match=r"LayerScale: argument `inputs` got .*rank 1"):
        LayerScale().build((5,))
