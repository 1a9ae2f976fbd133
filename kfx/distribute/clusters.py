"""The one chief rule of kfx: which task of a cluster writes files.

Every worker of a cluster runs the same script; checkpoints, TensorBoard runs and npz files
written by all of them would collide, so one task, the chief, writes. The rule is
TensorFlow's for ``MultiWorkerMirroredStrategy``: the ``chief`` task when the cluster has
one, else worker 0; ``evaluator`` and ``ps`` tasks are never the chief; a process outside a
cluster is its own. :func:`kfx.distribute.is_chief` (from a strategy's cluster resolver) and
the kfx loggers (from ``TF_CONFIG``, with no TensorFlow) both ask this module. Standard
library only.

Example:
    >>> from kfx.distribute.clusters import is_chief_task
    >>> is_chief_task("worker", 0, {"worker"})  # no chief task: worker 0 writes
    True
    >>> is_chief_task("worker", 0, {"chief", "worker"})  # TFJob shape: only the chief writes
    False
    >>> is_chief_task("chief", 0, {"chief", "worker"}), is_chief_task(None, None, ())
    (True, True)
"""

from __future__ import annotations

from collections.abc import Iterable

#: The job name of the chief task in ``TF_CONFIG`` and cluster specs.
CHIEF = "chief"
#: The job name of the workers.
WORKER = "worker"


def is_chief_task(task_type: str | None, task_index: int | None, jobs: Iterable[str]) -> bool:
    """Whether task `task_type`:`task_index` of a cluster with job names `jobs` is the chief.

    Args:
        task_type: this task's job ("chief", "worker", "evaluator", "ps"), or None outside a
            cluster.
        task_index: its index in that job.
        jobs: the job names of the cluster (``TF_CONFIG["cluster"]`` keys).
    """
    if task_type in (None, CHIEF):
        return True
    return task_type == WORKER and task_index == 0 and CHIEF not in set(jobs)


__all__ = ["CHIEF", "WORKER", "is_chief_task"]
