"""The `kfx` command: the demo end to end, and inspect."""

import csv
import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from kfx import cli
from kfx.demo import run_demo
from kfx.tuning import hparams


def _kfx(*args, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "kfx.cli", *args], capture_output=True, text=True, timeout=timeout
    )


def test_demo_quick_writes_loadable_files(tmp_path):
    result = run_demo(str(tmp_path), quick=True, verbose=0)
    for name in ("model.keras", "history.csv", "report.md"):
        assert (tmp_path / name).is_file(), name
    model = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert model.output_shape == (None, 10)
    assert model.count_params() == result["params"]
    rows = list(csv.DictReader((tmp_path / "history.csv").open()))
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])
    report = (tmp_path / "report.md").read_text()
    assert f"{result['test_accuracy']:.4f}" in report and f"{result['params']:,}" in report
    png = tmp_path / "model.png"
    assert (result["files"]["plot"] is None) or png.read_bytes().startswith(b"\x89PNG")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left
    # Monitoring: activation npz per epoch keyed by layer path, event files of both loggers.
    npz = sorted((tmp_path / "activations").iterdir())
    assert [p.name for p in npz] == ["activations_epoch_0001.npz", "activations_epoch_0002.npz"]
    assert "stage2_block1_out" in np.load(npz[-1]) and np.load(npz[-1])["digit"].shape == (4, 10)
    for run in ("activations", "gradients"):
        assert list((tmp_path / "logs" / run).glob("events.out.tfevents.*")), run
    # The closing search: its best trial in the report, HParams sessions readable.
    search = result["search"]
    assert search["trials"] == 2 and 0.0 <= search["best_score"] <= 1.0
    assert "Short search" in report and f"{search['best_score']:.4f}" in report
    assert f"tensorboard --logdir {tmp_path / 'logs'}" in report
    assert len(hparams.read_sessions(tmp_path / "logs" / "hparams")) == 2


@pytest.mark.slow
def test_full_demo_reaches_target_accuracy(tmp_path):
    """The main job's target: >= 0.95 held-out accuracy on the embedded digits."""
    proc = _kfx("demo", "--out", str(tmp_path), "--no-search")  # the quick test covers the search
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Short search" not in (tmp_path / "report.md").read_text()
    assert "held-out accuracy" in proc.stdout
    accuracy = float(proc.stdout.split("held-out accuracy ")[1].split()[0])
    assert accuracy >= 0.95
    assert (tmp_path / "model.keras").is_file()


def test_inspect_prints_summary_params_and_plots(tmp_path):
    x = keras.Input((4,))
    model = keras.Model(x, keras.layers.Dense(3, name="probe")(x))
    model.save(tmp_path / "m.keras")
    proc = _kfx("inspect", str(tmp_path / "m.keras"), "--plot", str(tmp_path / "plot.png"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (
        "probe" in proc.stdout and "parameters: 15 (trainable 15, non-trainable 0)" in proc.stdout
    )
    assert "plot:" in proc.stdout or "plot skipped" in proc.stdout
    # the FLOPs table follows the summary: 4 x 3 multiply-accumulates, plus the bias
    assert proc.stdout.index("MACs") > proc.stdout.index("parameters: 15")
    assert "12 MACs, 27 FLOPs, 15 parameters" in proc.stdout


def test_inspect_json_has_parameters_and_flops_per_layer(tmp_path):
    x = keras.Input((4,))
    inner = keras.Model(x, keras.layers.Dense(3, name="probe")(x), name="inner")
    y = keras.Input((4,))
    keras.Model(y, keras.layers.LSTM(2, name="rnn")(keras.layers.Reshape((3, 1))(inner(y)))).save(
        tmp_path / "m.keras"
    )
    proc = _kfx("inspect", str(tmp_path / "m.keras"), "--format", "json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    assert data["flops"]["macs"] == 12 and data["flops"]["not_counted"] == ["rnn"]
    assert data["parameters"]["total"] == data["flops"]["params"]
    assert "inner/probe" in [row["path"] for row in data["flops"]["layers"]]


@pytest.mark.parametrize(
    "name,content", [("missing.keras", None), ("model.h5", b"x"), ("bad.keras", b"not a zip")]
)
def test_inspect_bad_path_is_a_clear_error(tmp_path, capsys, name, content):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    assert cli.main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err or repr(str(path)) in err


def test_version_and_help():
    proc = _kfx("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("kfx 0.1.0")
    assert _kfx().returncode == 2  # a subcommand is required
