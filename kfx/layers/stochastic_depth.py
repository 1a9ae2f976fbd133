"""StochasticDepth: drop a residual branch per sample while training (Huang et al., 2016)."""

from __future__ import annotations

import keras
from keras import ops

from kfx import _validation as v
from kfx.layers import _shapes


@keras.saving.register_keras_serializable(package="kfx")
class StochasticDepth(keras.layers.Layer):
    """Drop the whole residual branch of some samples while training ("drop path").

    Apply it to the branch, not to the sum: ``x + StochasticDepth(rate)(f(x))``. In training
    each sample's branch is zeroed with probability `rate` and the survivors are scaled by
    ``1 / (1 - rate)``, so the expected output is unchanged; at inference the layer is the
    identity. (TensorFlow Addons' StochasticDepth took ``[shortcut, branch]`` and scaled at
    inference instead; the expected values agree.)

    Args:
        rate: probability of dropping a sample's branch, in [0, 1).
        seed: None or an int, for reproducible drops.
        **kwargs: base `keras.layers.Layer` arguments.

    Example:
        >>> import numpy as np, keras, kfx
        >>> x = np.ones((4, 3), "float32")
        >>> layer = kfx.layers.StochasticDepth(0.5, seed=1)
        >>> keras.ops.convert_to_numpy(layer(x)).tolist()  # inference: identity
        [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
        >>> y = keras.ops.convert_to_numpy(layer(x, training=True))  # rows of 0 or 1/(1-0.5)
        >>> set(y.ravel().tolist()) <= {0.0, 2.0}
        True
    """

    def __init__(self, rate: float = 0.1, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.rate = v.check_rate(name, "rate", rate)
        self.seed = v.check_seed(name, seed)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def build(self, input_shape):
        _shapes.check_min_rank(type(self).__name__, input_shape, 1, "(batch, ...)")

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        batch = ops.shape(inputs)[0]
        noise_shape = (batch,) + (1,) * (len(inputs.shape) - 1)
        keep_prob = 1.0 - self.rate
        uniform = keras.random.uniform(noise_shape, seed=self.seed_generator)
        keep = ops.cast(uniform < keep_prob, inputs.dtype)
        return inputs * keep / ops.cast(keep_prob, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
