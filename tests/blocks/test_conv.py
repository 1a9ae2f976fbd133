import keras
import numpy as np
import pytest

from kfx import blocks


@pytest.mark.parametrize("strides", [1, 2])
def test_conv_bn_act_shape(data_format, spatial, strides, make_input, split_shape):
    y = blocks.conv_bn_act(make_input(spatial, 3), 5, strides=strides)
    out_spatial, channels = split_shape(y)
    assert channels == 5
    assert out_spatial == tuple(s // strides for s in spatial)


def test_conv_bn_act_layers_and_bias(make_input):
    x = make_input((8, 8), 3)
    model = keras.Model(x, blocks.conv_bn_act(x, 4, name="stem"))
    names = [layer.name for layer in model.layers[1:]]
    assert names == ["stem_conv", "stem_bn", "stem_act"]
    assert model.get_layer("stem_conv").use_bias is False  # the norm's beta replaces it

    model = keras.Model(x, blocks.conv_bn_act(x, 4, norm=None, activation=None, name="plain"))
    assert [layer.name for layer in model.layers[1:]] == ["plain_conv"]
    assert model.get_layer("plain_conv").use_bias is True


def test_conv_bn_act_layer_norm_normalizes_channels(make_input):
    x = make_input((4, 4), 2)
    model = keras.Model(x, blocks.conv_bn_act(x, 6, norm="layer", activation=None))
    y = model.predict(np.random.default_rng(0).normal(size=(2, 4, 4, 2)), verbose=0)
    np.testing.assert_allclose(y.mean(axis=-1), 0.0, atol=1e-4)


@pytest.mark.parametrize("strides", [1, 2])
def test_separable_shape(data_format, spatial, strides, make_input, split_shape):
    y = blocks.separable(make_input(spatial, 4), 6, strides=strides)
    out_spatial, channels = split_shape(y)
    assert (out_spatial, channels) == (tuple(s // strides for s in spatial), 6)


def test_separable_3d_is_depthwise_then_pointwise(make_input):
    x = make_input((4, 4, 4), 3)
    model = keras.Model(x, blocks.separable(x, 5, kernel_size=3, name="sep"))
    # depthwise: 3x3x3 per input channel; pointwise: 3 -> 5; no biases before the norm.
    assert model.get_layer("sep_sepconv_depthwise").count_params() == 27 * 3
    assert model.get_layer("sep_sepconv_pointwise").count_params() == 3 * 5
    out = model.predict(np.ones((2, 4, 4, 4, 3), "float32"), verbose=0)
    assert out.shape == (2, 4, 4, 4, 5) and np.isfinite(out).all()


def test_separable_2d_matches_keras_separable_params(make_input):
    x = make_input((8, 8), 4)
    model = keras.Model(x, blocks.separable(x, 8, name="sep"))
    assert model.get_layer("sep_sepconv").count_params() == 9 * 4 + 4 * 8
