"""kfx/distribute/strategies.py: TF_CONFIG, the multi-worker strategy and its communication,
logical CPUs, the default strategy told apart publicly, and this process' task."""

from __future__ import annotations

import json

import keras
import pytest

from kfx.distribute import strategies
from kfx.distribute.strategies import (
    communication_implementation,
    is_chief,
    is_default_strategy,
    logical_cpus,
    multi_worker_strategy,
    strategy_name,
    task_info,
)

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="tf.distribute needs the TensorFlow backend"
)

if keras.backend.backend() == "tensorflow":
    import tensorflow as tf


def tf_config(cluster: dict, task_type="worker", index=0) -> dict[str, str]:
    return {
        "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})
    }


def test_communication_implementation():
    implementation = tf.distribute.experimental.CommunicationImplementation
    assert communication_implementation("auto", has_gpu=False) == implementation.RING
    assert communication_implementation("auto", has_gpu=True) == implementation.AUTO
    for has_gpu in (False, True):
        assert communication_implementation("ring", has_gpu) == implementation.RING
        assert communication_implementation("nccl", has_gpu) == implementation.NCCL


def test_an_unknown_communication_is_refused_before_any_cluster_starts(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", tf_config({"worker": ["a:1", "b:2"]})["TF_CONFIG"])
    message = (
        "multi_worker_strategy: argument `communication` got 'grpc'; "
        "expected one of 'auto', 'ring', 'nccl'."
    )
    for call in (
        lambda: multi_worker_strategy("grpc"),
        lambda: communication_implementation("grpc", False),
    ):
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value) == message


def test_alone_multi_worker_strategy_is_the_default_strategy(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert multi_worker_strategy() is tf.distribute.get_strategy()
    monkeypatch.setenv("TF_CONFIG", tf_config({"worker": ["localhost:1"]})["TF_CONFIG"])
    assert is_default_strategy(multi_worker_strategy("ring"))  # a cluster of one


@pytest.mark.parametrize("count", [0, -1, True, 1.5, "2"])
def test_logical_cpus_needs_a_count_of_at_least_one(count):
    with pytest.raises(ValueError) as info:
        logical_cpus(count)
    assert str(info.value) == f"logical_cpus: argument `count` got {count!r}; expected an int >= 1."


def test_logical_cpus_after_tensorflow_started_is_a_runtime_error():
    tf.config.list_logical_devices("CPU")  # this process' devices are initialized
    with pytest.raises(RuntimeError, match=r"logical_cpus\(3\): TensorFlow has already"):
        logical_cpus(3)


def test_logical_cpus_make_a_two_replica_mirrored_strategy(fresh_python):
    out = fresh_python(
        """
        from kfx.distribute.strategies import is_default_strategy, logical_cpus, strategy_name
        devices = logical_cpus(2)
        assert logical_cpus(2) == devices  # again, same count: harmless
        import tensorflow as tf
        strategy = tf.distribute.MirroredStrategy(devices)
        with strategy.scope():
            inside = is_default_strategy(strategy), strategy_name(strategy)
        print(devices, strategy.num_replicas_in_sync, inside)
        try:
            logical_cpus(3)
        except RuntimeError as err:
            print("refused:", err)
        """,
        env={"TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    first, second = out.strip().splitlines()[-2:]
    assert first.endswith("CPU:0', '/device:CPU:1'] 2 (False, 'MirroredStrategy')"), first
    assert second.startswith("refused: logical_cpus(3): TensorFlow has already"), second


def test_the_default_strategy_inside_and_outside_scopes():
    default = tf.distribute.get_strategy()
    one = tf.distribute.OneDeviceStrategy("/cpu:0")
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0"])
    assert is_default_strategy(default) and strategies.default_strategy() is default
    assert not is_default_strategy(one) and not is_default_strategy(mirrored)
    for strategy in (one, mirrored):
        with strategy.scope():
            assert tf.distribute.get_strategy() is strategy
            assert strategies.default_strategy() is default
            assert is_default_strategy(default) and not is_default_strategy(strategy)
    assert [strategy_name(s) for s in (default, one, mirrored)] == [
        "the default strategy",
        "OneDeviceStrategy",
        "MirroredStrategy",
    ]


def test_task_info_and_is_chief_follow_the_cluster_resolver():
    assert task_info() == (None, None) and is_chief()
    one = tf.distribute.OneDeviceStrategy("/cpu:0")
    assert task_info(one) == (None, None) and is_chief(one)
    spec = tf.train.ClusterSpec({"chief": ["a:1"], "worker": ["b:2", "c:3"]})

    class InCluster:  # what a multi-worker strategy exposes: its cluster resolver
        def __init__(self, task_type, task_id):
            self.cluster_resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
                spec, task_type=task_type, task_id=task_id
            )

    roles = [("chief", 0), ("worker", 0), ("worker", 1), ("evaluator", 0)]
    assert [task_info(InCluster(*role)) for role in roles] == roles
    # A cluster with a chief task: worker 0 is not a chief too (issue 18's bug).
    assert [is_chief(InCluster(*role)) for role in roles] == [True, False, False, False]
