"""Functional blocks: ``f(x, ..., name=None) -> tensor`` built from core Keras layers.

Each block picks its 1D/2D/3D layers from the rank of `x`, follows
``keras.config.image_data_format()``, prefixes every layer it creates with `name` (a fresh
unique prefix when None) and raises a ValueError naming the block, the argument, the value
and what is accepted.
"""

from kfx.blocks.attention import squeeze_excite
from kfx.blocks.conv import conv_bn_act, separable
from kfx.blocks.inception import inception
from kfx.blocks.mlp import mlp
from kfx.blocks.residual import dense_residual, residual
from kfx.blocks.xception import xception

__all__ = [
    "conv_bn_act",
    "dense_residual",
    "inception",
    "mlp",
    "residual",
    "separable",
    "squeeze_excite",
    "xception",
]
