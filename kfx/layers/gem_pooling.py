"""GeMPooling2D: generalised-mean global pooling (Radenović et al., 2018)."""

from __future__ import annotations

import keras
from keras import ops

from kfx import _validation as v
from kfx.layers import _arguments, _shapes


@keras.saving.register_keras_serializable(package="kfx")
class GeMPooling2D(keras.layers.Layer):
    """Global generalised-mean pooling over the two spatial axes.

    ``y_c = mean(max(x_c, epsilon) ** p) ** (1 / p)`` over height and width, per sample and
    channel. ``p = 1`` is average pooling (of positive inputs: values below `epsilon` are
    clamped to it, as in the paper and timm), large `p` tends to max pooling. With
    ``trainable_p=True`` the exponent is a weight learned with the rest of the model.

    Args:
        p: initial exponent, a float > 0.
        trainable_p: whether `p` is trained.
        epsilon: lower clamp of the inputs, a float > 0 (keeps the power differentiable).
        data_format: ``"channels_last"``, ``"channels_first"`` or None for
            ``keras.config.image_data_format()``.
        keepdims: keep the spatial axes as size 1, like GlobalAveragePooling2D's keepdims.
        **kwargs: base `keras.layers.Layer` arguments.

    Example:
        >>> import numpy as np, keras, kfx
        >>> x = np.array([1.0, 2.0, 3.0, 4.0], "float32").reshape(1, 2, 2, 1)
        >>> gem = kfx.layers.GeMPooling2D(p=1.0, data_format="channels_last")
        >>> keras.ops.convert_to_numpy(gem(x)).round(4).tolist()  # p=1: the average
        [[2.5]]
    """

    def __init__(
        self,
        p: float = 3.0,
        trainable_p: bool = True,
        epsilon: float = 1e-6,
        data_format: str | None = None,
        keepdims: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.p = v.check_positive_float(name, "p", p)
        self.trainable_p = v.check_bool(name, "trainable_p", trainable_p)
        self.epsilon = v.check_positive_float(name, "epsilon", epsilon)
        self.data_format = _arguments.check_data_format(name, data_format)
        self.keepdims = v.check_bool(name, "keepdims", keepdims)

    def _spatial_axes(self) -> tuple[int, int]:
        return (2, 3) if self.data_format == "channels_first" else (1, 2)

    def build(self, input_shape):
        name = type(self).__name__
        _shapes.check_rank(name, input_shape, (4,), "(batch, height, width, channels)")
        self.p_weight = self.add_weight(
            name="p",
            shape=(),
            initializer=keras.initializers.Constant(self.p),
            trainable=self.trainable_p,
        )
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def call(self, inputs):
        p = ops.convert_to_tensor(self.p_weight)
        clamped = ops.maximum(inputs, ops.cast(self.epsilon, inputs.dtype))
        # x ** p as exp(p * log x): the inputs are positive, and the general power (negative
        # bases, integer exponents) is several times slower, in its gradient above all.
        powered = ops.exp(p * ops.log(clamped))
        pooled = ops.mean(powered, axis=self._spatial_axes(), keepdims=self.keepdims)
        return ops.exp(ops.log(pooled) / p)

    def compute_output_shape(self, input_shape):
        axes = self._spatial_axes()
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in axes)

    def get_config(self):
        return {
            **super().get_config(),
            "p": self.p,
            "trainable_p": self.trainable_p,
            "epsilon": self.epsilon,
            "data_format": self.data_format,
            "keepdims": self.keepdims,
        }
