"""Whether this process is the chief, the one the loggers write on.

On a cluster every worker runs the same callbacks, and files written by all of them would
collide; only the chief writes. The answer is :func:`kfx.distribute.clusters.cluster`'s,
read from the environment (``TF_CONFIG``, then a SLURM step) with no TensorFlow and no
strategy object, so the loggers ask it under every backend.
"""

from __future__ import annotations

from kfx.distribute.clusters import cluster


def is_chief() -> bool:
    """True unless the environment names this process as a non-chief task of a cluster.

    Example:
        >>> is_chief()  # no TF_CONFIG, no SLURM step: a single process is its own chief
        True
    """
    return cluster().is_chief
