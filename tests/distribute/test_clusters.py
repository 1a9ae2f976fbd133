"""kfx/distribute/clusters.py: TensorFlow's chief rule, shared by is_chief and the loggers, and
where the cluster comes from (TF_CONFIG, a SLURM step, one process), with its errors."""

import json
import re
import types

import keras
import pytest

from kfx.callbacks._chief import is_chief as logger_is_chief
from kfx.distribute.clusters import _expand_nodelist, cluster, expand_nodelist, is_chief_task

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


# --- cluster(): where the cluster comes from -------------------------------------------


def tf_config_env(cluster: dict, task_type="worker", index=0) -> dict[str, str]:
    return {
        "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})
    }


def slurm_env(procid: int, ntasks: int, nodelist="vm", per_node=None, **extra) -> dict[str, str]:
    """What srun sets inside a step (read off the real single-node cluster of _slurm.py)."""
    counts = per_node or str(ntasks)
    nodes = expand_nodelist(nodelist)
    local = procid
    for count in _counts(counts):
        if local < count:
            break
        local -= count
    env = {
        "SLURM_STEP_ID": "0",
        "SLURM_PROCID": str(procid),
        "SLURM_LOCALID": str(local),
        "SLURM_STEP_NUM_TASKS": str(ntasks),
        "SLURM_NTASKS": str(ntasks),
        "SLURM_STEP_NODELIST": nodelist,
        "SLURM_STEP_TASKS_PER_NODE": counts,
        "SLURM_STEP_NUM_NODES": str(len(nodes)),
    }
    return {**env, **extra}


def _counts(text):
    out = []
    for part in text.split(","):
        count, _, times = part.partition("(x")
        out += [int(count)] * int(times.rstrip(")") or 1)
    return out


def test_one_process_without_a_cluster():
    found = cluster({})
    assert (found.kind, found.task_type, found.task_index, found.address) == (
        "single",
        None,
        None,
        None,
    )
    assert found.is_chief and found.num_workers == 1 and not found.in_collective
    assert found.tf_config() is None
    assert cluster({"TF_CONFIG": ""}).kind == "single"


def test_tf_config_of_a_tfjob():
    env = tf_config_env(WITH_EVALUATOR, "worker", 1)
    found = cluster(env)
    assert found.kind == "tf_config"
    assert (found.task_type, found.task_index, found.address) == ("worker", 1, "127.0.0.1:2002")
    assert found.num_workers == 3 and found.in_collective and not found.is_chief
    assert found.training_spec() == TFJOB  # the evaluator is not in the collective
    assert json.loads(found.tf_config()) == json.loads(env["TF_CONFIG"])
    evaluator = cluster(tf_config_env(WITH_EVALUATOR, "evaluator", 0))
    assert evaluator.is_evaluator and not evaluator.in_collective and not evaluator.is_chief


def test_an_evaluator_may_stand_outside_the_cluster():
    # TensorFlow accepts an evaluator task that its TF_CONFIG's cluster does not list.
    found = cluster(tf_config_env(TFJOB, "evaluator", 0))
    assert found.is_evaluator and found.address is None and not found.is_chief
    assert found.training_spec() == TFJOB and not found.in_collective


def test_tf_config_comes_before_slurm():
    env = {**slurm_env(1, 2), **tf_config_env(WORKERS_ONLY, "worker", 0)}
    assert cluster(env).kind == "tf_config" and cluster(env).is_chief


def test_kfx_cluster_single_ignores_both():
    env = {**slurm_env(1, 2), **tf_config_env(WORKERS_ONLY, "worker", 1), "KFX_CLUSTER": "single"}
    assert cluster(env).kind == "single" and cluster(env).is_chief
    with pytest.raises(ValueError, match=r"environment variable `KFX_CLUSTER` got 'one'"):
        cluster({"KFX_CLUSTER": "one"})


def test_os_environ_by_default(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", tf_config_env(WORKERS_ONLY, "worker", 1)["TF_CONFIG"])
    assert cluster().task_index == 1 and not logger_is_chief()


BAD_TF_CONFIGS = [
    ("{not json", "a JSON object such as"),
    ("[1, 2]", "a JSON object such as"),
    ('{"task": {"type": "worker", "index": 0}}', "a JSON object such as"),
    ('{"cluster": {"evaluator": ["a:1"]}, "task": {"type": "evaluator"}}', "non-empty 'worker'"),
    ('{"cluster": {"worker": ["a:1"]}}', "a 'task' object"),
    (
        '{"cluster": {"worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}',
        "a task type among",
    ),
    (
        '{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 2}}',
        r"a task index from 0 to 1 for 'worker'",
    ),
    ('{"cluster": {"worker": ["a"]}, "task": {"type": "worker", "index": 0}}', "'host:port'"),
    (
        '{"cluster": {"chief": ["a:1", "b:1"]}, "task": {"type": "chief", "index": 0}}',
        "at most one 'chief'",
    ),
    ('{"cluster": {"trainer": ["a:1"]}, "task": {"type": "trainer", "index": 0}}', "jobs among"),
]


@pytest.mark.parametrize("raw,accepted", BAD_TF_CONFIGS)
def test_a_malformed_tf_config_names_the_variable_and_what_is_accepted(raw, accepted):
    with pytest.raises(ValueError, match=r"environment variable `TF_CONFIG` got .*expected") as err:
        cluster({"TF_CONFIG": raw})
    assert re.search(accepted, str(err.value)), str(err.value)
    assert repr(raw) in str(err.value)


def test_slurm_step_tasks_are_workers_on_their_hosts():
    found = [cluster(slurm_env(rank, 3)) for rank in range(3)]
    assert {f.kind for f in found} == {"slurm"}
    assert [f.task_index for f in found] == [0, 1, 2]
    assert [f.is_chief for f in found] == [True, False, False]
    assert found[2].jobs == {"worker": ("vm:8888", "vm:8889", "vm:8890")}
    assert found[1].address == "vm:8889" and found[1].in_collective


def test_slurm_ports_from_the_step_reservation_or_the_base_port():
    reserved = cluster(slurm_env(1, 2, SLURM_STEP_RESV_PORTS="23001-23003"))
    assert reserved.jobs["worker"] == ("vm:23001", "vm:23002")
    based = cluster(slurm_env(0, 2, KFX_SLURM_PORT="30000"))
    assert based.jobs["worker"] == ("vm:30000", "vm:30001")


def test_slurm_on_several_nodes_in_block_order():
    env = slurm_env(3, 5, nodelist="n[01-02],gpu7", per_node="2(x2),1")
    found = cluster(env)
    assert found.jobs["worker"] == ("n01:8888", "n01:8889", "n02:8888", "n02:8889", "gpu7:8888")
    assert found.address == "n02:8889"


def test_a_one_task_step_is_one_process():
    assert cluster(slurm_env(0, 1)).kind == "single"
    assert cluster({"SLURM_NTASKS": "4", "SLURM_PROCID": "2"}).kind == "single"  # no step


BAD_SLURM = [
    ({"SLURM_PROCID": "x"}, "SLURM_PROCID", "a non-negative integer"),
    ({"SLURM_PROCID": "5"}, "SLURM_PROCID", "a task id from 0 to 1"),
    (
        {"SLURM_STEP_NODELIST": "n[03-01]", "SLURM_NODELIST": ""},
        "SLURM_STEP_NODELIST",
        "ranges such as",
    ),
    ({"SLURM_STEP_TASKS_PER_NODE": "two"}, "SLURM_STEP_TASKS_PER_NODE", "counts such as"),
    ({"SLURM_STEP_TASKS_PER_NODE": "1"}, "SLURM_STEP_TASKS_PER_NODE", "2 tasks"),
    ({"SLURM_STEP_RESV_PORTS": "23001"}, "SLURM_STEP_RESV_PORTS", "at least 2 ports"),
    ({"SLURM_LOCALID": "0", "SLURM_PROCID": "1"}, "SLURM_LOCALID", "--distribution=block"),
]


@pytest.mark.parametrize("change,variable,accepted", BAD_SLURM)
def test_a_slurm_step_that_cannot_be_read(change, variable, accepted):
    env = {**slurm_env(0, 2), **change}
    with pytest.raises(ValueError, match=rf"environment variable `{variable}` got") as err:
        cluster(env)
    assert accepted in str(err.value) or re.search(accepted, str(err.value)), str(err.value)


NODELISTS = [
    ("vm", ["vm"]),
    ("n[1-3]", ["n1", "n2", "n3"]),
    ("n[01-02,07],gpu1", ["n01", "n02", "n07", "gpu1"]),
    ("r[1-2]n[8-9],b", ["r1n8", "r1n9", "r2n8", "r2n9", "b"]),
]


@pytest.mark.parametrize("nodelist,hosts", NODELISTS)
def test_nodelist_expansion(nodelist, hosts):
    assert _expand_nodelist(nodelist) == hosts
    assert expand_nodelist(nodelist) == hosts  # through scontrol where it runs


@pytest.mark.parametrize("nodelist", ["n[03-01]", "n[a-b]", "n[1-2", "", "n[1-2]x", "a,,b", "a,"])
def test_a_nodelist_that_cannot_be_expanded(nodelist):
    with pytest.raises(ValueError, match=r"environment variable `SLURM_STEP_NODELIST` got"):
        _expand_nodelist(nodelist)


# --- docs/distributed.md: the TFJob manifest, and the TF_CONFIG of each of its pods --------

#: The port Kubeflow's training operator gives every TFJob replica.
TFJOB_PORT = 2222


def operator_tf_configs(manifest: dict) -> dict[str, str]:
    """The ``TF_CONFIG`` the training operator sets in each pod of `manifest`, by pod name."""
    name = manifest["metadata"]["name"]
    specs = manifest["spec"]["tfReplicaSpecs"]
    jobs = {
        kind.lower(): [
            f"{name}-{kind.lower()}-{i}.default.svc:{TFJOB_PORT}" for i in range(spec["replicas"])
        ]
        for kind, spec in specs.items()
    }
    return {
        f"{name}-{job}-{i}": json.dumps(
            {"cluster": jobs, "task": {"type": job, "index": i}, "environment": "cloud"}
        )
        for job, addresses in jobs.items()
        for i in range(len(addresses))
    }


def test_the_tfjob_manifest_of_the_docs(doc_blocks):
    yaml = pytest.importorskip("yaml")
    (manifest,) = [yaml.safe_load(block) for block in doc_blocks("distributed.md", "yaml")]
    assert (manifest["apiVersion"], manifest["kind"]) == ("kubeflow.org/v1", "TFJob")
    specs = manifest["spec"]["tfReplicaSpecs"]
    assert set(specs) == {"Chief", "Worker", "Evaluator"} and specs["Chief"]["replicas"] == 1
    claims = set()
    for spec in specs.values():
        pod = spec["template"]["spec"]
        (container,) = pod["containers"]
        assert container["name"] == "tensorflow"  # the operator's default container name
        assert container["command"] == ["python", "train.py"]  # one script for every replica
        (mount,) = container["volumeMounts"]
        (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
        claims.add((mount["mountPath"], volume["persistentVolumeClaim"]["claimName"]))
    assert len(claims) == 1  # one checkpoint volume that every replica mounts

    found = {pod: cluster({"TF_CONFIG": raw}) for pod, raw in operator_tf_configs(manifest).items()}
    assert sorted(found) == [
        "kfx-train-chief-0",
        "kfx-train-evaluator-0",
        "kfx-train-worker-0",
        "kfx-train-worker-1",
    ]
    assert [pod for pod, f in found.items() if f.is_chief] == ["kfx-train-chief-0"]
    assert [pod for pod, f in found.items() if f.in_collective] == [
        "kfx-train-chief-0",
        "kfx-train-worker-0",
        "kfx-train-worker-1",
    ]
    worker = found["kfx-train-worker-1"]
    assert worker.num_workers == 3 and worker.address == "kfx-train-worker-1.default.svc:2222"
    assert found["kfx-train-evaluator-0"].is_evaluator
