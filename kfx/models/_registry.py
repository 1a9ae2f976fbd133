"""The table of named networks: ``@register_model`` adds a builder, ``list_models`` lists them.

As timm's registry: a network is public once it is registered, and the tests iterate the
table, so a new network is tested the moment it is registered. An entry also records the
ImageNet weights keras.applications publishes for the layout, if any.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from kfx import _validation as v


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """One registered network.

    Attributes:
        name: the name :func:`kfx.models.create` takes.
        builder: ``builder(input_shape, num_classes, **kwargs) -> keras.Model``.
        imagenet: ``(file stem, hash with top, hash without top)`` of keras.applications'
            ImageNet weights for this layout (``<stem>_weights_tf_dim_ordering_tf_kernels.h5``),
            or None.
    """

    name: str
    builder: Callable
    imagenet: tuple[str, str, str] | None = None


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(fn: Callable | None = None, *, name: str | None = None, imagenet=None):
    """Register a network builder under `name` (default: the function's name).

    Use as ``@register_model`` or ``@register_model(name=..., imagenet=(stem, h1, h2))``.
    The builder is returned unchanged.

    Example:
        >>> import keras, kfx
        >>> @kfx.models.register_model(name="tiny_mlp_doc")
        ... def tiny(input_shape, num_classes, **kwargs):
        ...     x = keras.Input(input_shape)
        ...     return keras.Model(x, keras.layers.Dense(num_classes)(keras.layers.Flatten()(x)))
        >>> "tiny_mlp_doc" in kfx.models.list_models()
        True
        >>> kfx.models.unregister_model("tiny_mlp_doc")
    """

    def add(builder: Callable) -> Callable:
        key = name or builder.__name__
        if not isinstance(key, str) or not key:
            v.fail("register_model", "name", key, "a non-empty str")
        _REGISTRY[key] = ModelEntry(key, builder, imagenet)
        return builder

    return add if fn is None else add(fn)


def unregister_model(name: str) -> None:
    """Remove `name` from the table (for tests and notebooks that register throwaways)."""
    v.check_choice("unregister_model", "name", name, list_models())
    del _REGISTRY[name]


def list_models() -> list[str]:
    """Names accepted by :func:`kfx.models.create`, sorted.

    Example:
        >>> import kfx
        >>> tuple(name for name in kfx.models.list_models() if name.startswith("resnet50"))
        ('resnet50', 'resnet50v2')
    """
    return sorted(_REGISTRY)


def get_entry(name: str, where: str = "create") -> ModelEntry:
    """The entry for `name`; a ValueError listing the registered names otherwise."""
    v.check_choice(where, "name", name, list_models())
    return _REGISTRY[name]
