"""Strategies for the common cases: this process' workers from ``TF_CONFIG``, logical CPUs.

- :func:`multi_worker_strategy`: ``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` names a
  cluster (as :func:`kfx.distribute.launch` sets it), with the ring all-reduce on CPU-only
  machines (NCCL otherwise); the default strategy when it does not, so one script trains
  alone or in a cluster.
- :func:`logical_cpus`: split the CPU into N logical devices, to try ``MirroredStrategy``
  on a machine without accelerators. Call it before TensorFlow touches a device.

Example:
    >>> import os
    >>> from kfx.distribute.strategies import cluster_size
    >>> cluster_size({"TF_CONFIG": '{"cluster": {"worker": ["a:1", "b:2"]}, '
    ...                             '"task": {"type": "worker", "index": 1}}'})
    2
    >>> cluster_size({})
    1
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping


def cluster_size(environ: Mapping[str, str] | None = None) -> int:
    """Number of tasks (chief + workers) that ``TF_CONFIG`` names; 1 without ``TF_CONFIG``."""
    env = os.environ if environ is None else environ
    raw = env.get("TF_CONFIG")
    if not raw:
        return 1
    try:
        cluster = json.loads(raw).get("cluster", {})
    except (ValueError, AttributeError) as err:
        raise ValueError(f"TF_CONFIG is not a JSON object with a 'cluster': {raw!r}") from err
    return sum(len(cluster.get(kind, [])) for kind in ("chief", "worker"))


def multi_worker_strategy(communication: str = "auto"):
    """``MultiWorkerMirroredStrategy`` for the cluster in ``TF_CONFIG``, else the default one.

    Call it first thing (before building models or datasets): TensorFlow reads
    ``TF_CONFIG`` and starts this worker's gRPC server when the strategy is created.

    Args:
        communication: ``"auto"`` (ring all-reduce when there is no GPU, NCCL's choice
            otherwise), ``"ring"`` or ``"nccl"``.

    Returns:
        A ``tf.distribute.MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` names more than one
        task, else ``tf.distribute.get_strategy()``.
    """
    import tensorflow as tf

    choices = {
        "auto": None,
        "ring": tf.distribute.experimental.CommunicationImplementation.RING,
        "nccl": tf.distribute.experimental.CommunicationImplementation.NCCL,
    }
    if communication not in choices:
        raise ValueError(
            f"multi_worker_strategy: argument `communication` got {communication!r}; "
            "expected one of 'auto', 'ring', 'nccl'."
        )
    if cluster_size() <= 1:
        return tf.distribute.get_strategy()
    implementation = choices[communication]
    if implementation is None:
        gpus = tf.config.list_physical_devices("GPU")
        implementation = (
            tf.distribute.experimental.CommunicationImplementation.AUTO
            if gpus
            else tf.distribute.experimental.CommunicationImplementation.RING
        )
    options = tf.distribute.experimental.CommunicationOptions(implementation=implementation)
    return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


def logical_cpus(count: int) -> list[str]:
    """Split the first CPU into `count` logical devices; their names, for ``MirroredStrategy``.

    Must run before TensorFlow initializes its devices (before any op or strategy); a
    ``RuntimeError`` says so otherwise. Calling it again with the same count is harmless.
    """
    import tensorflow as tf

    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"logical_cpus: argument `count` got {count!r}; expected an int >= 1.")
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
