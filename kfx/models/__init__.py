"""Whole-network builders assembled from :mod:`kfx.blocks`, and their registry.

Example:
    >>> import kfx
    >>> "resnet50" in kfx.models.list_models()
    True
    >>> kfx.models.create_model("resnet18", input_shape=(32, 32, 3), num_classes=10).name
    'resnet18'
"""

from __future__ import annotations

from collections.abc import Callable

import keras

from kfx._validation import check_choice
from kfx.models.inception_net import inception_net
from kfx.models.resnet import ResNet50, resnet, resnet18, resnet34, resnet50, resnet101
from kfx.models.xception_net import xception_net

#: Every named network: ``name -> builder(input_shape, num_classes, **kwargs)``.
_REGISTRY: dict[str, Callable[..., keras.Model]] = {
    "resnet18": resnet18,
    "resnet34": resnet34,
    "resnet50": resnet50,
    "resnet101": resnet101,
    "inception_net": inception_net,
    "xception_net": xception_net,
}


def list_models() -> list[str]:
    """Names accepted by :func:`create_model`, sorted."""
    return sorted(_REGISTRY)


def create_model(name: str, input_shape, num_classes: int, **kwargs) -> keras.Model:
    """Build the registered network `name` (see :func:`list_models`)."""
    check_choice("create_model", "name", name, list_models())
    return _REGISTRY[name](input_shape, num_classes, **kwargs)


__all__ = [
    "ResNet50",
    "create_model",
    "inception_net",
    "list_models",
    "resnet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "xception_net",
]
