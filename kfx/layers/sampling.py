"""Sampling: the reparameterisation trick of variational autoencoders (Kingma & Welling)."""

from __future__ import annotations

import keras
from keras import ops

from kfx import _validation as v
from kfx.layers import _shapes


@keras.saving.register_keras_serializable(package="kfx")
class Sampling(keras.layers.Layer):
    """Draw ``z = z_mean + exp(z_log_var / 2) * eps`` with ``eps ~ N(0, 1)``.

    Called on ``[z_mean, z_log_var]`` (two tensors of one shape), as in the Keras VAE
    example, but registered and seeded. In training it samples; at inference it returns
    `z_mean`, so `predict` and a reloaded model are deterministic, like
    `keras.layers.GaussianNoise`. Call it with ``training=True`` to sample at inference.

    Args:
        seed: None or an int, for reproducible draws.
        **kwargs: base `keras.layers.Layer` arguments.

    Example:
        >>> import numpy as np, keras, kfx
        >>> z_mean, z_log_var = np.zeros((2, 3), "float32"), np.zeros((2, 3), "float32")
        >>> sampling = kfx.layers.Sampling(seed=0)
        >>> tuple(sampling([z_mean, z_log_var], training=True).shape)
        (2, 3)
        >>> keras.ops.convert_to_numpy(sampling([z_mean + 1.0, z_log_var])).tolist()
        [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = v.check_seed(type(self).__name__, seed)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        name = type(self).__name__
        if (
            not isinstance(input_shape, (list, tuple))
            or len(input_shape) != 2
            or not all(isinstance(s, (list, tuple)) for s in input_shape)
        ):
            v.fail(name, "inputs", input_shape, "a list [z_mean, z_log_var] of two tensors")
        mean_shape, log_var_shape = (tuple(s) for s in input_shape)
        if mean_shape != log_var_shape:
            v.fail(
                name,
                "inputs",
                f"z_mean of shape {mean_shape} and z_log_var of shape {log_var_shape}",
                "two tensors of the same shape",
            )
        _shapes.check_min_rank(name, mean_shape, 2, "(batch, latent...)")

    def call(self, inputs, training=None):
        z_mean, z_log_var = inputs
        if not training:
            return z_mean
        epsilon = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * ops.cast(epsilon, z_mean.dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
