"""Linear: a dense layer written from scratch (the tutorials' CustomDense done right)."""

from __future__ import annotations

import keras
from keras import ops

from kfx import _validation as v
from kfx.layers import _arguments, _shapes


@keras.saving.register_keras_serializable(package="kfx")
class Linear(keras.layers.Layer):
    """Dense layer written from scratch: ``activation(x @ kernel + bias)``.

    The tutorials' ``CustomDense``/``MyDense`` made complete: registered, `get_config`
    holding every argument, weights created in `build` from the input's last dimension,
    any leading shape (``(batch, features)`` or ``(batch, time, features)``, masks pass
    through), mixed precision and every backend. Its weights are named and ordered like
    `keras.layers.Dense`'s (``kernel``, ``bias``), so ``set_weights`` works both ways.

    Args:
        units: number of output units, a positive int.
        activation: None (linear), a callable or a `keras.activations` name.
        use_bias: whether to add a bias.
        kernel_initializer: initializer of the ``(features, units)`` kernel.
        bias_initializer: initializer of the ``(units,)`` bias.
        **kwargs: base `keras.layers.Layer` arguments (``name``, ``dtype``, ...).

    Example:
        >>> import numpy as np, keras, kfx
        >>> layer = kfx.layers.Linear(3, kernel_initializer="ones")
        >>> keras.ops.convert_to_numpy(layer(np.array([[1.0, 2.0]]))).tolist()
        [[3.0, 3.0, 3.0]]
    """

    def __init__(
        self,
        units: int,
        activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.units = v.check_positive_int(name, "units", units)
        self.activation = _arguments.get_activation(name, activation)
        self.use_bias = v.check_bool(name, "use_bias", use_bias)
        self.kernel_initializer = _arguments.get_initializer(
            name, "kernel_initializer", kernel_initializer
        )
        self.bias_initializer = _arguments.get_initializer(
            name, "bias_initializer", bias_initializer
        )
        self.supports_masking = True

    def build(self, input_shape):
        name = type(self).__name__
        _shapes.check_min_rank(name, input_shape, 2, "(batch, ..., features)")
        features = _shapes.known_dim(name, input_shape, -1, "features")
        self.kernel = self.add_weight(
            name="kernel", shape=(features, self.units), initializer=self.kernel_initializer
        )
        self.bias = (
            self.add_weight(name="bias", shape=(self.units,), initializer=self.bias_initializer)
            if self.use_bias
            else None
        )
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: features})

    def call(self, inputs):
        outputs = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            outputs = ops.add(outputs, self.bias)
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape)[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
