"""Whole-network builders assembled from :mod:`kfx.blocks`, their registry, weights and FLOPs.

Example:
    >>> import kfx
    >>> "resnet50" in kfx.models.list_models()
    True
    >>> kfx.models.create("resnet18", input_shape=(32, 32, 3), num_classes=10).name
    'resnet18'
"""

from __future__ import annotations

from kfx.models._create import create, create_model
from kfx.models._flops import FlopsReport, LayerFlops, flops
from kfx.models._registry import list_models, register_model, unregister_model
from kfx.models._weights import TransferReport, load_weights
from kfx.models.inception_net import inception_net
from kfx.models.resnet import (
    ResNet50,
    resnet,
    resnet18,
    resnet34,
    resnet50,
    resnet50v2,
    resnet101,
    resnet101v2,
    resnet152,
    resnet152v2,
)
from kfx.models.xception_net import xception_net

__all__ = [
    "FlopsReport",
    "LayerFlops",
    "ResNet50",
    "TransferReport",
    "create",
    "create_model",
    "flops",
    "inception_net",
    "list_models",
    "load_weights",
    "register_model",
    "resnet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet50v2",
    "resnet101",
    "resnet101v2",
    "resnet152",
    "resnet152v2",
    "unregister_model",
    "xception_net",
]
