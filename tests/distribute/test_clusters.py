"""kfx.distribute.clusters: TensorFlow's chief rule, shared by is_chief and the loggers."""

import json
import types

import keras
import pytest

from kfx.callbacks._chief import is_chief as logger_is_chief
from kfx.distribute.clusters import is_chief_task

TFJOB = {"chief": ["127.0.0.1:2000"], "worker": ["127.0.0.1:2001", "127.0.0.1:2002"]}
WORKERS_ONLY = {"worker": ["127.0.0.1:2001", "127.0.0.1:2002"]}
WITH_EVALUATOR = {**TFJOB, "evaluator": ["127.0.0.1:2003"]}

CASES = [
    (TFJOB, "chief", 0, True),
    (TFJOB, "worker", 0, False),  # a TFJob's worker 0 is not the chief
    (TFJOB, "worker", 1, False),
    (WORKERS_ONLY, "worker", 0, True),
    (WORKERS_ONLY, "worker", 1, False),
    (WITH_EVALUATOR, "evaluator", 0, False),
    ({"ps": ["a:1"], "worker": ["b:2"]}, "ps", 0, False),
]


@pytest.mark.parametrize("cluster,task_type,index,chief", CASES)
def test_rule(cluster, task_type, index, chief):
    assert is_chief_task(task_type, index, cluster) is chief


def test_outside_a_cluster():
    assert is_chief_task(None, None, ())


@pytest.mark.parametrize("cluster,task_type,index,chief", CASES)
def test_loggers_follow_the_rule(monkeypatch, cluster, task_type, index, chief):
    task = {"type": task_type, "index": index}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))
    assert logger_is_chief() is chief


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.distribute")
@pytest.mark.parametrize("cluster,task_type,index,chief", CASES)
def test_is_chief_reads_the_resolver(monkeypatch, cluster, task_type, index, chief):
    import tensorflow as tf

    from kfx.distribute import is_chief

    task = {"type": task_type, "index": index}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))
    # TensorFlow's own resolver reads TF_CONFIG; the strategy it would go into is not needed
    # to answer (creating one would start this task's gRPC server and wait for its peers).
    holder = types.SimpleNamespace(
        cluster_resolver=tf.distribute.cluster_resolver.TFConfigClusterResolver()
    )
    assert is_chief(holder) is chief
