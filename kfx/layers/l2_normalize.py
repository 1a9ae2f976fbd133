"""L2Normalize: scale vectors to unit Euclidean norm along an axis."""

from __future__ import annotations

import keras
from keras import ops

from kfx import _validation as v
from kfx.layers import _shapes


@keras.saving.register_keras_serializable(package="kfx")
class L2Normalize(keras.layers.Layer):
    """``x / sqrt(max(sum(x ** 2, axis), epsilon))``, as ``tf.math.l2_normalize``.

    The layer that replaces ``Lambda(lambda x: tf.math.l2_normalize(x, axis=1))`` in
    metric-learning and siamese models (a Lambda does not load under ``safe_mode``). No
    weights; masks pass through.

    Args:
        axis: the axis to normalise along (default the last).
        epsilon: lower bound of the squared norm, a float > 0 (all-zero vectors stay zero).
        **kwargs: base `keras.layers.Layer` arguments.

    Example:
        >>> import numpy as np, keras, kfx
        >>> y = kfx.layers.L2Normalize()(np.array([[3.0, 4.0]]))
        >>> keras.ops.convert_to_numpy(y).astype("float64").round(4).tolist()
        [[0.6, 0.8]]
    """

    def __init__(self, axis: int = -1, epsilon: float = 1e-12, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.axis = v.check_int(name, "axis", axis)
        self.epsilon = v.check_positive_float(name, "epsilon", epsilon)
        self.supports_masking = True

    def build(self, input_shape):
        name = type(self).__name__
        rank = _shapes.check_min_rank(name, input_shape, 2, "(batch, ..., features)")
        _shapes.normalize_axis(name, self.axis, rank)

    def call(self, inputs):
        squared = ops.sum(ops.square(inputs), axis=self.axis, keepdims=True)
        return inputs * ops.rsqrt(ops.maximum(squared, ops.cast(self.epsilon, inputs.dtype)))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}
