"""Serializable Keras layers, registered under package ``"kfx"``.

Importing this package registers every layer, so ``.keras`` files that use them load with
``safe_mode=True`` and without ``custom_objects`` after ``import kfx``. Every layer keeps
its math in `keras.ops` (TensorFlow, JAX and PyTorch backends), returns every constructor
argument from `get_config`, and raises a ValueError naming the layer, the argument, the
value and what is accepted.

Example:
    >>> import keras, kfx
    >>> inputs = keras.Input((16,))
    >>> outputs = kfx.layers.L2Normalize()(kfx.layers.Linear(8)(inputs))
    >>> keras.Model(inputs, outputs).count_params()
    136
"""

from __future__ import annotations

from kfx.layers.gem_pooling import GeMPooling2D
from kfx.layers.l2_normalize import L2Normalize
from kfx.layers.layer_scale import LayerScale
from kfx.layers.linear import Linear
from kfx.layers.loop_rnn import LoopRNN
from kfx.layers.maxout import Maxout
from kfx.layers.sampling import Sampling
from kfx.layers.squeeze_excite import SqueezeExcite
from kfx.layers.stochastic_depth import StochasticDepth
from kfx.layers.weight_normalization import WeightNormalization

_LAYERS = (
    Linear,
    LoopRNN,
    StochasticDepth,
    SqueezeExcite,
    LayerScale,
    GeMPooling2D,
    WeightNormalization,
    Maxout,
    Sampling,
    L2Normalize,
)

__all__ = [cls.__name__ for cls in _LAYERS] + ["list_layers"]


def list_layers() -> list[type]:
    """Every public kfx layer class (the conformance tests iterate over this).

    Returns:
        A new list of the layer classes, in a fixed order.

    Example:
        >>> import kfx
        >>> names = [cls.__name__ for cls in kfx.layers.list_layers()]
        >>> ", ".join(names[:3])
        'Linear, LoopRNN, StochasticDepth'
    """
    return list(_LAYERS)
