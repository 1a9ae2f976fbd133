"""What every network builder shares: input validation, the classifier head, the model."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from kfx import _validation as v
from kfx.blocks import _primitives as c


def network_input(input_shape: Sequence[int], builder: str):
    """A ``keras.Input`` for an image-like shape of 1, 2 or 3 spatial axes plus channels."""
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else None
    if (
        shape is None
        or not 2 <= len(shape) <= 4
        or not all(d is None or (isinstance(d, int) and d > 0) for d in shape)
    ):
        v.fail(
            builder,
            "input_shape",
            input_shape,
            "a tuple of 2, 3 or 4 positive ints (spatial axes and channels, no batch axis)",
        )
    return keras.Input(shape)


def check_stages(builder: str, **sequences) -> int:
    """All stage sequences are non-empty, of positive ints and of one length; return it."""
    lengths = set()
    for arg, values in sequences.items():
        if not isinstance(values, (tuple, list)) or not values:
            v.fail(builder, arg, values, "a non-empty tuple of positive ints")
        for value in values:
            v.check_positive_int(builder, arg, value)
        lengths.add(len(values))
    if len(lengths) > 1:
        v.fail(builder, "/".join(sequences), sequences, "sequences of the same length")
    return lengths.pop()


POOLINGS = (None, "avg", "max")


def finish(
    inputs,
    x,
    num_classes: int,
    include_top: bool,
    name: str,
    builder: str,
    *,
    pooling: str | None = None,
    data_format: str | None = None,
    dtype=None,
):
    """Global average pool and a softmax classifier (when `include_top`), as keras.applications.

    Without the top, `pooling` "avg" or "max" ends the network with a global pool
    (``avg_pool`` / ``max_pool``), None with the last feature map.
    """
    v.check_choice(builder, "pooling", pooling, POOLINGS)
    data_format = c.data_format(builder, data_format)
    rank = len(x.shape) - 2
    if include_top or pooling is not None:
        pools = c.GLOBAL_MAX_POOL if pooling == "max" and not include_top else c.GLOBAL_AVG_POOL
        pool = c.pick(pools, rank)
        pool_name = "max_pool" if pools is c.GLOBAL_MAX_POOL else "avg_pool"
        x = pool(name=pool_name, **c.layer_options(pool, data_format, dtype))(x)
    if include_top:
        v.check_positive_int(builder, "num_classes", num_classes)
        x = keras.layers.Dense(num_classes, activation="softmax", name="predictions", dtype=dtype)(
            x
        )
    return keras.Model(inputs, x, name=name)
