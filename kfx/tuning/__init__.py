"""Hyperparameter search on keras-tuner: hypermodels, ``search()``, HParams, distributed search.

- :func:`search`: a keras-tuner search in one call; one line per trial, a table of the best
  trials, failed trials' tracebacks in their folders, HParams with ``log_dir=``, resume
  with ``overwrite=False``.
- Hypermodels that map ``hp`` onto kfx networks and templates: :class:`ResNetHyperModel`,
  :class:`InceptionHyperModel`, :class:`XceptionHyperModel`, :class:`MultiIOHyperModel`.
- kfx tuner classes (:class:`RandomSearch`, :class:`BayesianOptimization`,
  :class:`Hyperband`, :class:`GridSearch`, or :func:`tuner_class` of any tuner) for scripts
  that use keras-tuner directly.
- Pruning of losing trials with any tuner but Hyperband: ``search(..., pruner="median")``,
  :class:`MedianPruner`, :class:`ASHAPruner` (:mod:`kfx.tuning.pruners`).
- :mod:`kfx.tuning.reports`: the per-trial lines and the summary of a search.
- :mod:`kfx.tuning.hparams`: HParams dashboard summaries on any backend.
- :func:`launch` (``kfx tune --workers N -- python search.py``): one chief and N workers of a
  keras-tuner script on this machine, supervised.

Submodules load on first use: ``kfx tune`` starts without importing Keras.

Example:
    >>> import kfx
    >>> kfx.tuning.search.__name__, kfx.tuning.ResNetHyperModel.__name__
    ('search', 'ResNetHyperModel')
"""

from __future__ import annotations

from kfx._lazy import lazy

# Cheap (standard library only at import time), so imported eagerly.
from kfx.tuning.searching import make_tuner, search

_LAZY = {
    "ResNetHyperModel": "hypermodels",
    "InceptionHyperModel": "hypermodels",
    "XceptionHyperModel": "hypermodels",
    "MultiIOHyperModel": "hypermodels",
    "TunerMixin": "tuners",
    "RandomSearch": "tuners",
    "BayesianOptimization": "tuners",
    "Hyperband": "tuners",
    "GridSearch": "tuners",
    "tuner_class": "tuners",
    "summary": "reports",
    "MedianPruner": "pruners",
    "ASHAPruner": "pruners",
    "Pruner": "pruners",
    "launch": "launcher",
}
_SUBMODULES = (
    "cli",
    "hparams",
    "hypermodels",
    "launcher",
    "pruners",
    "reports",
    "searching",
    "tuners",
)

__all__ = ["make_tuner", "search", *_LAZY, *_SUBMODULES]


__getattr__, __dir__ = lazy(__name__, globals(), _LAZY, _SUBMODULES)
