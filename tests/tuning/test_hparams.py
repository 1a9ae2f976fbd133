"""kfx.tuning.hparams: HParams dashboard summaries, read back by TensorBoard itself."""

from __future__ import annotations

import json

import keras
import keras_tuner
import numpy as np
import pytest
from tensorboard.backend.event_processing import data_provider, event_accumulator
from tensorboard.backend.event_processing import plugin_event_multiplexer as multiplexer
from tensorboard.plugins import base_plugin
from tensorboard.plugins.hparams import api_pb2, hparams_plugin, metadata
from werkzeug.test import Client

from kfx.tuning import hparams, search


def _plugin_post(log_dir, route: str, body: dict) -> dict:
    """POST to a route of TensorBoard's hparams plugin, served from `log_dir`."""
    mux = multiplexer.EventMultiplexer()
    mux.AddRunsFromDirectory(str(log_dir))
    mux.Reload()
    context = base_plugin.TBContext(
        logdir=str(log_dir),
        multiplexer=mux,
        data_provider=data_provider.MultiplexerDataProvider(mux, str(log_dir)),
    )
    app = hparams_plugin.HParamsPlugin(context).get_plugin_apps()[route]
    response = Client(app).post("/", data=json.dumps(body))
    assert response.status_code == 200, response.get_data(as_text=True)
    return json.loads(response.get_data(as_text=True))


def _session_groups(log_dir) -> dict[str, dict]:
    body = {
        "experimentName": "",
        "allowedStatuses": ["STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING", "STATUS_UNKNOWN"],
        "startIndex": 0,
        "sliceSize": 1000,
    }
    groups = _plugin_post(log_dir, "/session_groups", body)["sessionGroups"]
    return {group["name"]: group for group in groups}


def test_session_round_trip(tmp_path):
    path = hparams.write_session(
        tmp_path / "trial_7",
        {"units": np.int64(32), "lr": np.float32(0.5), "act": "relu", "bn": True, "shape": (2, 3)},
        {"val_loss": [0.9, float("nan"), 0.4], "accuracy": 0.75},
        status="failure",
        start_time=100.0,
        end_time=160.0,
        first_step=2,
    )
    assert path.parent == tmp_path / "trial_7" and "tfevents" in path.name
    session = hparams.read_sessions(tmp_path)["trial_7"]
    assert session["hparams"] == {
        "act": "relu",
        "bn": True,
        "lr": 0.5,
        "shape": "(2, 3)",
        "units": 32,
    }
    assert session["metrics"] == {"accuracy": 0.75, "val_loss": pytest.approx(0.4)}
    assert session["status"] == "failure"
    assert (session["start_time"], session["end_time"]) == (100.0, 160.0)
    # The NaN is left out; steps start at first_step.
    acc = event_accumulator.EventAccumulator(str(path.parent))
    acc.Reload()
    assert [e.step for e in acc.Scalars("val_loss")] == [2, 4]


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="write_session: argument `status` got 'done'"):
        hparams.write_session(tmp_path, {}, status="done")
    with pytest.raises(ValueError, match=r"argument `space\['x'\]` got \[\]"):
        hparams.write_experiment(tmp_path, {"x": []}, ["loss"])
    with pytest.raises(ValueError, match="argument `metrics`"):
        hparams.write_experiment(tmp_path, {"x": [1]}, "loss")


def test_corrupt_record_is_reported(tmp_path):
    path = hparams.write_session(tmp_path / "run", {"a": 1}, {"m": 1.0})
    data = bytearray(path.read_bytes())
    data[-6] ^= 0xFF  # flip a byte of the last record's payload
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupt record"):
        list(hparams.read_events(path))
    path.write_bytes(bytes(data[:-3]))  # a partial record (a writer still at work) is skipped
    assert len(list(hparams.read_events(path))) >= 1


def test_experiment_from_a_keras_tuner_space(tmp_path):
    hp = keras_tuner.HyperParameters()
    hp.Choice("act", ["relu", "gelu"])
    hp.Int("units", 8, 64, step=8)
    hp.Float("lr", 1e-4, 1e-2, sampling="log")
    hp.Boolean("bn")
    hp.Fixed("depth", 3)
    hparams.write_experiment(tmp_path, hp, ["val_loss", "loss", "val_loss"])
    experiment = _plugin_post(tmp_path, "/experiment", {"experimentName": ""})
    infos = {info["name"]: info for info in experiment["hparamInfos"]}
    assert infos["act"]["domainDiscrete"] == ["relu", "gelu"]
    assert infos["units"]["domainInterval"] == {"minValue": 8.0, "maxValue": 64.0}
    assert infos["lr"]["domainInterval"]["maxValue"] == pytest.approx(1e-2)
    assert infos["bn"]["domainDiscrete"] == [False, True]
    assert infos["depth"]["domainDiscrete"] == [3.0]
    assert [m["name"]["tag"] for m in experiment["metricInfos"]] == ["loss", "val_loss"]
    # Rewritten, not added to, on a second call (a resumed search).
    hparams.write_experiment(tmp_path, hp, ["val_loss"])
    assert len(list(tmp_path.glob("*tfevents*"))) == 1


def _search_with_a_failure(tmp_path):
    def build(hp):
        units = hp.Choice("units", [4, 5, 8])
        if units == 5:
            raise ValueError("5 units are not allowed")
        model = keras.Sequential(
            [keras.Input((4,)), keras.layers.Dense(units, activation="relu"), keras.layers.Dense(1)]
        )
        model.compile("adam", "mse", metrics=["mae"])
        return model

    x = np.random.default_rng(0).random((16, 4)).astype("float32")
    log_dir = tmp_path / "logs"
    tuner = search(
        build,
        x,
        x.sum(axis=1),
        validation_data=(x, x.sum(axis=1)),
        tuner=keras_tuner.GridSearch,
        epochs=2,
        directory=tmp_path,
        log_dir=log_dir,
    )
    return tuner, log_dir


def test_search_trials_reach_the_hparams_dashboard(tmp_path):
    tuner, log_dir = _search_with_a_failure(tmp_path)
    trials = tuner.oracle.trials
    assert len(trials) == 3
    # One run folder per trial, each with an event file TensorBoard reads.
    for trial_id, trial in trials.items():
        acc = event_accumulator.EventAccumulator(str(log_dir / f"trial_{trial_id}"))
        acc.Reload()
        assert metadata.SESSION_START_INFO_TAG in acc.Tags()["tensors"]
        content = acc.SummaryMetadata(metadata.SESSION_START_INFO_TAG).plugin_data.content
        start = metadata.parse_session_start_info_plugin_data(content)
        assert start.hparams["units"].number_value == trial.hyperparameters.values["units"]
        if trial.status == "COMPLETED":
            assert len(acc.Scalars("val_loss")) == 2
            assert acc.Scalars("val_loss")[-1].value == pytest.approx(
                trial.metrics.get_last_value("val_loss"), rel=1e-5
            )
    # The plugin lists every trial, with its status and final metrics.
    groups = _session_groups(log_dir)
    assert sorted(groups) == [f"trial_{i}" for i in sorted(trials)]
    statuses = {name: g["sessions"][0]["status"] for name, g in groups.items()}
    by_units = {g["hparams"]["units"]: statuses[name] for name, g in groups.items()}
    assert by_units == {4.0: "STATUS_SUCCESS", 5.0: "STATUS_FAILURE", 8.0: "STATUS_SUCCESS"}
    for name, group in groups.items():
        tags = {m["name"]["tag"] for m in group["metricValues"]}
        assert tags == (
            set() if statuses[name] == "STATUS_FAILURE" else {"loss", "mae", "val_loss", "val_mae"}
        )
    # The experiment summary lists the search space and every metric.
    experiment = _plugin_post(log_dir, "/experiment", {"experimentName": ""})
    assert [h["name"] for h in experiment["hparamInfos"]] == ["units"]
    assert {m["name"]["tag"] for m in experiment["metricInfos"]} == {
        "loss",
        "mae",
        "val_loss",
        "val_mae",
    }
    assert api_pb2.STATUS_FAILURE  # the enum the dashboard filters on


def test_hparams_need_no_tensorflow(fresh_python, tmp_path):
    out = fresh_python(
        f"""
        import sys
        from kfx.tuning import hparams
        hparams.write_session({str(tmp_path / "t")!r}, {{"units": 3}}, {{"loss": [1.0, 0.5]}})
        hparams.write_experiment({str(tmp_path)!r}, {{"units": [3, 4]}}, ["loss"])
        print(hparams.read_sessions({str(tmp_path)!r})["t"]["metrics"])
        print("tensorflow" in sys.modules)
        """,
        env={"KERAS_BACKEND": "jax"},
    )
    assert out.split()[-1] == "False"
    assert "{'loss': 0.5}" in out
