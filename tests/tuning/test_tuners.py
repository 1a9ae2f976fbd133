"""kfx.tuning.tuners: the mixin's backoff, worker safety, memory and state-file repair."""

from __future__ import annotations

import gc
import json
import weakref

import keras
import keras_tuner
import numpy as np
import pytest
from keras_tuner.engine.trial import Trial

from kfx.tuning import _state, search, tuners

X = np.random.default_rng(0).random((16, 4)).astype("float32")
Y = X.sum(axis=1)


def build(hp):
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(hp.Int("units", 1, 10_000), activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    model.compile("adam", "mse")
    return model


def test_tuner_class_and_adopt(tmp_path):
    class Custom(keras_tuner.RandomSearch):
        pass

    cls = tuners.tuner_class(Custom)
    assert cls is tuners.tuner_class(Custom) and issubclass(cls, Custom)
    assert tuners.tuner_class(tuners.Hyperband) is tuners.Hyperband
    with pytest.raises(ValueError, match="tuner_class: argument `base` got"):
        tuners.tuner_class(dict)
    plain = keras_tuner.RandomSearch(build, objective="val_loss", directory=tmp_path)
    assert tuners.adopt(plain, log_dir=tmp_path / "logs") is plain
    assert isinstance(plain, tuners.TunerMixin) and plain.kfx_log_dir == str(tmp_path / "logs")
    with pytest.raises(ValueError, match="adopt: argument `tuner`"):
        tuners.adopt("tuner")
    with pytest.raises(
        ValueError, match="argument `max_idle_backoff` got 0.01; expected >= idle_backoff"
    ):
        tuners.RandomSearch(build, directory=tmp_path, idle_backoff=0.5, max_idle_backoff=0.01)


def test_idle_worker_backs_off_exponentially(tmp_path, monkeypatch):
    tuner = tuners.RandomSearch(build, objective="val_loss", directory=tmp_path)
    slept = []
    monkeypatch.setattr(tuners.time, "sleep", slept.append)
    # keras-tuner's loop: pre_create_trial, create_trial; IDLE answers go straight back.
    for _ in range(7):
        tuner.pre_create_trial()
    assert slept == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    tuner.on_trial_begin(Trial(keras_tuner.HyperParameters(), trial_id="0"))  # a trial came
    tuner.pre_create_trial()
    tuner.pre_create_trial()
    assert slept[-1] == 0.1  # the backoff starts again from the bottom
    assert tuner.kfx_stats["requests"] == 9 and tuner.kfx_stats["idle"] == 7
    assert tuner.kfx_stats["idle_seconds"] == pytest.approx(sum(slept))
    # idle_backoff=0 is keras-tuner's own behaviour: ask again at once.
    eager = tuners.RandomSearch(build, directory=tmp_path, project_name="p2", idle_backoff=0)
    slept.clear()
    for _ in range(3):
        eager.pre_create_trial()
    assert slept == [] and eager.kfx_stats["idle"] == 2


def test_a_worker_never_deletes_the_shared_project(tmp_path, monkeypatch):
    tuners.RandomSearch(build, objective="val_loss", directory=tmp_path, project_name="p")
    marker = tmp_path / "p" / "keep.txt"
    marker.write_text("shared")
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "tuner3")
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "1")  # never contacted
    worker = tuners.RandomSearch(
        build, objective="val_loss", directory=tmp_path, project_name="p", overwrite=True
    )
    assert marker.exists() and worker.tuner_id == "tuner3"
    # A plain keras-tuner worker would have deleted it.
    keras_tuner.RandomSearch(
        build, objective="val_loss", directory=tmp_path, project_name="p", overwrite=True
    )
    assert not marker.exists()


def _live_tf_graphs() -> int:
    """TensorFlow graphs alive (train steps are FuncGraphs); 0 on other backends."""
    if keras.backend.backend() != "tensorflow":
        return 0
    import tensorflow as tf

    return sum(isinstance(o, tf.Graph) for o in gc.get_objects())


def test_nothing_of_a_trial_outlives_it(tmp_path):
    built: list[weakref.ref] = []
    alive_at_build = []
    frozen_during = []
    graphs_at_build = []

    def tracked(hp):
        gc.collect()
        alive_at_build.append(sum(ref() is not None for ref in built))
        frozen_during.append(gc.get_freeze_count() > 0)
        if frozen_during[-1]:
            gc.unfreeze()  # gc.get_objects() leaves frozen objects out
            graphs_at_build.append(_live_tf_graphs())
            gc.freeze()
        model = build(hp)
        built.append(weakref.ref(model))
        return model

    outer_freeze = gc.get_freeze_count() > 0  # tests/conftest.py may freeze per module
    gc.unfreeze()
    try:
        search(tracked, X, Y, validation_data=(X, Y), max_trials=6, epochs=1, directory=tmp_path)
        after = gc.get_freeze_count()
    finally:
        if outer_freeze:
            gc.freeze()
    gc.collect()
    # keras-tuner clears the session before each build; kfx keeps no History (which holds
    # its model) and no reference of its own: no model of an earlier trial is alive.
    assert alive_at_build == [0] * len(alive_at_build)
    assert sum(ref() is not None for ref in built) == 0
    # gc.freeze() during the search (cheap per-trial collections), undone after it.
    assert all(frozen_during[1:])  # the first build (the search space) comes before search()
    assert after == 0
    # No trial's train-step graph stays alive (on TensorFlow, Keras' one-replica all-reduce
    # would keep each one in the gradient registry: see test_single_replica.py).
    assert len(graphs_at_build) == 6 and len(set(graphs_at_build)) == 1, graphs_at_build


def test_memory_stays_flat_across_trials_on_jax(fresh_python, tmp_path):
    """RSS growth over 6 trials after 4 of warm-up. Without jax.clear_caches() between
    trials it grows about 10 MB a trial for this tiny model (TensorFlow: see docs/tuning.md)."""
    out = fresh_python(
        f"""
        import os, keras, keras_tuner, numpy as np
        from kfx.tuning import search

        def rss_mb():
            return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

        rss = []
        class HyperModel(keras_tuner.HyperModel):
            def build(self, hp):
                rss.append(rss_mb())
                model = keras.Sequential([
                    keras.Input((4,)),
                    keras.layers.Dense(hp.Int("units", 1, 10000), activation="relu"),
                    keras.layers.Dense(1),
                ])
                model.compile("adam", "mse")
                return model

        x = np.random.default_rng(0).random((16, 4)).astype("float32")
        search(HyperModel(), x, x.sum(axis=1), validation_data=(x, x.sum(axis=1)),
               max_trials=10, epochs=1, directory={str(tmp_path)!r}, seed=1)
        print("growth", rss[-1] - rss[4])
        """,
        env={"KERAS_BACKEND": "jax"},
    )
    growth = float(out.split("growth")[-1])
    # Allocator noise here is up to ~35 MB; without clear_caches the growth is ~60 MB.
    assert growth < 45, f"RSS grew {growth:.0f} MB over 6 trials"


def test_state_files_cut_short_are_repaired(tmp_path):
    project = tmp_path / "p"
    (project / "trial_0").mkdir(parents=True)
    (project / "trial_1").mkdir()
    good_trial = json.dumps({"trial_id": "0", "status": "COMPLETED"})
    (project / "trial_0" / "trial.json").write_text(good_trial)
    (project / "oracle.json").write_text('{"ongoing_trials": {}}')
    (project / "chief.json").write_text("{}")
    _state.backup(project, ["trial_0/trial.json", "oracle.json", "chief.json", "missing.json"])
    # A kill in the middle of writes:
    (project / "trial_0" / "trial.json").write_text("")
    (project / "oracle.json").write_text('{"ongoing_tri')
    (project / "trial_1" / "trial.json").write_text("")  # never backed up: being created
    (project / "tuner0.json").write_text("{")  # a tuner file without a copy
    done = _state.repair(project)
    assert len(done) == 4
    assert (project / "trial_0" / "trial.json").read_text() == good_trial
    assert json.loads((project / "oracle.json").read_text()) == {"ongoing_trials": {}}
    assert not (project / "trial_1" / "trial.json").exists()
    assert (project / "tuner0.json").read_text() == "{}"
    assert _state.repair(project) == []  # nothing left to do
    assert _state.repair(tmp_path / "nowhere") == []


def test_resume_after_a_state_file_was_cut_short(tmp_path, capsys):
    search(build, X, Y, validation_data=(X, Y), max_trials=2, epochs=1, directory=tmp_path)
    (tmp_path / "kfx" / "trial_1" / "trial.json").write_text("")  # as a kill would leave it
    (tmp_path / "kfx" / "oracle.json").write_text("{")
    tuner = search(build, X, Y, validation_data=(X, Y), max_trials=3, epochs=1, directory=tmp_path)
    out = capsys.readouterr().out
    assert "kfx: restored" in out
    statuses = [t.status for t in tuner.oracle.trials.values()]
    assert statuses == ["COMPLETED"] * 3


def test_a_finished_trial_still_listed_as_ongoing_is_not_run_again(tmp_path, capsys):
    # A chief killed between writing a trial's end and the oracle's state leaves this.
    search(build, X, Y, validation_data=(X, Y), max_trials=2, epochs=1, directory=tmp_path)
    oracle_file = tmp_path / "kfx" / "oracle.json"
    state = json.loads(oracle_file.read_text())
    first = sorted(
        p.parent.name.removeprefix("trial_") for p in (tmp_path / "kfx").glob("trial_*/trial.json")
    )[0]
    state["ongoing_trials"] = {"tuner0": first}
    oracle_file.write_text(json.dumps(state))
    capsys.readouterr()
    tuner = search(build, X, Y, validation_data=(X, Y), max_trials=3, epochs=1, directory=tmp_path)
    out = capsys.readouterr().out
    assert f"trial {first} (COMPLETED) was still listed as running on tuner0" in out
    assert out.count(" completed in ") == 1  # one new trial; the finished one is not redone
    assert [t.status for t in tuner.oracle.trials.values()] == ["COMPLETED"] * 3


def test_summary_without_completed_trials(tmp_path):
    tuner = tuners.RandomSearch(build, objective="val_loss", directory=tmp_path)
    text = tuners.summary(tuner)
    assert text.splitlines()[0].startswith("search: 0 trials, 0 completed, 0 failed")
    assert text.splitlines()[-1] == "no completed trial"
