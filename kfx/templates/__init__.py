"""Model templates: whole functional models from a few plain-Keras pieces.

Every template returns a plain functional ``keras.Model`` built from core Keras layers, which
saves to ``.keras`` and reloads with ``keras.saving.load_model``.

- :class:`Head` and :func:`compile_args`: outputs that own their activation, loss and metrics.
- :func:`multi_io`: named inputs and encoders, a trunk, one output per head.
- :func:`siamese`: two inputs through one shared encoder, merged.
- :func:`ensemble`: several models averaged or concatenated; copies never collide.
- :func:`autoencoder`: encoder and decoder models chained as layers.
- :func:`feature_extractor` and :func:`feature_info`: layer outputs keyed by layer path.
- :func:`time_distributed`: a video model from a per-frame model.
- :class:`NotAGraphModelError`: what they raise for a model without a graph (subclassed).

Example:
    >>> import keras, kfx
    >>> heads = [kfx.templates.Head("age", 1, "regression"), kfx.templates.Head("gender", 1)]
    >>> model = kfx.templates.multi_io({"posts": keras.Input((32,), name="posts")}, heads)
    >>> model.compile("rmsprop", **kfx.templates.compile_args(heads))
"""

from kfx.templates._graphs import NotAGraphModelError
from kfx.templates.autoencoder import autoencoder
from kfx.templates.ensemble import ensemble
from kfx.templates.features import feature_extractor, feature_info
from kfx.templates.heads import Head, compile_args
from kfx.templates.multi_io import multi_io
from kfx.templates.siamese import siamese
from kfx.templates.video import time_distributed

__all__ = [
    "Head",
    "NotAGraphModelError",
    "autoencoder",
    "compile_args",
    "ensemble",
    "feature_extractor",
    "feature_info",
    "multi_io",
    "siamese",
    "time_distributed",
]
