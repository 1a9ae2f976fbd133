"""LoopRNN: a recurrent layer that loops over time itself (the tutorials' CustomRNN done right)."""

from __future__ import annotations

import keras
from keras import ops

from kfx import _validation as v
from kfx.layers import _arguments, _shapes


@keras.saving.register_keras_serializable(package="kfx")
class LoopRNN(keras.layers.Layer):
    """Elman recurrent layer whose loop over time runs inside the layer.

    ``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``, with ``h_0 = 0``.
    The input projection of all steps is one matrix product; the loop over time is
    ``tf.while_loop`` over TensorArrays on TensorFlow and ``keras.ops.scan`` elsewhere (the
    math is ``keras.ops`` on every backend), so the batch size and the number of steps may
    both be unknown until run time (the tutorials' ``CustomRNN`` reads ``inputs.shape[0]``
    and breaks on a dynamic or partial batch). A masked step keeps the previous state and repeats the previous
    output, as `keras.layers.SimpleRNN` does; the weights are named and ordered like
    SimpleRNN's (``kernel``, ``recurrent_kernel``, ``bias``), so the two give the same
    numbers with the same weights.

    Args:
        units: size of the state and of the output, a positive int.
        return_sequences: return every step's output ``(batch, time, units)`` instead of the
            last one ``(batch, units)``; the input mask then passes on.
        activation: a callable or a `keras.activations` name (default ``"tanh"``).
        use_bias: whether to add a bias.
        kernel_initializer: initializer of the ``(features, units)`` input kernel.
        recurrent_initializer: initializer of the ``(units, units)`` recurrent kernel.
        bias_initializer: initializer of the ``(units,)`` bias.
        **kwargs: base `keras.layers.Layer` arguments.

    Example:
        >>> import numpy as np, keras, kfx
        >>> inputs = keras.Input((None, 3))  # any batch size, any number of steps
        >>> model = keras.Model(inputs, kfx.layers.LoopRNN(4)(inputs))
        >>> model.predict(np.ones((5, 7, 3)), batch_size=2, verbose=0).shape
        (5, 4)
    """

    def __init__(
        self,
        units: int,
        return_sequences: bool = False,
        activation="tanh",
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.units = v.check_positive_int(name, "units", units)
        self.return_sequences = v.check_bool(name, "return_sequences", return_sequences)
        self.activation = _arguments.get_activation(name, activation)
        self.use_bias = v.check_bool(name, "use_bias", use_bias)
        self.kernel_initializer = _arguments.get_initializer(
            name, "kernel_initializer", kernel_initializer
        )
        self.recurrent_initializer = _arguments.get_initializer(
            name, "recurrent_initializer", recurrent_initializer
        )
        self.bias_initializer = _arguments.get_initializer(
            name, "bias_initializer", bias_initializer
        )
        self.supports_masking = True

    def build(self, input_shape):
        name = type(self).__name__
        _shapes.check_rank(name, input_shape, (3,), "(batch, time, features)")
        features = _shapes.known_dim(name, input_shape, -1, "features")
        self.kernel = self.add_weight(
            name="kernel", shape=(features, self.units), initializer=self.kernel_initializer
        )
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel",
            shape=(self.units, self.units),
            initializer=self.recurrent_initializer,
        )
        self.bias = (
            self.add_weight(name="bias", shape=(self.units,), initializer=self.bias_initializer)
            if self.use_bias
            else None
        )
        self.input_spec = keras.layers.InputSpec(ndim=3, axes={-1: features})

    def call(self, inputs, mask=None):
        # Project every step at once; the loop then only adds the recurrent term.
        projected = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            projected = ops.add(projected, self.bias)
        projected = ops.transpose(projected, (1, 0, 2))  # time-major
        keep = None
        if mask is not None:
            keep = ops.expand_dims(ops.transpose(ops.cast(mask, "bool"), (1, 0)), -1)
        recurrent_kernel = ops.convert_to_tensor(self.recurrent_kernel)
        state = ops.zeros((ops.shape(inputs)[0], self.units), dtype=projected.dtype)

        def cell(previous, projected_t, keep_t):
            h = self.activation(projected_t + ops.matmul(previous, recurrent_kernel))
            return h if keep_t is None else ops.where(keep_t, h, previous)

        if keras.backend.backend() == "tensorflow":
            last, outputs = self._while_loop(cell, state, projected, keep)
        else:
            last, outputs = self._scan(cell, state, projected, keep)
        if self.return_sequences:
            return ops.transpose(outputs, (1, 0, 2))
        return last

    # Two spellings of one loop over time. `keras.ops.scan` cannot be differentiated under
    # XLA on TensorFlow (its tf.while_loop has no `maximum_iterations`, so `jit_compile=True`
    # training fails), and `keras.ops.while_loop` cannot be reverse-differentiated on JAX;
    # `keras.ops.while_loop` with a scatter per step is 2x slower than SimpleRNN outside XLA.

    def _scan(self, cell, state, projected, keep):
        def step(previous, xs):
            projected_t, keep_t = xs if keep is not None else (xs, None)
            h = cell(previous, projected_t, keep_t)
            return h, h

        return ops.scan(step, state, projected if keep is None else (projected, keep))

    def _while_loop(self, cell, state, projected, keep):
        # TensorFlow's own loop: `maximum_iterations` makes it differentiable under XLA, and
        # a TensorArray writes each step's output in O(1) (a scatter into a dense tensor
        # copies the whole sequence at every step outside XLA). The math stays keras.ops.
        import tensorflow as tf

        steps = ops.shape(projected)[0]
        outputs = tf.TensorArray(projected.dtype, size=steps) if self.return_sequences else None
        # Reading step t from a TensorArray: the gradient of `projected[t]` is a dense
        # (time, batch, units) tensor per step.
        inputs = tf.TensorArray(projected.dtype, size=steps).unstack(projected)
        keeps = None if keep is None else tf.TensorArray(keep.dtype, size=steps).unstack(keep)

        def body(t, previous, *written):
            keep_t = None if keeps is None else keeps.read(t)
            h = cell(previous, inputs.read(t), keep_t)
            return (t + 1, h, *(out.write(t, h) for out in written))

        loop_vars = (tf.constant(0), state, *([outputs] if outputs is not None else []))
        results = tf.while_loop(lambda t, *_: t < steps, body, loop_vars, maximum_iterations=steps)
        return results[1], (results[2].stack() if self.return_sequences else None)

    def compute_mask(self, inputs, mask=None):
        return mask if self.return_sequences else None

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            return (input_shape[0], input_shape[1], self.units)
        return (input_shape[0], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "return_sequences": self.return_sequences,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
