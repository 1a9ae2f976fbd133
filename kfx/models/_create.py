"""``kfx.models.create``: a registered network in one call, with weights, as timm's
``create_model``: the layout, a new head, drop-path or squeeze-excite, another input size,
the data format and dtype, and keras.applications' weights where the layout has them."""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import keras

from kfx import _validation as v
from kfx.blocks import _primitives as c
from kfx.models._registry import ModelEntry, get_entry, list_models
from kfx.models._weights import imagenet_file, load_weights

#: keras.applications' default input size.
DEFAULT_SIZE = 224
DEFAULT_CLASSES = 1000


def _accepts(builder, arg: str) -> bool:
    """Whether `builder` takes the keyword `arg` (a ``**kwargs`` builder passes it on)."""
    parameters = inspect.signature(builder).parameters
    return arg in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


def _weights_source(entry: ModelEntry, weights, include_top: bool):
    """`weights` itself, or the cached path of keras.applications' file for "imagenet"."""
    if not (isinstance(weights, str) and weights == "imagenet"):
        return weights
    if entry.imagenet is None:
        with_weights = [n for n in list_models() if get_entry(n).imagenet is not None]
        v.fail(
            "create",
            "weights",
            weights,
            f"None or a file for {entry.name!r} (keras."
            f"applications has ImageNet weights only for {', '.join(with_weights)})",
        )
    stem, *hashes = entry.imagenet
    return imagenet_file(stem, tuple(hashes), include_top)


def create(
    name: str,
    *,
    weights=None,
    input_shape: Sequence[int] | None = None,
    num_classes: int | None = None,
    include_top: bool = True,
    pooling: str | None = None,
    drop_path: float = 0.0,
    se_ratio: float | None = None,
    data_format: str | None = None,
    dtype=None,
    **kwargs,
) -> keras.Model:
    """Build the registered network `name`, optionally starting from pretrained weights.

    Args:
        name: one of :func:`kfx.models.list_models`.
        weights: None (random), "imagenet" (keras.applications' file, through Keras'
            cache), the path of a weights file (legacy ``.h5`` or ``.weights.h5``), or a
            built keras.applications model. Tensors load by layer role; those whose shape
            does not fit stay initialised (see :func:`kfx.models.load_weights`).
        input_shape: without the batch axis; default ``(224, 224, 3)`` (channels last).
        num_classes: classifier width; default 1000.
        include_top: add the global pool and the softmax classifier.
        pooling: without the top: None, "avg" or "max".
        drop_path: stochastic-depth rate of the last block (ResNets).
        se_ratio: squeeze-and-excitation ratio in every block, or None (ResNets).
        data_format: "channels_last", "channels_first" or None (the global setting).
        dtype: dtype or dtype policy of every layer, e.g. "mixed_bfloat16".
        **kwargs: further keyword arguments of the builder.

    Returns:
        A ``keras.Model``; with `weights`, its ``kfx_transfer_report`` says what loaded (the
        one-line summary is also printed).

    Raises:
        ValueError: an unknown name (the message lists the known ones), an option the
            network does not take, or weights for another architecture.

    Example:
        >>> import kfx
        >>> model = kfx.models.create("resnet18", input_shape=(32, 32, 3), num_classes=10,
        ...                           drop_path=0.1, se_ratio=0.25)
        >>> model.output_shape
        (None, 10)
    """
    entry = get_entry(name)
    data_format = c.data_format("create", data_format)
    if input_shape is None:
        channels_first = data_format == "channels_first"
        size = (DEFAULT_SIZE, DEFAULT_SIZE)
        input_shape = (3, *size) if channels_first else (*size, 3)
    options = {"include_top": include_top, "pooling": pooling, "data_format": data_format}
    options["dtype"] = dtype
    for arg, value, default in (("drop_path", drop_path, 0.0), ("se_ratio", se_ratio, None)):
        if value != default:
            if not _accepts(entry.builder, arg):
                v.fail("create", arg, value, f"{default!r}: {name} has no residual blocks")
            options[arg] = value
    classes = DEFAULT_CLASSES if num_classes is None else num_classes
    model = entry.builder(input_shape, classes, **options, **kwargs)
    if weights is not None:
        report = load_weights(model, _weights_source(entry, weights, include_top))
        print(report.summary())
    return model


def create_model(name: str, input_shape, num_classes: int, **kwargs) -> keras.Model:
    """``create(name, input_shape=..., num_classes=..., **kwargs)``; kept for kfx 0.1 callers.

    Example:
        >>> import kfx
        >>> kfx.models.create_model("resnet18", (32, 32, 3), 10).name
        'resnet18'
    """
    v.check_choice("create_model", "name", name, list_models())
    return create(name, input_shape=input_shape, num_classes=num_classes, **kwargs)
