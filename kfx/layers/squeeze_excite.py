"""SqueezeExcite: channel attention as one layer (Hu et al., 2018)."""

from __future__ import annotations

import keras
from keras import ops

from kfx import _validation as v
from kfx.layers import _arguments, _shapes


@keras.saving.register_keras_serializable(package="kfx")
class SqueezeExcite(keras.layers.Layer):
    """Squeeze-and-excitation: rescale each channel by a gate computed from global context.

    Average over the spatial axes, a dense layer down to ``max(1, round(channels * ratio))``
    units with ReLU, a dense layer back to `channels` with a sigmoid, and a multiplication
    of the input by that per-sample, per-channel gate. The same computation as the
    ``kfx.blocks.squeeze_excite`` block, in one layer. Inputs of rank 3, 4 or 5 (1D, 2D or
    3D feature maps) in either data format.

    Args:
        ratio: bottleneck width as a fraction of the channels, in (0, 1].
        data_format: ``"channels_last"``, ``"channels_first"`` or None for
            ``keras.config.image_data_format()``.
        **kwargs: base `keras.layers.Layer` arguments.

    Example:
        >>> import numpy as np, keras, kfx
        >>> layer = kfx.layers.SqueezeExcite(0.25, data_format="channels_last")
        >>> y = layer(np.ones((2, 8, 8, 16), "float32"))
        >>> tuple(y.shape), [tuple(w.shape) for w in layer.weights]
        ((2, 8, 8, 16), [(16, 4), (4,), (4, 16), (16,)])
    """

    def __init__(self, ratio: float = 0.25, data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.ratio = v.check_fraction(name, "ratio", ratio)
        self.data_format = _arguments.check_data_format(name, data_format)

    def _channel_axis(self) -> int:
        return 1 if self.data_format == "channels_first" else -1

    def build(self, input_shape):
        name = type(self).__name__
        rank = _shapes.check_rank(name, input_shape, (3, 4, 5), "(batch, spatial..., channels)")
        channels = _shapes.known_dim(name, input_shape, self._channel_axis(), "channel")
        hidden = max(1, round(channels * self.ratio))
        self.reduce_kernel = self.add_weight(
            name="reduce_kernel", shape=(channels, hidden), initializer="glorot_uniform"
        )
        self.reduce_bias = self.add_weight(name="reduce_bias", shape=(hidden,), initializer="zeros")
        self.expand_kernel = self.add_weight(
            name="expand_kernel", shape=(hidden, channels), initializer="glorot_uniform"
        )
        self.expand_bias = self.add_weight(
            name="expand_bias", shape=(channels,), initializer="zeros"
        )
        self.input_spec = keras.layers.InputSpec(ndim=rank, axes={self._channel_axis(): channels})

    def call(self, inputs):
        rank = len(inputs.shape)
        channels_first = self.data_format == "channels_first"
        spatial = tuple(range(2, rank)) if channels_first else tuple(range(1, rank - 1))
        squeezed = ops.mean(inputs, axis=spatial)  # (batch, channels)
        hidden = ops.relu(ops.matmul(squeezed, self.reduce_kernel) + self.reduce_bias)
        gate = ops.sigmoid(ops.matmul(hidden, self.expand_kernel) + self.expand_bias)
        ones = (1,) * (rank - 2)
        channels = gate.shape[-1]
        gate_shape = (-1, channels, *ones) if channels_first else (-1, *ones, channels)
        return inputs * ops.reshape(gate, gate_shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "ratio": self.ratio, "data_format": self.data_format}
