"""TensorFlow functions that Keras 2 saved as ``TFOpLambda`` layers, as ``keras.ops`` calls.

Keras 2 (tf.keras) wrapped a TensorFlow function called on a Keras tensor in functional
code (``a * 2.0``, ``tf.nn.relu(x)``, ``tf.concat([a, b], axis=-1)``, ``x[:, :1]``) in a
``TFOpLambda`` (``SlicingOpLambda`` for ``[...]``) layer that stores the function's name
(``math.multiply``) and its arguments: the first in the node's tensor reference, the others
by their TensorFlow names in the node's keyword arguments. Keras 3 has no such layer, and
functional models take ``keras.ops`` calls directly (saved and loaded with the model, also
with ``safe_mode=True``). :data:`TF_OPS` maps each function whose meaning ``keras.ops`` has
exactly to that call; any other blocks the conversion with a finding that names it.

Example:
    >>> op = TFOp("math.reduce_mean")
    >>> import numpy as np
    >>> np.asarray(op(np.ones((2, 3)), axis=1, keepdims=True, name=None)).shape
    (2, 1)
"""

from __future__ import annotations

from collections.abc import Callable


def _ops():
    import keras

    return keras.ops


# The TensorFlow functions' own `name=` argument names a graph node: it is dropped.


def _binary(op: str) -> Callable:
    return lambda x, y, name=None: getattr(_ops(), op)(x, y)


def _unary(op: str) -> Callable:
    return lambda x, name=None: getattr(_ops(), op)(x)


def _reduce(op: str) -> Callable:
    def reduce(input_tensor, axis=None, keepdims=False, name=None):
        return getattr(_ops(), op)(input_tensor, axis=axis, keepdims=keepdims)

    return reduce


def _slice(value) -> object:
    if isinstance(value, dict) and set(value) <= {"start", "stop", "step"}:
        return slice(value.get("start"), value.get("stop"), value.get("step"))
    if value is None or isinstance(value, int):
        return value  # None: a new axis; an int: an index
    raise ValueError(f"slice entry {value!r}")


def _transpose(a, perm=None, conjugate=False, name="transpose"):
    return _ops().transpose(a, axes=perm)


def _getitem(x, slice_spec, name=None):
    spec = slice_spec if isinstance(slice_spec, list) else [slice_spec]
    return x[tuple(_slice(item) for item in spec)]


#: TensorFlow function name (as TFOpLambda saves it) -> the same computation in keras.ops.
TF_OPS: dict[str, Callable] = {
    **{f: _binary("add") for f in ("__operators__.add", "math.add")},
    **{f: _binary("subtract") for f in ("math.subtract", "__operators__.sub")},
    "math.multiply": _binary("multiply"),
    **{f: _binary("divide") for f in ("math.truediv", "math.divide", "__operators__.truediv")},
    **{f: _binary("power") for f in ("math.pow", "__operators__.pow")},
    "math.maximum": _binary("maximum"),
    "math.minimum": _binary("minimum"),
    **{f: _unary(n) for f, n in (("math.negative", "negative"), ("math.abs", "abs"))},
    **{f"math.{n}": _unary(n) for n in ("exp", "log", "sqrt", "square", "tanh", "sigmoid")},
    **{f"nn.{n}": _unary(n) for n in ("relu", "sigmoid", "tanh")},
    "nn.softmax": lambda logits, axis=-1, name=None: _ops().softmax(logits, axis=axis),
    **{f"math.reduce_{n}": _reduce(n) for n in ("mean", "sum", "max", "min")},
    "concat": lambda values, axis, name="concat": _ops().concatenate(values, axis=axis),
    "stack": lambda values, axis=0, name="stack": _ops().stack(values, axis=axis),
    "reshape": lambda tensor, shape, name=None: _ops().reshape(tensor, shape),
    **{f: _transpose for f in ("transpose", "compat.v1.transpose")},
    "expand_dims": lambda input, axis, name=None: _ops().expand_dims(input, axis),
    "__operators__.getitem": _getitem,
}


class TFOp:
    """A Keras 2 ``TFOpLambda`` / ``SlicingOpLambda`` replayed as its ``keras.ops`` call."""

    def __init__(self, function: str) -> None:
        if function not in TF_OPS:
            raise KeyError(function)
        self.function = function

    def __call__(self, inputs, **kwargs):
        return TF_OPS[self.function](inputs, **kwargs)
