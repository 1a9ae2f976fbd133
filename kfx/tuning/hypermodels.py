"""keras-tuner hypermodels over kfx networks and templates.

Blocks and network builders take plain values; a hypermodel maps ``hp`` choices onto them
and compiles the model. Each search-space argument takes either a sequence of candidates
(searched) or a single value (fixed); ranges are ``(low, high)`` tuples.

Example:
    >>> import keras_tuner
    >>> from kfx.tuning import ResNetHyperModel
    >>> hypermodel = ResNetHyperModel((8, 8, 1), 10, widths=(8, 16), stages=2)
    >>> hp = keras_tuner.HyperParameters()
    >>> model = hypermodel.build(hp)
    >>> model.output_shape, sorted(hp.values)
    ((None, 10), ['blocks_per_stage', 'drop_path', 'learning_rate', 'width'])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras
import keras_tuner

from kfx import _validation
from kfx.blocks.mlp import mlp
from kfx.models.inception_net import check_widths, inception_net
from kfx.models.resnet import KINDS, STEMS, resnet
from kfx.models.xception_net import xception_net

#: Default learning-rate range (log-sampled) of every hypermodel here.
LEARNING_RATE = (1e-4, 1e-2)


class _ImageHyperModel(keras_tuner.HyperModel):
    """What the image-classifier hypermodels share: shapes, learning rate, compile."""

    def __init__(self, where, input_shape, num_classes, learning_rate, name):
        _validation.check_positive_int(where, "num_classes", num_classes)
        if not isinstance(input_shape, (tuple, list)) or not 2 <= len(input_shape) <= 4:
            _validation.fail(
                where, "input_shape", input_shape, "a tuple of 2 to 4 ints (no batch axis)"
            )
        self.input_shape = tuple(input_shape)
        self.num_classes = num_classes
        self.learning_rate = _check_range(where, "learning_rate", learning_rate, positive=True)
        super().__init__(name=name)

    def _stage_widths(self, hp) -> tuple[int, ...]:
        """hp ``width`` for the first stage, doubled at each of the ``self.stages`` stages."""
        width = _choice(hp, "width", self.widths)
        return tuple(width * 2**i for i in range(self.stages))

    def _compile(self, hp, model):
        lr = _float(hp, "learning_rate", self.learning_rate, sampling="log")
        model.compile(
            optimizer=keras.optimizers.Adam(lr),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model


class ResNetHyperModel(_ImageHyperModel):
    """A ResNet classifier (:func:`kfx.models.resnet`) searched over depth, width, drop-path
    and learning rate.

    Stage ``i`` has ``blocks_per_stage`` residual blocks of width ``width * 2**i``; the
    compiled model trains with Adam and sparse categorical cross-entropy on integer labels
    (metric: accuracy).

    Args:
        input_shape: image shape without the batch axis (1D, 2D or 3D plus channels).
        num_classes: classifier width.
        stages: number of stages (fixed).
        blocks_per_stage: candidates for the residual blocks per stage (hp ``blocks_per_stage``).
        widths: candidates for the first stage's width (hp ``width``).
        drop_path: ``(low, high)`` range of the stochastic-depth rate (hp ``drop_path``,
            step 0.05), or one value.
        learning_rate: ``(low, high)`` log-sampled range (hp ``learning_rate``), or one value.
        kind: residual block kind, "basic", "bottleneck", "preact" or "preact_bottleneck" (fixed).
        stem: "small" (3x3 stride-1, for small images) or "imagenet" (fixed).
        name: the hypermodel's and the models' name.

    Example:
        >>> import keras_tuner
        >>> from kfx.tuning import ResNetHyperModel
        >>> hp = keras_tuner.HyperParameters()
        >>> hp.Fixed("blocks_per_stage", 2)
        2
        >>> model = ResNetHyperModel((16, 16, 3), 5, stages=2, widths=16).build(hp)
        >>> sum(layer.name.endswith("_out") for layer in model.layers)  # residual blocks
        4
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        *,
        stages: int = 3,
        blocks_per_stage: int | Sequence[int] = (1, 2),
        widths: int | Sequence[int] = (16, 32),
        drop_path: float | tuple[float, float] = (0.0, 0.2),
        learning_rate: float | tuple[float, float] = LEARNING_RATE,
        kind: str = "basic",
        stem: str = "small",
        name: str = "resnet",
    ):
        where = "ResNetHyperModel"
        _validation.check_positive_int(where, "stages", stages)
        _validation.check_choice(where, "kind", kind, KINDS)
        _validation.check_choice(where, "stem", stem, STEMS)
        self.stages = stages
        self.blocks_per_stage = _check_ints(where, "blocks_per_stage", blocks_per_stage)
        self.widths = _check_ints(where, "widths", widths)
        self.drop_path = _check_range(where, "drop_path", drop_path, rate=True)
        self.kind = kind
        self.stem = stem
        super().__init__(where, input_shape, num_classes, learning_rate, name)

    def build(self, hp):
        blocks = _choice(hp, "blocks_per_stage", self.blocks_per_stage)
        widths = self._stage_widths(hp)
        rate = _float(hp, "drop_path", self.drop_path, step=0.05)
        model = resnet(
            self.input_shape,
            self.num_classes,
            depths=(blocks,) * self.stages,
            widths=widths,
            kind=self.kind,
            stem=self.stem,
            drop_path=rate,
            name=self.name,
        )
        return self._compile(hp, model)


class _SmallNetHyperModel(_ImageHyperModel):
    """What the Inception and Xception hypermodels share: a fixed number of stages, searched
    first-stage width, depth and stem filters.

    A subclass names its network builder (``network``), the builder's depth argument
    (``depth_arg``, also the hp name and the attribute the candidates are kept in) and the
    least depth accepted (``depth_minimum``). Errors name the subclass.
    """

    network: Callable[..., keras.Model]
    depth_arg: str
    depth_minimum: int = 1

    def __init__(
        self, input_shape, num_classes, stages, widths, depth, stem_filters, learning_rate, name
    ):
        where = type(self).__name__
        _validation.check_positive_int(where, "stages", stages)
        self.stages = stages
        self.widths = self._check_widths(where, widths)
        depths = _check_ints(where, self.depth_arg, depth, minimum=self.depth_minimum)
        setattr(self, self.depth_arg, depths)
        self.stem_filters = _check_ints(where, "stem_filters", stem_filters)
        super().__init__(where, input_shape, num_classes, learning_rate, name)

    def _check_widths(self, where: str, widths) -> tuple[int, ...]:
        return _check_ints(where, "widths", widths)

    def build(self, hp):
        model = self.network(
            self.input_shape,
            self.num_classes,
            stem_filters=_choice(hp, "stem_filters", self.stem_filters),
            widths=self._stage_widths(hp),
            **{self.depth_arg: _choice(hp, self.depth_arg, getattr(self, self.depth_arg))},
            name=self.name,
        )
        return self._compile(hp, model)


class InceptionHyperModel(_SmallNetHyperModel):
    """A small Inception network (:func:`kfx.models.inception_net`) searched over width,
    modules per stage, stem filters and learning rate.

    Stage ``i`` has modules of width ``width * 2**i``.

    Args:
        input_shape, num_classes: as for :func:`kfx.models.inception_net`.
        stages: number of stages (fixed).
        widths: candidates for the first stage's width, multiples of 16 (hp ``width``).
        blocks_per_stage: candidates for the modules per stage (hp ``blocks_per_stage``).
        stem_filters: candidates for the stem's channels (hp ``stem_filters``).
        learning_rate: ``(low, high)`` log-sampled range, or one value.
        name: the hypermodel's and the models' name.

    Example:
        >>> import keras_tuner
        >>> from kfx.tuning import InceptionHyperModel
        >>> InceptionHyperModel((16, 16, 3), 4).build(keras_tuner.HyperParameters()).output_shape
        (None, 4)
    """

    network = staticmethod(inception_net)
    depth_arg = "blocks_per_stage"

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        *,
        stages: int = 2,
        widths: int | Sequence[int] = (32, 64),
        blocks_per_stage: int | Sequence[int] = (1, 2),
        stem_filters: int | Sequence[int] = (16, 32),
        learning_rate: float | tuple[float, float] = LEARNING_RATE,
        name: str = "inception_net",
    ):
        args = (stages, widths, blocks_per_stage, stem_filters, learning_rate, name)
        super().__init__(input_shape, num_classes, *args)

    def _check_widths(self, where: str, widths) -> tuple[int, ...]:
        checked = super()._check_widths(where, widths)
        check_widths(where, widths)  # doubling a multiple of 16 keeps it one at every stage
        return checked


class XceptionHyperModel(_SmallNetHyperModel):
    """A small Xception network (:func:`kfx.models.xception_net`) searched over width,
    middle-flow blocks, stem filters and learning rate.

    Entry-flow block ``i`` has width ``width * 2**i``.

    Args:
        input_shape, num_classes: as for :func:`kfx.models.xception_net`.
        stages: number of entry-flow blocks (fixed).
        widths: candidates for the first entry block's width (hp ``width``).
        middle_blocks: candidates for the middle-flow blocks, 0 allowed (hp ``middle_blocks``).
        stem_filters: candidates for the stem's channels (hp ``stem_filters``).
        learning_rate: ``(low, high)`` log-sampled range, or one value.
        name: the hypermodel's and the models' name.

    Example:
        >>> import keras_tuner
        >>> from kfx.tuning import XceptionHyperModel
        >>> XceptionHyperModel((16, 16, 3), 4).build(keras_tuner.HyperParameters()).output_shape
        (None, 4)
    """

    network = staticmethod(xception_net)
    depth_arg = "middle_blocks"
    depth_minimum = 0

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        *,
        stages: int = 2,
        widths: int | Sequence[int] = (32, 64),
        middle_blocks: int | Sequence[int] = (0, 1),
        stem_filters: int | Sequence[int] = (16, 32),
        learning_rate: float | tuple[float, float] = LEARNING_RATE,
        name: str = "xception_net",
    ):
        args = (stages, widths, middle_blocks, stem_filters, learning_rate, name)
        super().__init__(input_shape, num_classes, *args)


class MultiIOHyperModel(keras_tuner.HyperModel):
    """A multi-input, multi-output model (:func:`kfx.templates.multi_io`) searched over its
    trunk (an :func:`kfx.blocks.mlp`: width, depth, dropout) and learning rate.

    Each build creates fresh ``keras.Input`` layers, calls the encoders on them, and compiles
    with Adam and :func:`kfx.templates.compile_args` of the heads (per-head loss, weight and
    metrics). Train it on dicts keyed by input and head names; the default objective
    ``val_loss`` is the weighted total loss.

    Args:
        inputs: ``{name: shape}`` of the model's inputs (shape without the batch axis).
        heads: the outputs, a list of :class:`kfx.templates.Head`.
        encoders: ``{input name: function}``; each function maps that input to a
            (batch, features) tensor and must create its layers when called (a layer object
            would be shared by every trial). Default: flatten.
        dtypes: ``{input name: dtype}`` (default float32), e.g. "int32" for token ids.
        units: candidates for the trunk's width (hp ``units``).
        layers: candidates for the trunk's depth (hp ``layers``).
        dropout: ``(low, high)`` range of the trunk's dropout (step 0.1), or one value.
        learning_rate: ``(low, high)`` log-sampled range, or one value.
        name: the hypermodel's and the models' name.

    Example:
        >>> import keras_tuner
        >>> from kfx.templates import Head
        >>> from kfx.tuning import MultiIOHyperModel
        >>> hypermodel = MultiIOHyperModel(
        ...     {"title": (8,), "tags": (3,)},
        ...     [Head("priority", 1), Head("department", 4, "multiclass")],
        ... )
        >>> model = hypermodel.build(keras_tuner.HyperParameters())
        >>> sorted(model.output_names), model.loss["department"]
        (['department', 'priority'], 'sparse_categorical_crossentropy')
    """

    def __init__(
        self,
        inputs: Mapping[str, Sequence[int]],
        heads: Sequence[Any],
        *,
        encoders: Mapping[str, Callable] | None = None,
        dtypes: Mapping[str, str] | None = None,
        units: int | Sequence[int] = (32, 64, 128),
        layers: int | Sequence[int] = (1, 2),
        dropout: float | tuple[float, float] = (0.0, 0.5),
        learning_rate: float | tuple[float, float] = LEARNING_RATE,
        name: str = "multi_io",
    ):
        from kfx.templates.heads import check_heads

        where = "MultiIOHyperModel"
        if not isinstance(inputs, Mapping) or not inputs:
            _validation.fail(where, "inputs", inputs, "a non-empty dict {name: shape}")
        for key, shape in inputs.items():
            if not isinstance(shape, (tuple, list)) or not all(
                d is None or (_validation.is_int(d) and d > 0) for d in shape
            ):
                _validation.fail(
                    where, f"inputs[{key!r}]", shape, "a shape tuple without the batch axis"
                )
        self.inputs = {key: tuple(shape) for key, shape in inputs.items()}
        self.heads = check_heads(heads, where)
        self.encoders = dict(encoders or {})
        self.dtypes = dict(dtypes or {})
        for arg, mapping in (("encoders", self.encoders), ("dtypes", self.dtypes)):
            unknown = [key for key in mapping if key not in self.inputs]
            if unknown:
                _validation.fail(
                    where, arg, mapping, f"keys among the inputs ({', '.join(self.inputs)})"
                )
        self.units = _check_ints(where, "units", units)
        self.layers = _check_ints(where, "layers", layers)
        self.dropout = _check_range(where, "dropout", dropout, rate=True)
        self.learning_rate = _check_range(where, "learning_rate", learning_rate, positive=True)
        super().__init__(name=name)

    def build(self, hp):
        from kfx.templates import compile_args, multi_io

        units = _choice(hp, "units", self.units)
        depth = _choice(hp, "layers", self.layers)
        rate = _float(hp, "dropout", self.dropout, step=0.1)
        inputs = {
            key: keras.Input(shape, name=key, dtype=self.dtypes.get(key, "float32"))
            for key, shape in self.inputs.items()
        }
        model = multi_io(
            inputs,
            self.heads,
            encoders=self.encoders,
            trunk=lambda x: mlp(x, (units,) * depth, dropout=rate, name=f"{self.name}_trunk"),
            name=self.name,
        )
        lr = _float(hp, "learning_rate", self.learning_rate, sampling="log")
        model.compile(keras.optimizers.Adam(lr), **compile_args(self.heads))
        return model


def _check_ints(where: str, arg: str, value, minimum: int = 1) -> tuple[int, ...]:
    values = (value,) if _validation.is_int(value) else value
    accepted = f"an int >= {minimum} or a non-empty sequence of them"
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        _validation.fail(where, arg, value, accepted)
    if not all(_validation.is_int(v) and v >= minimum for v in values):
        _validation.fail(where, arg, value, accepted)
    return tuple(values)


def _check_range(
    where: str, arg: str, value, *, rate: bool = False, positive: bool = False
) -> tuple[float, float]:
    low, high = value if isinstance(value, (tuple, list)) and len(value) == 2 else (value, value)
    ok = _validation.is_number(low) and _validation.is_number(high)
    ok = ok and low <= high
    if ok and rate:
        ok = 0 <= low and high < 1
    if ok and positive:
        ok = low > 0
    if not ok:
        kind = "rates in [0, 1)" if rate else "positive numbers" if positive else "numbers"
        _validation.fail(
            where, arg, value, f"one number or a (low, high) tuple of {kind}, low <= high"
        )
    return float(low), float(high)


def _choice(hp, name: str, values: tuple):
    return hp.Fixed(name, values[0]) if len(values) == 1 else hp.Choice(name, list(values))


def _float(hp, name: str, bounds: tuple[float, float], **kwargs) -> float:
    low, high = bounds
    if low == high:
        return hp.Fixed(name, low)
    return hp.Float(name, low, high, **kwargs)


__all__ = [
    "InceptionHyperModel",
    "MultiIOHyperModel",
    "ResNetHyperModel",
    "XceptionHyperModel",
]
