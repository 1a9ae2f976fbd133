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

# The one place of kfx's version: pyproject.toml reads it from here (setuptools `attr`), and
# `kfx --version` prints it.
__version__ = "0.1.0"

# Before anything imports Keras: on Keras 2, or below the floors, stop with one message.
from kfx import _requirements  # noqa: E402

_requirements.check()

from kfx._entry import keras_free_command  # noqa: E402
from kfx._lazy import lazy  # noqa: E402

# Registers every kfx layer with Keras, so saved models that use them load after `import kfx`;
# only a kfx command that needs no Keras (`kfx migrate`) leaves it to first use (kfx._entry).
if not keras_free_command():
    from kfx import layers  # noqa: E402

_SUBMODULES = (
    "blocks",
    "callbacks",
    "cli",
    "datasets",
    "distribute",
    "migrate",
    "models",
    "nodes",
    "templates",
    "tuning",
)

__all__ = ["__version__", "layers", *_SUBMODULES]


__getattr__, __dir__ = lazy(__name__, globals(), submodules=("layers", *_SUBMODULES))
