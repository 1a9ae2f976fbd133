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

# Registers every kfx layer with Keras, so saved models that use them load after `import kfx`.
from kfx import layers
from kfx._lazy import lazy

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


__getattr__, __dir__ = lazy(__name__, globals(), submodules=_SUBMODULES)
