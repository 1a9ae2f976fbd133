"""Maxout: the maximum over groups of channels (Goodfellow et al., 2013)."""

from __future__ import annotations

import keras
from keras import ops

from kfx import _validation as v
from kfx.layers import _shapes


@keras.saving.register_keras_serializable(package="kfx")
class Maxout(keras.layers.Layer):
    """Reduce `channels` features to `num_units` by a maximum over groups.

    Output unit ``j`` is the maximum over input channels ``j, j + num_units,
    j + 2 * num_units, ...``: the channel axis is read as ``(channels // num_units,
    num_units)`` and reduced over the first part. That is TensorFlow Addons' grouping, so a
    ported model gives the same numbers. The channel count must be a multiple of
    `num_units`. No weights.

    Args:
        num_units: number of output units along `axis`, a positive int.
        axis: the channel axis (default the last).
        **kwargs: base `keras.layers.Layer` arguments.

    Example:
        >>> import numpy as np, keras, kfx
        >>> x = np.array([[1.0, 8.0, 5.0, 2.0, 3.0, 9.0]])  # groups {1, 2}, {8, 3}, {5, 9}
        >>> keras.ops.convert_to_numpy(kfx.layers.Maxout(3)(x)).tolist()
        [[2.0, 8.0, 9.0]]
    """

    def __init__(self, num_units: int, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.num_units = v.check_positive_int(name, "num_units", num_units)
        self.axis = v.check_int(name, "axis", axis)
        self.supports_masking = True

    def build(self, input_shape):
        name = type(self).__name__
        rank = len(input_shape)
        axis, channels = _shapes.axis_and_size(name, input_shape, self.axis)
        if channels % self.num_units:
            v.fail(
                name,
                "num_units",
                self.num_units,
                f"a divisor of the {channels} input channels (axis {self.axis}); "
                f"{channels} is not a multiple of {self.num_units}",
            )
        # A (batch, time) mask stays valid unless the grouped axis is the time axis.
        self.supports_masking = rank == 2 or axis != 1
        self.input_spec = keras.layers.InputSpec(ndim=rank, axes={axis: channels})

    def call(self, inputs):
        rank = len(inputs.shape)
        axis = self.axis % rank
        shape = _shapes.dynamic_shape(inputs)
        grouped = shape[:axis] + [shape[axis] // self.num_units, self.num_units] + shape[axis + 1 :]
        return ops.max(ops.reshape(inputs, grouped), axis=axis)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        shape[self.axis % len(shape)] = self.num_units
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "num_units": self.num_units, "axis": self.axis}
