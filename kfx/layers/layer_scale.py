"""LayerScale: a learned per-channel scale that starts small (Touvron et al., CaiT 2021)."""

from __future__ import annotations

import keras
from keras import ops

from kfx import _validation as v
from kfx.layers import _shapes


@keras.saving.register_keras_serializable(package="kfx")
class LayerScale(keras.layers.Layer):
    """Multiply each channel by a learned scale initialised to `init_value`.

    Used on residual branches of deep transformers and ConvNeXt blocks:
    ``x + LayerScale(1e-5)(f(x))`` starts close to the identity. The layer owns one weight,
    ``gamma``, of shape ``(channels,)`` along `axis`; masks pass through.

    Args:
        init_value: initial value of every scale, a float >= 0.
        axis: the channel axis (default the last).
        **kwargs: base `keras.layers.Layer` arguments.

    Example:
        >>> import numpy as np, keras, kfx
        >>> layer = kfx.layers.LayerScale(0.5)
        >>> keras.ops.convert_to_numpy(layer(np.array([[2.0, -4.0]]))).tolist()
        [[1.0, -2.0]]
    """

    def __init__(self, init_value: float = 1e-5, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.init_value = v.check_non_negative_float(name, "init_value", init_value)
        self.axis = v.check_int(name, "axis", axis)
        self.supports_masking = True

    def build(self, input_shape):
        name = type(self).__name__
        rank = len(input_shape)
        axis, channels = _shapes.axis_and_size(name, input_shape, self.axis)
        self.gamma = self.add_weight(
            name="gamma",
            shape=(channels,),
            initializer=keras.initializers.Constant(self.init_value),
        )
        self._broadcast = _shapes.broadcast_shape(channels, axis, rank)
        self.input_spec = keras.layers.InputSpec(ndim=rank, axes={axis: channels})

    def call(self, inputs):
        return inputs * ops.reshape(self.gamma, self._broadcast)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "init_value": self.init_value, "axis": self.axis}
