"""SqueezeExcite: the gate by hand, both data formats, and clear errors."""

import keras
import numpy as np
import pytest

from kfx.layers import SqueezeExcite


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _reference(x, weights):
    w1, b1, w2, b2 = weights
    squeezed = x.mean(axis=tuple(range(1, x.ndim - 1)))
    hidden = np.maximum(squeezed @ w1 + b1, 0)
    gate = 1 / (1 + np.exp(-(hidden @ w2 + b2)))
    return x * gate.reshape(gate.shape[0], *([1] * (x.ndim - 2)), gate.shape[1])


@pytest.mark.parametrize("spatial", [(9,), (4, 5), (2, 3, 4)], ids=["1d", "2d", "3d"])
def test_matches_the_computation_by_hand(spatial):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, *spatial, 8)).astype("float32")
    layer = SqueezeExcite(0.25, data_format="channels_last")
    layer.build(x.shape)
    weights = [rng.normal(size=tuple(w.shape)).astype("float32") for w in layer.weights]
    layer.set_weights(weights)
    np.testing.assert_allclose(_np(layer(x)), _reference(x, weights), rtol=1e-5, atol=1e-5)


def test_channels_first_equals_transposed_channels_last():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 4, 5, 6)).astype("float32")
    last = SqueezeExcite(0.5, data_format="channels_last")
    first = SqueezeExcite(0.5, data_format="channels_first")
    last.build(x.shape)
    first.build((2, 6, 4, 5))
    first.set_weights(last.get_weights())
    got = _np(first(np.transpose(x, (0, 3, 1, 2))))
    np.testing.assert_allclose(np.transpose(got, (0, 2, 3, 1)), _np(last(x)), atol=1e-5)


@pytest.mark.parametrize(
    ("channels", "ratio", "hidden"), [(16, 0.25, 4), (3, 0.1, 1), (10, 0.25, 2)]
)
def test_bottleneck_width(channels, ratio, hidden):
    layer = SqueezeExcite(ratio, data_format="channels_last")
    layer.build((None, 4, 4, channels))
    assert tuple(layer.reduce_kernel.shape) == (channels, hidden)


def test_data_format_defaults_to_the_keras_setting():
    previous = keras.config.image_data_format()
    keras.config.set_image_data_format("channels_first")
    try:
        assert SqueezeExcite().get_config()["data_format"] == "channels_first"
    finally:
        keras.config.set_image_data_format(previous)


@pytest.mark.parametrize("ratio", [0, -0.5, 1.5, "half", None])
def test_bad_ratio(ratio):
    with pytest.raises(ValueError, match=rf"SqueezeExcite: argument `ratio` got {ratio!r}"):
        SqueezeExcite(ratio)


def test_bad_data_format():
    with pytest.raises(ValueError, match=r"SqueezeExcite: argument `data_format` got 'NHWC'"):
        SqueezeExcite(data_format="NHWC")


def test_wrong_rank_and_unknown_channels_fail_at_build():
    with pytest.raises(
        ValueError, match=r"SqueezeExcite: argument `inputs` got .*rank 2.*rank 3 or 4 or 5"
    ):
        SqueezeExcite(data_format="channels_last").build((None, 8))
    with pytest.raises(ValueError, match=r"SqueezeExcite: .*known channel dimension"):
        SqueezeExcite(data_format="channels_last").build((None, 4, 4, None))
