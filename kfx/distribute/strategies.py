"""Strategies for the common cases, and what a strategy says about this process.

- :func:`multi_worker_strategy`: ``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` names a
  cluster (as :func:`kfx.distribute.launch` sets it), with the ring all-reduce on CPU-only
  machines (NCCL otherwise); the default strategy when it does not, so one script trains
  alone or in a cluster.
- :func:`logical_cpus`: split the CPU into N logical devices, to try ``MirroredStrategy``
  on a machine without accelerators. Call it before TensorFlow touches a device.
- :func:`task_info`, :func:`is_chief`: this process' task in the cluster, and whether it is
  the one that writes files.
- :func:`is_default_strategy`, :func:`strategy_name`: TensorFlow's default (one-device)
  strategy told apart through public API only, and the name errors give a strategy.

The cluster itself (``TF_CONFIG``, a SLURM step, or one process) is
:func:`kfx.distribute.clusters.cluster`'s answer. TensorFlow is imported on first use.

Example:
    >>> from kfx.distribute.strategies import is_default_strategy, multi_worker_strategy
    >>> is_default_strategy(multi_worker_strategy())  # one process: the default strategy
    True
"""

from __future__ import annotations

import threading

from kfx._validation import check_choice, check_int
from kfx.distribute._backend import tensorflow
from kfx.distribute.clusters import Cluster, cluster, is_chief_task

#: ``communication`` values of :func:`multi_worker_strategy`.
COMMUNICATIONS = ("auto", "ring", "nccl")


def communication_implementation(communication: str, has_gpu: bool):
    """The ``tf.distribute.experimental.CommunicationImplementation`` for `communication`.

    ``"auto"`` is the ring all-reduce on a machine without GPU (NCCL needs one) and
    TensorFlow's own choice otherwise; ``"ring"`` and ``"nccl"`` are what they say.

    Example:
        >>> from kfx.distribute.strategies import communication_implementation
        >>> communication_implementation("auto", has_gpu=False).name
        'RING'
        >>> communication_implementation("auto", has_gpu=True).name
        'AUTO'
    """
    import tensorflow as tf

    check_choice("multi_worker_strategy", "communication", communication, COMMUNICATIONS)
    implementation = tf.distribute.experimental.CommunicationImplementation
    if communication == "auto":
        return implementation.AUTO if has_gpu else implementation.RING
    return implementation.RING if communication == "ring" else implementation.NCCL


def multi_worker_strategy(communication: str = "auto", *, found: Cluster | None = None):
    """``MultiWorkerMirroredStrategy`` for this process' cluster, else the default strategy.

    The cluster is :func:`kfx.distribute.cluster`'s: ``TF_CONFIG``, then a multi-task SLURM
    step, else one process; the same script runs unchanged on a laptop, under ``srun`` and
    in a TFJob. Call it first thing (before building models or datasets): the strategy
    starts this worker's gRPC server and waits for the others.

    Args:
        communication: ``"auto"`` (ring all-reduce when there is no GPU, NCCL's choice
            otherwise), ``"ring"`` or ``"nccl"``.
        found: the cluster to join (default: :func:`kfx.distribute.cluster`).

    Returns:
        A ``tf.distribute.MultiWorkerMirroredStrategy`` when this task trains with others
        (chief and workers; an ``evaluator`` task does not join them), else
        ``tf.distribute.get_strategy()``.

    Example:
        >>> from kfx.distribute import multi_worker_strategy
        >>> from kfx.distribute.strategies import is_default_strategy
        >>> is_default_strategy(multi_worker_strategy())  # no TF_CONFIG here
        True
    """
    import tensorflow as tf

    check_choice("multi_worker_strategy", "communication", communication, COMMUNICATIONS)
    found = cluster() if found is None else found
    if not found.in_collective:
        return tf.distribute.get_strategy()
    has_gpu = bool(tf.config.list_physical_devices("GPU"))
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=communication_implementation(communication, has_gpu)
    )
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(found.training_spec()),
        task_type=found.task_type,
        task_id=found.task_index,
        rpc_layer="grpc",
    )
    return tf.distribute.MultiWorkerMirroredStrategy(
        cluster_resolver=resolver, communication_options=options
    )


def logical_cpus(count: int) -> list[str]:
    """Split the first CPU into `count` logical devices; their names, for ``MirroredStrategy``.

    Must run before TensorFlow initializes its devices (before any op or strategy); a
    ``RuntimeError`` says so otherwise. Calling it again with the same count is harmless.
    """
    import tensorflow as tf

    check_int("logical_cpus", "count", count, minimum=1)
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is None or len(current) != count:
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
            )
        except RuntimeError as err:
            raise RuntimeError(
                f"logical_cpus({count}): TensorFlow has already initialized its devices; "
                "call it at the start of the program, before any TensorFlow op."
            ) from err
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def default_strategy():
    """TensorFlow's default strategy: what ``tf.distribute.get_strategy()`` returns outside
    any ``strategy.scope()`` (one device, no distribution; a process-wide singleton).

    Inside a scope, ``get_strategy()`` returns the scope's strategy; scopes belong to one
    thread, so a short-lived thread, outside every scope, asks instead.
    """
    import tensorflow as tf

    if not tf.distribute.has_strategy():
        return tf.distribute.get_strategy()
    found = []
    thread = threading.Thread(target=lambda: found.append(tf.distribute.get_strategy()))
    thread.start()
    thread.join()
    return found[0]


def is_default_strategy(strategy) -> bool:
    """Whether `strategy` is TensorFlow's default strategy (see :func:`default_strategy`).

    Example:
        >>> import tensorflow as tf
        >>> from kfx.distribute.strategies import is_default_strategy
        >>> is_default_strategy(tf.distribute.get_strategy())
        True
        >>> is_default_strategy(tf.distribute.OneDeviceStrategy("/cpu:0"))
        False
    """
    return strategy is default_strategy()


def strategy_name(strategy) -> str:
    """The class name of a strategy, e.g. ``"MirroredStrategy"``; the default one by its role.

    Example:
        >>> import tensorflow as tf
        >>> from kfx.distribute.strategies import strategy_name
        >>> strategy_name(tf.distribute.get_strategy())
        'the default strategy'
        >>> strategy_name(tf.distribute.OneDeviceStrategy("/cpu:0"))
        'OneDeviceStrategy'
    """
    return "the default strategy" if is_default_strategy(strategy) else type(strategy).__name__


def task_info(strategy=None) -> tuple[str | None, int | None]:
    """``(task_type, task_id)`` of this process in a multi-worker cluster, ``(None, None)`` alone.

    Example:
        >>> from kfx.distribute import task_info
        >>> task_info()  # no cluster
        (None, None)
    """
    resolver = _cluster_resolver(strategy)
    if resolver is None:
        return None, None
    return resolver.task_type, resolver.task_id


def is_chief(strategy=None) -> bool:
    """Whether this process is the chief: the one that writes files.

    With a multi-worker `strategy`, its cluster resolver's task; otherwise the environment's
    (:func:`kfx.distribute.cluster`). A process outside a cluster is its own chief; in a
    cluster, the task of type ``"chief"``, else worker 0 (TensorFlow's rule).

    Example:
        >>> from kfx.distribute import is_chief
        >>> is_chief()
        True
    """
    resolver = _cluster_resolver(strategy)
    if resolver is None:
        return cluster().is_chief
    return is_chief_task(resolver.task_type, resolver.task_id, resolver.cluster_spec().as_dict())


def _cluster_resolver(strategy):
    """The cluster resolver of `strategy` (default: the current one) if it names a task."""
    strategy = strategy or tensorflow().distribute.get_strategy()
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return None
    return resolver
