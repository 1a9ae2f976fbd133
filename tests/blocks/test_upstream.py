"""Known bugs of the supported Keras that reach kfx's blocks, pinned so that a fixed release
shows up here (the strict xfail then passes unexpectedly, which fails the suite)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import kfx


@pytest.mark.xfail(
    keras.backend.backend() == "tensorflow",
    strict=True,
    reason="Keras 3 TensorFlow backend: ops.add turns a (1, C, 1, 1) bias into tf.nn.bias_add "
    "and picks NHWC when the last axis also has C entries (eager calls; fit and predict, "
    "traced, give the right numbers)",
)
def test_channels_first_conv_bias_when_the_width_equals_the_filters():
    previous = keras.config.image_data_format()
    keras.config.set_image_data_format("channels_first")
    try:
        inputs = keras.Input((3, 5, 3))  # 3 channels, height 5, width 3
        model = keras.Model(
            inputs, kfx.blocks.conv_bn_act(inputs, 3, 1, activation=None, norm=None, name="c")
        )
    finally:
        keras.config.set_image_data_format(previous)
    conv = model.get_layer("c_conv")
    bias = np.array([0.0, 1.0, 2.0], "float32")
    conv.set_weights([np.zeros_like(conv.get_weights()[0]), bias])
    x = np.zeros((2, 3, 5, 3), "float32")
    want = np.broadcast_to(bias.reshape(1, 3, 1, 1), x.shape)
    np.testing.assert_array_equal(model.predict(x, verbose=0), want)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(x)), want)
