"""TensorFlow ops and their ``keras.ops`` equivalents with the same meaning (K3501's table).

Each entry maps a TensorFlow function (after ``tf.``) to a ``keras.ops`` function and lists
TensorFlow's parameters in order, each with the Keras name it takes (``"perm:axes"``;
``"values:xs"``) or none where Keras has no such argument (``"conjugate:"``: a call that
passes it is reported, not rewritten). `defaults` are Keras keywords added when the call
does not pass them, where TensorFlow's default differs from Keras' (``tf.nn.gelu`` is exact,
``keras.ops.gelu`` approximate by default; ``tf.argmax`` reduces axis 0, ``keras.ops.argmax``
the flattened tensor). Ops whose semantics differ (``tf.split``'s sizes vs NumPy's indices,
``tf.shape``'s tensor vs a tuple) are hints only (:data:`HINTS`).

Example:
    >>> OPS["transpose"].keras_name("perm"), OPS["nn.gelu"].defaults
    ('axes', {'approximate': 'False'})
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Op:
    """One TensorFlow op with a same-meaning ``keras.ops`` function.

    Attributes:
        target: the ``keras.ops`` function (``"concatenate"``).
        params: TensorFlow's parameters in order as ``"tf_name:keras_name"`` (``"axis"`` alone
            when the name is the same; an empty Keras name for no equivalent).
        defaults: Keras keyword -> source text, added when the call does not pass it.
        variadic: whether extra positional arguments pass through (``einsum``'s operands).
        min_args: the fewest arguments with the same meaning (``tf.where(c)`` alone differs).
    """

    target: str
    params: tuple[str, ...]
    defaults: dict[str, str] = dataclasses.field(default_factory=dict)
    variadic: bool = False
    min_args: int = 0

    def tf_names(self) -> list[str]:
        return [p.split(":")[0] for p in self.params]

    def keras_name(self, tf_name: str) -> str | None:
        """The Keras name of TensorFlow argument `tf_name`: '' for none, None if unknown."""
        for param in self.params:
            tf, _, keras = param.partition(":")
            if tf == tf_name:
                return keras if ":" in param else tf
        return None

    def keras_position(self, keras_name: str) -> int:
        """Where `keras_name` is positional in the Keras function (same order, no gaps)."""
        names = [self.keras_name(t) for t in self.tf_names()]
        return [n for n in names if n].index(keras_name)


def _op(target: str, *params: str, **options) -> Op:
    return Op(target, params, **options)


#: Unary math: ``tf.X(x)`` and ``tf.math.X(x)`` are ``keras.ops.X(x)``.
_UNARY = {
    "abs": "abs",
    "ceil": "ceil",
    "cos": "cos",
    "erf": "erf",
    "exp": "exp",
    "floor": "floor",
    "log": "log",
    "log1p": "log1p",
    "negative": "negative",
    "reciprocal": "reciprocal",
    "rsqrt": "rsqrt",
    "sigmoid": "sigmoid",
    "sign": "sign",
    "sin": "sin",
    "sqrt": "sqrt",
    "square": "square",
    "tanh": "tanh",
}
#: Binary math on two tensors: ``keras.ops.X(x1, x2)``.
_BINARY = {
    "add": "add",
    "divide": "divide",
    "maximum": "maximum",
    "minimum": "minimum",
    "multiply": "multiply",
    "pow": "power",
    "subtract": "subtract",
}
#: ``tf.reduce_X(input_tensor, axis=None, keepdims=False)``.
_REDUCTIONS = {
    "reduce_all": "all",
    "reduce_any": "any",
    "reduce_logsumexp": "logsumexp",
    "reduce_max": "max",
    "reduce_mean": "mean",
    "reduce_min": "min",
    "reduce_prod": "prod",
    "reduce_std": "std",
    "reduce_sum": "sum",
    "reduce_variance": "var",
}
#: ``tf.nn.X(features)``: activations without parameters.
_ACTIVATIONS = {"relu": "relu", "relu6": "relu6", "selu": "selu", "softplus": "softplus"}

#: Ops that TensorFlow has only under ``tf.math``.
_MATH_ONLY = {"ceil", "erf", "log", "log1p", "reciprocal", "rsqrt", "reduce_std", "reduce_variance"}

OPS: dict[str, Op] = {}


def _math(name: str, op: Op) -> None:
    """Register `op` as ``tf.math.<name>`` and, where TensorFlow has it, ``tf.<name>``."""
    OPS[f"math.{name}"] = op
    if name not in _MATH_ONLY:
        OPS[name] = op


for _name, _target in _UNARY.items():
    _math(_name, _op(_target, "x", "name:"))
for _name, _target in _BINARY.items():
    _math(_name, _op(_target, "x:x1", "y:x2", "name:"))
for _name, _target in _REDUCTIONS.items():
    _math(_name, _op(_target, "input_tensor:x", "axis", "keepdims", "name:"))
for _name, _target in _ACTIVATIONS.items():
    OPS[f"nn.{_name}"] = _op(_target, "features:x", "name:")
OPS["nn.sigmoid"] = OPS["sigmoid"]
OPS["nn.tanh"] = OPS["tanh"]
OPS["nn.elu"] = _op("elu", "features:x", "name:")
OPS["nn.silu"] = OPS["nn.swish"] = _op("silu", "features:x", "beta:")
OPS["nn.gelu"] = _op(
    "gelu", "features:x", "approximate", "name:", defaults={"approximate": "False"}
)
OPS["nn.leaky_relu"] = _op("leaky_relu", "features:x", "alpha:negative_slope", "name:")
for _name in ("softmax", "log_softmax"):
    # TensorFlow's axis=None means the last axis, Keras' default.
    OPS[f"nn.{_name}"] = OPS[f"math.{_name}"] = _op(_name, "logits:x", "axis", "name:")
OPS["matmul"] = OPS["linalg.matmul"] = _op(
    "matmul",
    "a:x1",
    "b:x2",
    "transpose_a:",
    "transpose_b:",
    "adjoint_a:",
    "adjoint_b:",
    "a_is_sparse:",
    "b_is_sparse:",
    "output_type:",
    "grad_a:",
    "grad_b:",
    "name:",
)
OPS["concat"] = _op("concatenate", "values:xs", "axis", "name:", min_args=2)
OPS["stack"] = _op("stack", "values:x", "axis", "name:")
OPS["expand_dims"] = _op("expand_dims", "input:x", "axis", "name:", min_args=2)
OPS["squeeze"] = _op("squeeze", "input:x", "axis", "name:")
OPS["reshape"] = _op("reshape", "tensor:x", "shape:newshape", "name:")
OPS["transpose"] = _op("transpose", "a:x", "perm:axes", "conjugate:", "name:")
OPS["tile"] = _op("tile", "input:x", "multiples:repeats", "name:")
OPS["cast"] = _op("cast", "x", "dtype", "name:")
OPS["clip_by_value"] = _op("clip", "t:x", "clip_value_min:x_min", "clip_value_max:x_max", "name:")
OPS["one_hot"] = _op(
    "one_hot", "indices:x", "depth:num_classes", "on_value:", "off_value:", "axis", "dtype", "name:"
)
OPS["einsum"] = _op("einsum", "equation:subscripts", variadic=True)
OPS["where"] = _op("where", "condition", "x:x1", "y:x2", "name:", min_args=3)
OPS["pad"] = _op("pad", "tensor:x", "paddings:pad_width", "mode:", "constant_values", "name:")
# TensorFlow's axis=None is axis 0 for these; Keras' flattens.
for _name in ("argmax", "argmin"):
    _math(_name, _op(_name, "input:x", "axis", "output_type:", "name:", defaults={"axis": "0"}))
_math(
    "cumsum", _op("cumsum", "x", "axis", "exclusive:", "reverse:", "name:", defaults={"axis": "0"})
)
OPS["gather"] = _op(
    "take",
    "params:x",
    "indices",
    "validate_indices:",
    "axis",
    "batch_dims:",
    "name:",
    defaults={"axis": "0"},
)

#: TensorFlow functions without a same-meaning op: the Keras 3 way.
HINTS = {
    "shape": "`keras.ops.shape(x)` (a tuple, None for unknown dimensions)",
    "split": "`keras.ops.split(x, indices_or_sections, axis)` (NumPy's indices, not sizes)",
    "add_n": "`keras.layers.Add()(tensors)`",
    "math.l2_normalize": "`kfx.layers.L2Normalize(axis)(x)` (TensorFlow's epsilon)",
    "nn.l2_normalize": "`kfx.layers.L2Normalize(axis)(x)` (TensorFlow's epsilon)",
    "image.resize": "`keras.layers.Resizing(height, width)(x)`",
    "norm": "`keras.ops.norm(x, ord, axis)` (check `ord` and `axis`: the defaults differ)",
}
#: The hint for any other TensorFlow function on a Keras tensor.
WRAP = "a `keras.ops` function, or a layer whose `call` runs the op"
