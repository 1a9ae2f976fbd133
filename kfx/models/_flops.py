"""Multiply-accumulates, FLOPs, parameters and activation sizes of a model, layer by layer.

Convention (the one most papers use): a multiply-accumulate (MAC) is one product added to
a sum; ``FLOPs = 2 x MACs`` for the products (convolutions, dense and einsum layers,
attention), plus one FLOP per element for element-wise work: bias additions, activations
(3 for softmax: exponent, sum, division), merges (``n - 1`` per element for ``n`` inputs),
pooling (one per window element), batch norm at inference (2: the statistics fold into a
scale and a shift), layer and group norm (7: mean, centring, square, variance, normalising,
scale, shift), rescaling (2). Layers that only move data (reshape, padding, dropout,
concatenation, embedding lookups...) cost 0. A layer it cannot count (recurrent layers,
custom layers, unknown shapes) is listed as "not counted" and adds nothing to the totals,
so a total is never silently short.

Nested models are expanded, their layers named by their ``outer/inner`` path; every call
of a shared layer is counted (its parameters once).
"""

from __future__ import annotations

import dataclasses
import math

import keras
import numpy as np

from kfx import _validation as v
from kfx import nodes

L = keras.layers
_CONV = (L.Conv1D, L.Conv2D, L.Conv3D)
_CONV_TRANSPOSE = (L.Conv1DTranspose, L.Conv2DTranspose, L.Conv3DTranspose)
_DEPTHWISE = (L.DepthwiseConv1D, L.DepthwiseConv2D)
_SEPARABLE = (L.SeparableConv1D, L.SeparableConv2D)
_POOL = (
    L.MaxPooling1D, L.MaxPooling2D, L.MaxPooling3D,
    L.AveragePooling1D, L.AveragePooling2D, L.AveragePooling3D,
)  # fmt: skip
_GLOBAL_POOL = (
    L.GlobalMaxPooling1D, L.GlobalMaxPooling2D, L.GlobalMaxPooling3D,
    L.GlobalAveragePooling1D, L.GlobalAveragePooling2D, L.GlobalAveragePooling3D,
)  # fmt: skip
_MERGE = (L.Add, L.Subtract, L.Multiply, L.Maximum, L.Minimum, L.Average)
_ACTIVATION = (L.Activation, L.ReLU, L.LeakyReLU, L.PReLU, L.ELU, L.Softmax)
_FREE = (
    L.InputLayer, L.Dropout, L.SpatialDropout1D, L.SpatialDropout2D, L.SpatialDropout3D,
    L.GaussianNoise, L.GaussianDropout, L.AlphaDropout, L.ActivityRegularization,
    L.Flatten, L.Reshape, L.Permute, L.RepeatVector, L.Concatenate, L.Identity,
    L.ZeroPadding1D, L.ZeroPadding2D, L.ZeroPadding3D,
    L.Cropping1D, L.Cropping2D, L.Cropping3D, L.Embedding, L.Masking,
)  # fmt: skip
#: keras.ops operations in a functional graph (``x + y``...) that cost one FLOP an element.
_ELEMENTWISE_OPS = frozenset(
    "Add Subtract Multiply Divide TrueDivide Maximum Minimum Negative Abs Square Sqrt Exp Log "
    "Relu Relu6 Sigmoid Tanh Gelu Silu Softplus Power Where Clip".split()
)
FLOPS_PER_ELEMENT = {"batch_norm": 2, "layer_norm": 7, "rescaling": 2, "softmax": 3}


@dataclasses.dataclass
class LayerFlops:
    """One call of one layer.

    Attributes:
        path: the layer's name, ``outer/inner`` inside nested models.
        kind: the layer's class name.
        macs: multiply-accumulates.
        flops: floating-point operations (``2 * macs`` plus element-wise work).
        params: parameters (counted at the layer's first call only).
        output_bytes: size of the call's outputs.
        counted: False when kfx cannot count the layer (its macs and flops are then 0).
    """

    path: str
    kind: str
    macs: int
    flops: int
    params: int
    output_bytes: int
    counted: bool = True


@dataclasses.dataclass
class FlopsReport:
    """Per-layer counts and totals for one model at one batch size (see :func:`flops`)."""

    model: str
    batch_size: int
    layers: list[LayerFlops]

    @property
    def macs(self) -> int:
        return sum(row.macs for row in self.layers)

    @property
    def flops(self) -> int:
        return sum(row.flops for row in self.layers)

    @property
    def params(self) -> int:
        return sum(row.params for row in self.layers)

    @property
    def activation_bytes(self) -> int:
        return sum(row.output_bytes for row in self.layers)

    @property
    def not_counted(self) -> list[str]:
        """Paths of the layers left out of the totals."""
        return [row.path for row in self.layers if not row.counted]

    def to_dict(self) -> dict:
        """Plain JSON-ready data: the totals and the per-layer rows."""
        return {
            "model": self.model,
            "batch_size": self.batch_size,
            "macs": self.macs,
            "flops": self.flops,
            "params": self.params,
            "activation_bytes": self.activation_bytes,
            "not_counted": self.not_counted,
            "layers": [dataclasses.asdict(row) for row in self.layers],
        }

    def totals(self) -> str:
        """One line: MACs, FLOPs, parameters, activation bytes and what was not counted."""
        line = (
            f"{self.model} (batch {self.batch_size}): {_human(self.macs)}MACs, "
            f"{_human(self.flops)}FLOPs, {self.params:,} parameters, "
            f"{_human(self.activation_bytes)}B of activations"
        )
        missing = self.not_counted
        return line + (f"; not counted: {', '.join(missing)}" if missing else "")

    def table(self) -> str:
        """The per-layer table, then the totals line."""
        width = max([len("layer")] + [len(row.path) for row in self.layers])
        head = f"{'layer':<{width}}  {'kind':<22} {'MACs':>15} {'FLOPs':>15} {'params':>12} {'out bytes':>12}"
        lines = [head, "-" * len(head)]
        for row in self.layers:
            if row.counted:
                numbers = f"{row.macs:>15,} {row.flops:>15,}"
            else:
                numbers = f"{'not counted':>15} {'not counted':>15}"
            lines.append(
                f"{row.path:<{width}}  {row.kind[:22]:<22} {numbers} {row.params:>12,} "
                f"{row.output_bytes:>12,}"
            )
        return "\n".join([*lines, "-" * len(head), self.totals()])

    __str__ = table


def _human(value: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= size:
            return f"{value / size:.3f} {unit}"
    return f"{value} "


def _itemsize(dtype) -> int:
    name = keras.backend.standardize_dtype(dtype)
    return 2 if name == "bfloat16" else int(np.dtype(name).itemsize)


def _elements(shape) -> int:
    return math.prod(shape)


def _activation_flops(activation, elements: int) -> int:
    if activation is None or activation is keras.activations.linear:
        return 0
    per = FLOPS_PER_ELEMENT["softmax"] if activation is keras.activations.softmax else 1
    return per * elements


def _conv_like(layer, inputs, outputs) -> tuple[int, int]:
    """(MACs, element-wise FLOPs) of the convolution and dense families."""
    out = _elements(outputs[0])
    if isinstance(layer, _CONV):
        macs = out * math.prod(layer.kernel.shape[:-1])  # kernel window x input channels/group
    elif isinstance(layer, _CONV_TRANSPOSE):
        macs = _elements(inputs[0]) * math.prod(layer.kernel.shape[:-1])
    elif isinstance(layer, _DEPTHWISE):
        macs = out * math.prod(layer.kernel.shape[:-2])
    elif isinstance(layer, _SEPARABLE):
        window, mid = (
            layer.depthwise_kernel.shape[:-2],
            math.prod(layer.depthwise_kernel.shape[-2:]),
        )
        positions = out // layer.filters
        macs = positions * mid * math.prod(window) + out * mid
    else:  # Dense
        macs = out * layer.kernel.shape[0]
    extra = out if getattr(layer, "use_bias", False) else 0
    return macs, extra + _activation_flops(getattr(layer, "activation", None), out)


def _einsum_dense(layer, inputs, outputs) -> tuple[int, int]:
    """Each output element sums over the letters the input and kernel share but the output lacks."""
    spec_in, rest = layer.equation.split(",")
    spec_kernel, spec_out = rest.split("->")
    contracted = (set(spec_in) & set(spec_kernel)) - set(spec_out) - {"."}
    sizes = dict(zip(spec_kernel, layer.kernel.shape, strict=True))
    out = _elements(outputs[0])
    macs = out * math.prod(sizes[letter] for letter in contracted)
    extra = out if getattr(layer, "bias", None) is not None else 0
    return macs, extra + _activation_flops(getattr(layer, "activation", None), out)


def _attention(layer, inputs, outputs) -> tuple[int, int]:
    """Q/K/V projections, scores, softmax, weighted sum, output projection (MultiHeadAttention)."""
    query = inputs[0]
    value = inputs[1] if len(inputs) > 1 else query
    key = inputs[2] if len(inputs) > 2 else value
    heads, key_dim = layer.num_heads, layer.key_dim
    value_dim = layer.value_dim or key_dim
    batch = query[0]
    t_q, t_k = _elements(query[1:-1]), _elements(key[1:-1])
    out_dim = outputs[0][-1]
    projections = (
        batch * t_q * query[-1] * heads * key_dim
        + batch * t_k * key[-1] * heads * key_dim
        + batch * t_k * value[-1] * heads * value_dim
        + batch * t_q * heads * value_dim * out_dim
    )
    attention = batch * heads * t_q * t_k * (key_dim + value_dim)
    softmax = FLOPS_PER_ELEMENT["softmax"] * batch * heads * t_q * t_k
    biases = batch * (t_q * heads * key_dim * 2 + t_k * heads * (key_dim + value_dim))
    return projections + attention, softmax + (biases if layer.use_bias else 0)


def _elementwise(layer, inputs, outputs) -> tuple[int, int] | None:
    out = _elements(outputs[0])
    if isinstance(layer, _MERGE):
        return 0, out * (len(inputs) - 1 + isinstance(layer, L.Average))
    if isinstance(layer, L.Softmax):
        return 0, FLOPS_PER_ELEMENT["softmax"] * out
    if isinstance(layer, L.Activation):
        return 0, _activation_flops(layer.activation, out)
    if isinstance(layer, _ACTIVATION):
        return 0, out
    if isinstance(layer, L.BatchNormalization):
        return 0, FLOPS_PER_ELEMENT["batch_norm"] * out
    if isinstance(layer, (L.LayerNormalization, L.GroupNormalization)):
        return 0, FLOPS_PER_ELEMENT["layer_norm"] * out
    if isinstance(layer, (L.Rescaling, L.Normalization)):
        return 0, FLOPS_PER_ELEMENT["rescaling"] * out
    if isinstance(layer, _POOL):
        return 0, out * math.prod(layer.pool_size)
    if isinstance(layer, _GLOBAL_POOL):
        return 0, _elements(inputs[0])
    if isinstance(layer, _FREE):
        return 0, 0
    if not isinstance(layer, L.Layer) and type(layer).__name__ in _ELEMENTWISE_OPS:
        return 0, out
    return None


def count_call(layer, inputs: list[tuple], outputs: list[tuple]) -> tuple[int, int] | None:
    """``(macs, flops)`` of one call with concrete shapes, or None when it cannot be counted."""
    if isinstance(layer, (*_CONV, *_CONV_TRANSPOSE, *_DEPTHWISE, *_SEPARABLE, L.Dense)):
        macs, extra = _conv_like(layer, inputs, outputs)
    elif isinstance(layer, L.EinsumDense):
        macs, extra = _einsum_dense(layer, inputs, outputs)
    elif isinstance(layer, L.MultiHeadAttention):
        macs, extra = _attention(layer, inputs, outputs)
    else:
        counted = _elementwise(layer, inputs, outputs)
        if counted is None:
            return None
        macs, extra = counted
    return macs, 2 * macs + extra


def _shapes(tensors, batch_size: int) -> list[tuple] | None:
    """Concrete shapes, the batch axis set to `batch_size`; None if another axis is unknown."""
    shapes = []
    for tensor in tensors:
        shape = tuple(tensor.shape)
        if not shape:
            shapes.append(())
            continue
        shape = (batch_size if shape[0] is None else shape[0], *shape[1:])
        if any(d is None for d in shape):
            return None
        shapes.append(shape)
    return shapes


def _rows(model, batch_size: int, prefix: str, seen: set[int]) -> list[LayerFlops]:
    rows = []
    for call in nodes.graph_calls(model):
        layer = call.operation
        path = prefix + layer.name
        if isinstance(layer, keras.Model) and nodes.graph_calls(layer):
            rows.extend(_rows(layer, batch_size, path + "/", seen))
            continue
        first = id(layer) not in seen
        seen.add(id(layer))
        params = layer.count_params() if first and isinstance(layer, L.Layer) else 0
        inputs, outputs = _shapes(call.inputs, batch_size), _shapes(call.outputs, batch_size)
        counted = None if inputs is None or outputs is None else count_call(layer, inputs, outputs)
        out_bytes = sum(
            _elements(s) * _itemsize(t.dtype)
            for s, t in zip(outputs or [], call.outputs, strict=False)
        )
        macs, total = counted or (0, 0)
        rows.append(
            LayerFlops(
                path, type(layer).__name__, macs, total, params, out_bytes, counted is not None
            )
        )
    return rows


def flops(model: keras.Model, batch_size: int = 1) -> FlopsReport:
    """Count multiply-accumulates, FLOPs, parameters and output bytes of every layer.

    Args:
        model: a functional or Sequential model (built); nested models are expanded.
        batch_size: the batch the counts are for.

    Returns:
        A :class:`FlopsReport` with ``macs``, ``flops``, ``params`` and
        ``activation_bytes`` totals, a ``layers`` table and ``not_counted``.

    Example:
        >>> import keras, kfx
        >>> x = keras.Input((8, 8, 3))
        >>> y = keras.layers.Conv2D(4, 3, padding="same", use_bias=False)(x)
        >>> report = kfx.models.flops(keras.Model(x, y))
        >>> report.macs  # 8 * 8 positions * 4 filters * (3 * 3 * 3) products
        6912
        >>> report.flops, report.params
        (13824, 108)
    """
    v.check_positive_int("flops", "batch_size", batch_size)
    if not isinstance(model, keras.Model):
        v.fail("flops", "model", model, "a keras.Model")
    return FlopsReport(model.name, batch_size, _rows(model, batch_size, "", set()))
