"""Whether this process is the chief, read from TF_CONFIG alone: the one the loggers write on.

On a cluster every worker runs the same callbacks, and files written by all of them would
collide; only the chief writes. The rule is TensorFlow's for MultiWorkerMirroredStrategy, read
from the ``TF_CONFIG`` environment variable so that it needs no TensorFlow and no strategy
object (the loggers run under every backend).
"""

from __future__ import annotations

import json
import os

from kfx.distribute.clusters import is_chief_task


def is_chief() -> bool:
    """True unless TF_CONFIG names this process as a non-chief task of a cluster.

    The chief is the task of type ``chief``, or worker 0 when the cluster has no chief
    (TensorFlow's own rule for MultiWorkerMirroredStrategy).

    Example:
        >>> is_chief()  # no TF_CONFIG: a single process is its own chief
        True
    """
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return True
    try:
        config = json.loads(raw)
        task, cluster = config.get("task") or {}, config.get("cluster") or {}
    except (ValueError, AttributeError):
        return True
    return is_chief_task(task.get("type"), int(task.get("index", 0) or 0), cluster)
