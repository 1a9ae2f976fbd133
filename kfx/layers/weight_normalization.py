"""WeightNormalization: kernel = g * v / ||v|| (Salimans & Kingma, 2016)."""

from __future__ import annotations

import inspect

import keras
from keras import ops

from kfx import _validation as v

# Added to the variance before the square root in the data-dependent init (TensorFlow
# Addons' value).
_DATA_INIT_EPSILON = 1e-10


def _own_variable(layer, value):
    """`value` if it is one of `layer`'s variables, else None.

    Identity with ``layer.variables`` rather than ``isinstance(value, keras.Variable)``:
    on Keras 3.5 a layer's variables are backend variables that are not instances of
    the exported ``keras.Variable``.
    """
    return value if any(value is var for var in layer.variables) else None


def _concrete(value):
    """`value` as a NumPy array, or None when it is a traced (symbolic) value."""
    try:
        return ops.convert_to_numpy(value)
    except Exception:
        return None


@keras.saving.register_keras_serializable(package="kfx")
class WeightNormalization(keras.layers.Wrapper):
    """Reparameterise a layer's kernel as ``g * v / ||v||``: a direction and a length.

    Wraps a layer with a ``kernel`` variable whose last axis is the output units or
    filters (Dense, EinsumDense, Conv1D/2D/3D). The wrapped kernel becomes the direction
    ``v``; the wrapper adds ``g`` with one length per output unit, the norm being taken
    over all other kernel axes. Both are trained; the wrapped layer runs unchanged with
    ``g * v / ||v||`` in place of its kernel (through `keras.StatelessScope`, so gradients
    reach ``g`` and ``v`` on every backend).

    With ``data_init=False`` ``g`` starts at ``||v||``: the wrapped layer's output is
    unchanged at initialisation. With ``data_init=True`` the first call on data sets ``g``
    and the wrapped layer's bias so that each unit's pre-activation has zero mean and unit
    variance over that batch: ``g = 1 / std(t)``, ``bias = -mean(t) / std(t)`` for
    ``t = x * v / ||v||`` (the paper's section 3). TensorFlow Addons runs the same steps
    but takes the statistics of ``x * v``, so the two agree when the kernel's columns have
    unit norm (Addons' own test) and Addons' pre-activations are off by ``||v||`` otherwise.
    A non-trainable ``initialized`` flag is saved with the weights, so a reloaded model is
    never initialised again. On TensorFlow the first call may be inside `fit`; on JAX,
    whose compiled steps cannot write trainable weights, call the model once eagerly
    (``model(x_batch)``) before `fit`, `evaluate` or `predict`.

    Args:
        layer: the `keras.layers.Layer` to wrap; it must have a ``kernel`` once built.
        data_init: initialise ``g`` and the bias from the first batch.
        **kwargs: base `keras.layers.Layer` arguments.

    Example:
        >>> import numpy as np, keras, kfx
        >>> dense = keras.layers.Dense(2, kernel_initializer="identity")
        >>> wn = kfx.layers.WeightNormalization(dense, data_init=True)
        >>> x = np.array([[-4.0, -4.0], [4.0, 4.0]], "float32")
        >>> keras.ops.convert_to_numpy(wn(x)).tolist()  # each unit: zero mean, unit variance
        [[-1.0, -1.0], [1.0, 1.0]]
        >>> [w.name for w in wn.weights]
        ['g', 'initialized', 'kernel', 'bias']
    """

    def __init__(self, layer, data_init: bool = False, **kwargs):
        name = type(self).__name__
        if not isinstance(layer, keras.layers.Layer):
            v.fail(name, "layer", layer, "a keras.layers.Layer with a `kernel`, such as Dense")
        super().__init__(layer, **kwargs)
        self.data_init = v.check_bool(name, "data_init", data_init)
        # Known to be initialised, so compiled calls need no check; see `_data_init_eager`.
        self._initialized_seen = False

    # -- building -------------------------------------------------------------------------

    def _kernel_variable(self):
        kernel = getattr(self.layer, "kernel", None) if self.layer.built else None
        if _own_variable(self.layer, kernel) is None:
            v.fail(
                type(self).__name__,
                "layer",
                self.layer,
                "a layer with a `kernel` variable, such as Dense, EinsumDense or Conv2D",
            )
        return kernel

    def _output_axis(self) -> int:
        return 1 if getattr(self.layer, "data_format", None) == "channels_first" else -1

    def build(self, input_shape):
        super().build(input_shape)
        kernel = self._kernel_variable()
        units = kernel.shape[-1]
        self._norm_axes = tuple(range(len(kernel.shape) - 1))
        if self.data_init:
            out_shape = self.layer.compute_output_shape(input_shape)
            if out_shape[self._output_axis()] != units:
                v.fail(
                    type(self).__name__,
                    "layer",
                    self.layer,
                    f"with data_init=True, a layer whose output has {units} units on its "
                    f"channel axis (the kernel's last axis), not shape {tuple(out_shape)}",
                )
        self.g = self.add_weight(
            name="g",
            shape=(units,),
            # g = ||v||: the wrapped layer's output is unchanged at initialisation. Read
            # lazily, because Keras may defer variable initialisation.
            initializer=lambda shape, dtype=None: ops.cast(self._kernel_norm(kernel), dtype),
        )
        self.initialized = None
        if self.data_init:
            self.initialized = self.add_weight(
                name="initialized",
                shape=(),
                initializer="zeros",
                trainable=False,
                autocast=False,
            )

    def _kernel_norm(self, kernel):
        return ops.sqrt(ops.sum(ops.square(kernel), axis=self._norm_axes))

    # -- calling --------------------------------------------------------------------------

    def _layer_kwargs(self, training):
        if "training" in inspect.signature(self.layer.call).parameters:
            return {"training": training}
        return {}

    def _call_layer(self, inputs, replacements, training):
        """Call the wrapped layer with some of its variables replaced by tensors.

        Every other variable of the wrapped layer is mapped to its current value, so an
        enclosing stateless scope (JAX's `fit`) still provides them; their updates and the
        layer's losses are passed on.
        """
        mapping = [(var, replacements.get(id(var), var.value)) for var in self.layer.variables]
        with keras.StatelessScope(state_mapping=mapping, collect_losses=True) as scope:
            before = {id(var): scope.get_current_value(var) for var in self.layer.variables}
            outputs = self.layer(inputs, **self._layer_kwargs(training))
        for var in self.layer.variables:
            value = scope.get_current_value(var)
            if id(var) not in replacements and value is not before[id(var)]:
                var.assign(value)
        for loss in scope.losses:
            self.layer.add_loss(loss)
        return outputs

    def _bias_variable(self):
        return _own_variable(self.layer, getattr(self.layer, "bias", None))

    def _data_init_values(self, inputs, kernel, training):
        """``(g, bias)`` giving each unit zero mean and unit variance on `inputs`."""
        direction = kernel / self._kernel_norm(kernel)
        replacements = {id(kernel): direction}
        bias = self._bias_variable()
        if bias is not None:
            replacements[id(bias)] = ops.zeros(bias.shape, bias.dtype)
        activation = getattr(self.layer, "activation", None)
        if activation is not None:
            self.layer.activation = keras.activations.linear
        try:
            pre_activation = self._call_layer(inputs, replacements, training)
        finally:
            if activation is not None:
                self.layer.activation = activation
        axis = self._output_axis() % len(pre_activation.shape)
        axes = [i for i in range(len(pre_activation.shape)) if i != axis]
        mean, variance = ops.moments(pre_activation, axes=axes)
        scale = ops.rsqrt(variance + _DATA_INIT_EPSILON)
        return scale, -mean * scale

    def _assign_data_init(self, inputs, kernel, training) -> tuple:
        g, bias_value = self._data_init_values(inputs, kernel, training)
        self.g.assign(g)
        bias = self._bias_variable()
        if bias is not None:
            bias.assign(bias_value)
        self.initialized.assign(1.0)
        return (g, bias_value) if bias is not None else (g,)

    def _data_init_tensorflow(self, inputs, kernel, training) -> dict:
        """Data-dependent init in a tf.cond: assigns on the first call, eager or traced.

        The current ``g`` and bias come back from the cond rather than being read again,
        so that values assigned inside the cond never escape it (Keras' symbolic build runs
        in a stateless scope that records assignments instead of making them).
        """
        bias = self._bias_variable()

        def current():
            values = (ops.convert_to_tensor(self.g),)
            return values + (ops.convert_to_tensor(bias),) if bias is not None else values

        def initialise():
            dtypes = [value.dtype for value in current()]
            values = self._assign_data_init(inputs, kernel, training)
            return tuple(ops.cast(v, dtype) for v, dtype in zip(values, dtypes, strict=True))

        values = ops.cond(self.initialized > 0.5, current, initialise)
        return {id(self.g): values[0], **({id(bias): values[1]} if bias is not None else {})}

    def _data_init_eager(self, inputs, kernel, training) -> dict:
        """Data-dependent init on backends whose compiled steps cannot assign trainables."""
        if self._initialized_seen:
            return {}
        flag = _concrete(self.initialized)
        if flag is None:  # inside a compiled step, which cannot set trainable weights
            v.fail(
                type(self).__name__,
                "data_init",
                True,
                f"one eager call on a batch first when the first call is compiled on the "
                f"{keras.backend.backend()} backend, which cannot set trainable weights "
                "(e.g. `model(x[:256])` before fit, evaluate or predict)",
            )
        if _concrete(inputs) is None:  # symbolic model building: nothing to initialise yet
            return {}
        if flag < 0.5:
            self._assign_data_init(inputs, kernel, training)
        self._initialized_seen = True
        return {}

    def call(self, inputs, training=None):
        kernel = self._kernel_variable()
        current = {}
        if self.data_init:
            init = (
                self._data_init_tensorflow
                if keras.backend.backend() == "tensorflow"
                else self._data_init_eager
            )
            current = init(inputs, kernel, training)
        g = current.pop(id(self.g), self.g)
        normalized = kernel * (g / self._kernel_norm(kernel))
        return self._call_layer(inputs, {**current, id(kernel): normalized}, training)

    def load_own_variables(self, store):
        super().load_own_variables(store)
        # A reloaded model carries its `initialized` flag: a compiled first call is fine.
        if self.data_init:
            self._initialized_seen = bool(ops.convert_to_numpy(self.initialized) > 0.5)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "data_init": self.data_init}
