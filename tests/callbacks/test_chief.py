"""kfx.callbacks._chief: TensorFlow's chief rule, read from TF_CONFIG alone."""

import json

import pytest

from kfx.callbacks._chief import is_chief

WORKERS = {"worker": ["a:1", "b:2"]}
WITH_CHIEF = {"chief": ["c:0"], "worker": ["a:1", "b:2"]}


def test_a_single_process_is_its_own_chief(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert is_chief()
    monkeypatch.setenv("TF_CONFIG", "")
    assert is_chief()


@pytest.mark.parametrize(
    "cluster, task, chief",
    [
        (WORKERS, {"type": "worker", "index": 0}, True),  # worker 0 when there is no chief
        (WORKERS, {"type": "worker", "index": 1}, False),
        (WITH_CHIEF, {"type": "chief", "index": 0}, True),
        (WITH_CHIEF, {"type": "worker", "index": 0}, False),  # the chief task writes instead
        (WORKERS, {"type": "evaluator", "index": 0}, False),
        (WORKERS, {"type": "ps", "index": 0}, False),
        (WORKERS, {}, True),  # no task: not part of the cluster's work
    ],
)
def test_tensorflow_rule(monkeypatch, cluster, task, chief):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))
    assert is_chief() is chief


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", "42"])
def test_unreadable_tf_config_counts_as_a_single_process(monkeypatch, raw):
    monkeypatch.setenv("TF_CONFIG", raw)
    assert is_chief()
