"""kfx.callbacks._chief: the loggers' chief, kfx.distribute.cluster()'s answer (no TensorFlow)."""

import json

import pytest

from kfx.callbacks._chief import is_chief

WORKERS = {"worker": ["a:1", "b:2"], "evaluator": ["e:3"], "ps": ["p:4"]}
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
    ],
)
def test_tensorflow_rule(monkeypatch, cluster, task, chief):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))
    assert is_chief() is chief


def test_a_slurm_step_task_zero_writes(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    step = {"SLURM_STEP_ID": "0", "SLURM_STEP_NUM_TASKS": "2", "SLURM_STEP_NODELIST": "vm"}
    step["SLURM_STEP_TASKS_PER_NODE"] = "2"
    for rank in (0, 1):
        for name, value in {**step, "SLURM_PROCID": str(rank), "SLURM_LOCALID": str(rank)}.items():
            monkeypatch.setenv(name, value)
        assert is_chief() is (rank == 0)


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", "42", '{"cluster": {"worker": ["a:1"]}}'])
def test_an_unreadable_tf_config_is_an_error_not_a_silent_chief(monkeypatch, raw):
    monkeypatch.setenv("TF_CONFIG", raw)
    with pytest.raises(ValueError, match=r"environment variable `TF_CONFIG` got"):
        is_chief()
