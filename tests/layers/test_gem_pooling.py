"""GeMPooling2D: p=1 is average pooling, p grows towards max pooling, p is learnable."""

import keras
import numpy as np
import pytest

from kfx.layers import GeMPooling2D


def _np(x):
    return keras.ops.convert_to_numpy(x)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_p_one_equals_average_pooling(data_format):
    x = np.abs(np.random.default_rng(0).normal(size=(3, 5, 6, 4))).astype("float32") + 0.01
    gem = GeMPooling2D(p=1.0, data_format=data_format)
    avg = keras.layers.GlobalAveragePooling2D(data_format=data_format)
    np.testing.assert_allclose(_np(gem(x)), _np(avg(x)), rtol=1e-5, atol=1e-6)


def test_known_value_and_the_limit_towards_max():
    x = np.array([1.0, 2.0, 3.0, 4.0], "float32").reshape(1, 2, 2, 1)
    cube_mean = ((1 + 8 + 27 + 64) / 4) ** (1 / 3)
    np.testing.assert_allclose(_np(GeMPooling2D(3.0)(x)), [[cube_mean]], rtol=1e-5)
    assert _np(GeMPooling2D(p=60.0)(x))[0, 0] == pytest.approx(4.0, rel=0.03)


def test_inputs_are_clamped_at_epsilon():
    x = -np.ones((1, 2, 2, 1), "float32")
    np.testing.assert_allclose(_np(GeMPooling2D(2.0, epsilon=1e-3)(x)), [[1e-3]], rtol=1e-4)


def test_p_is_a_weight_trainable_or_not():
    trainable = GeMPooling2D(2.5)
    trainable.build((None, 4, 4, 3))
    assert [w.name for w in trainable.trainable_weights] == ["p"]
    assert float(_np(trainable.p_weight)) == 2.5
    frozen = GeMPooling2D(2.5, trainable_p=False)
    frozen.build((None, 4, 4, 3))
    assert frozen.trainable_weights == [] and [w.name for w in frozen.non_trainable_weights] == [
        "p"
    ]


def test_keepdims_shape():
    layer = GeMPooling2D(keepdims=True, data_format="channels_last")
    assert tuple(layer(np.ones((2, 4, 4, 3), "float32")).shape) == (2, 1, 1, 3)
    assert layer.compute_output_shape((None, 4, 4, 3)) == (None, 1, 1, 3)


@pytest.mark.parametrize("p", [0, -2.0, "3", None])
def test_bad_p(p):
    with pytest.raises(ValueError, match=rf"GeMPooling2D: argument `p` got {p!r}"):
        GeMPooling2D(p)


def test_bad_epsilon_and_data_format():
    with pytest.raises(ValueError, match=r"GeMPooling2D: argument `epsilon` got 0"):
        GeMPooling2D(epsilon=0)
    with pytest.raises(ValueError, match=r"GeMPooling2D: argument `data_format` got 'nhwc'"):
        GeMPooling2D(data_format="nhwc")


@pytest.mark.parametrize("shape", [(None, 8, 3), (None, 2, 4, 4, 3)])
def test_wrong_rank_fails_at_build(shape):
    with pytest.raises(ValueError, match=r"GeMPooling2D: argument `inputs` got .*rank 4"):
        GeMPooling2D().build(shape)
