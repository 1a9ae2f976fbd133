"""Training under tf.distribute strategies, multi-worker included, and a local cluster launcher.

- :func:`fit`: ``model.fit`` for a compiled Keras model under any ``tf.distribute``
  strategy, including ``MultiWorkerMirroredStrategy`` where Keras 3's ``fit`` fails
  (keras-team/keras issue 20585); chief-only side effects, per-epoch checkpoints to resume
  after a worker dies.
- :func:`launch` (``kfx train --workers N -- python train.py``): N local workers with their
  ``TF_CONFIG``, one log each, all stopped when one fails.
- :func:`cluster`: the cluster this process is in (``TF_CONFIG``, a SLURM step, or one
  process), its task and whether it is the chief, as a :class:`Cluster`.
- :func:`multi_worker_strategy`, :func:`is_chief`, :func:`task_info`: the strategy and role
  of a worker; :func:`is_chief_only`: whether a callback runs on the chief only.

Submodules load on first use: ``kfx train`` starts without importing TensorFlow.

Example:
    >>> import kfx
    >>> kfx.distribute.fit.__name__, kfx.distribute.launch.__name__
    ('fit', 'launch')
    >>> kfx.distribute.is_chief_only.__name__
    'is_chief_only'
    >>> kfx.distribute.cluster().kind  # no TF_CONFIG, no SLURM step
    'single'
"""

from __future__ import annotations

from kfx._lazy import lazy

_LAZY = {
    "Cluster": "clusters",
    "cluster": "clusters",
    "fit": "training",
    "is_chief": "strategies",
    "is_chief_only": "callback_roles",
    "task_info": "strategies",
    "multi_worker_strategy": "strategies",
    "launch": "launcher",
    "tf_config": "launcher",
}
_SUBMODULES = ("cli", "clusters", "launcher", "strategies", "training")

__all__ = [*_LAZY, *_SUBMODULES]


__getattr__, __dir__ = lazy(__name__, globals(), _LAZY, _SUBMODULES)
