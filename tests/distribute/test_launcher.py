"""kfx.distribute.launch and `kfx train`: real worker processes on 127.0.0.1 with a timeout."""

from __future__ import annotations

import argparse
import json
import sys

import pytest

from kfx.distribute import cli, launcher
from kfx.distribute.clusters import cluster
from kfx.distribute.launcher import launch, tf_config

SHOW_CONFIG = (
    "import json, os; c = json.loads(os.environ['TF_CONFIG']); "
    "print('index', c['task']['index'], 'of', c['cluster']['worker'])"
)


def test_tf_config_names_every_worker_and_this_task():
    config = json.loads(tf_config(["127.0.0.1:1", "127.0.0.1:2"], 0))
    assert config == {
        "cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]},
        "task": {"type": "worker", "index": 0},
    }
    assert cluster({"TF_CONFIG": json.dumps(config)}).num_workers == 2
    with pytest.raises(
        ValueError, match=r"^tf_config: argument `index` got 1; expected 0 <= index < 1\.$"
    ):
        tf_config(["a:1"], 1)


def test_free_ports_are_distinct():
    ports = launcher.free_ports(4)
    assert len(set(ports)) == 4


def test_all_workers_succeed_with_one_log_each(tmp_path):
    status = launch(
        3, [sys.executable, "-c", SHOW_CONFIG], log_dir=tmp_path, timeout=60, quiet=True
    )
    assert status == 0
    logs = sorted(p.name for p in tmp_path.iterdir())
    assert logs == ["worker0.log", "worker1.log", "worker2.log"]
    ports = set()
    for i in range(3):
        text = (tmp_path / f"worker{i}.log").read_text()
        assert f"index {i} of" in text
        ports.add(text.split("of")[-1].strip())
    assert len(ports) == 1  # every worker sees the same cluster


def test_a_failed_worker_stops_the_others(tmp_path, capsys):
    code = (
        "import json, os, sys, time\n"
        "i = json.loads(os.environ['TF_CONFIG'])['task']['index']\n"
        "print('started', flush=True)\n"
        "sys.exit(5) if i == 1 else time.sleep(120)\n"
    )
    status = launch(3, [sys.executable, "-c", code], log_dir=tmp_path, timeout=60)
    assert status == 5
    err = capsys.readouterr().err
    assert "worker1 failed with status 5" in err and "stopping worker0, worker2" in err


def test_timeout_stops_everything(tmp_path):
    code = "import time; time.sleep(120)"
    assert launch(2, [sys.executable, "-c", code], log_dir=tmp_path, timeout=1, quiet=True) == 124


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_workers"):
        launch(0, ["python"])
    with pytest.raises(ValueError, match="cmd"):
        launch(1, [])
    with pytest.raises(
        ValueError, match=r"^launch: argument `n_workers` got True; expected an int >= 1\.$"
    ):
        launch(True, ["python"])


def test_cli_parses_and_runs(tmp_path):
    parser = argparse.ArgumentParser(prog="kfx")
    cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "train",
            "--workers",
            "2",
            "--log-dir",
            str(tmp_path),
            "--timeout",
            "60",
            "--",
            sys.executable,
            "-c",
            "print('hi')",
        ]
    )
    assert args.func(args) == 0
    assert "hi" in (tmp_path / "worker1.log").read_text()
    args = parser.parse_args(["train", "--workers", "2"])
    assert args.func(args) == 2  # no command


def test_module_entry_point(tmp_path):
    status = launcher.main(
        ["--workers", "1", "--log-dir", str(tmp_path), "--", sys.executable, "-c", "pass"]
    )
    assert status == 0
