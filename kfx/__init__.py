"""kfx: reusable functional blocks, network builders and tools for Keras 3.

``import kfx`` is cheap: each submodule (``kfx.blocks``, ``kfx.models``, ...) is imported
on first attribute access.

Example:
    >>> import keras, kfx
    >>> x = keras.Input((32, 32, 3))
    >>> y = kfx.blocks.residual(kfx.blocks.conv_bn_act(x, 16), 16)
    >>> keras.Model(x, y).count_params() > 0
    True
"""

from __future__ import annotations

import importlib

# Registers every kfx layer with Keras, so saved models that use them load after `import kfx`.
from kfx import layers

__version__ = "0.1.0"

_SUBMODULES = (
    "blocks",
    "callbacks",
    "cli",
    "datasets",
    "distribute",
    "models",
    "nodes",
    "templates",
    "tuning",
)

__all__ = ["__version__", "layers", *_SUBMODULES]


def __getattr__(name: str):
    if name in _SUBMODULES:
        module = importlib.import_module(f"kfx.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'kfx' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
