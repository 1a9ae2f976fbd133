"""A real TensorBoard process on 127.0.0.1 reads what the kfx loggers wrote."""

import json
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

from kfx.callbacks import ActivationLogger, GradientLogger

STARTUP_SECONDS = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(port: int, route: str):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{route}", timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture
def tensorboard_server(tmp_path):
    """``start(logdir) -> port``; the process is stopped by its PID after the test."""
    procs = []

    def start(logdir) -> int:
        port = free_port()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tensorboard.main",
                "--logdir",
                str(logdir),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--load_fast",
                "false",
                "--reload_interval",
                "1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / "tensorboard.log", "w"),  # noqa: SIM115 - closed with the process
        )
        procs.append(proc)
        return port

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def test_tensorboard_lists_the_runs_and_activation_tags(
    tmp_path, tensorboard_server, small_cnn, image_data
):
    x, y = image_data()
    logs = tmp_path / "logs"
    callbacks = [
        ActivationLogger(x, log_dir=logs, images=True),
        GradientLogger((x, y), log_dir=logs),
    ]
    small_cnn().fit(x, y, epochs=2, verbose=0, callbacks=callbacks)

    port = tensorboard_server(logs)
    deadline, runs, histograms = time.monotonic() + STARTUP_SECONDS, [], {}
    while time.monotonic() < deadline:
        try:
            runs = get_json(port, "/data/runs")
            histograms = get_json(port, "/data/plugin/histograms/tags")
            if {"activations", "gradients"} <= set(histograms):
                break
        except OSError:
            pass
        time.sleep(0.5)
    assert {"activations", "gradients"} <= set(runs), (tmp_path / "tensorboard.log").read_text()[
        -2000:
    ]
    assert set(histograms["activations"]) == {
        f"{p}/activations" for p in ("conv1", "pool", "conv2", "gap", "probs")
    }
    assert "conv2/kernel/gradient" in histograms["gradients"]
    scalars = get_json(port, "/data/plugin/scalars/tags")
    assert "conv1/activation_zero_fraction" in scalars["activations"]
    images = get_json(port, "/data/plugin/images/tags")
    assert set(images["activations"]) == {
        "conv1/feature_maps",
        "pool/feature_maps",
        "conv2/feature_maps",
    }
    series = get_json(
        port, "/data/plugin/histograms/histograms?run=activations&tag=conv1/activations"
    )
    assert [step for _, step, _ in series] == [0, 1]
    assert np.sum(np.array(series[-1][2])[:, 2]) == 8 * 8 * 4  # one sample of conv1's output
