"""kfx.tuning._state: last good copies of keras-tuner's state files, and their repair."""

from __future__ import annotations

import json

from kfx.tuning import _state

ORACLE = {"ongoing_trials": {}, "tuner_ids": []}


def _project(tmp_path):
    project = tmp_path / "p"
    (project / "trial_0").mkdir(parents=True)
    return project


def _write(project, rel, data):
    path = project / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_file_names(tmp_path):
    project = _project(tmp_path)
    _write(project, "oracle.json", ORACLE)
    _write(project, "tuner0.json", {})
    _write(project, "notes.txt", "not state")
    assert _state.trial_file("07") == "trial_07/trial.json"
    assert _state.root_files(project) == ["oracle.json", "tuner0.json"]


def test_backup_copies_only_files_that_parse(tmp_path):
    project = _project(tmp_path)
    _write(project, "oracle.json", ORACLE)
    _write(project, "trial_0/trial.json", {"trial_id": "0", "status": "RUNNING"})
    _write(project, "tuner0.json", '{"cut')
    _state.backup(project, ["oracle.json", "trial_0/trial.json", "tuner0.json", "missing.json"])
    backup = project / _state.BACKUP_DIR
    assert json.loads((backup / "oracle.json").read_text()) == ORACLE
    assert json.loads((backup / "trial_0/trial.json").read_text())["status"] == "RUNNING"
    assert not (backup / "tuner0.json").exists() and not (backup / "missing.json").exists()
    # A later backup of a file cut short keeps the last good copy.
    _write(project, "oracle.json", "")
    _state.backup(project, ["oracle.json"])
    assert json.loads((backup / "oracle.json").read_text()) == ORACLE


def test_repair_restores_a_cut_short_file_from_its_last_good_copy(tmp_path):
    project = _project(tmp_path)
    trial = {"trial_id": "0", "status": "COMPLETED"}
    _write(project, "trial_0/trial.json", trial)
    _write(project, "oracle.json", ORACLE)
    _state.backup(project, ["trial_0/trial.json", "oracle.json"])
    cut = json.dumps(trial)[:7]
    _write(project, "trial_0/trial.json", cut)
    _write(project, "oracle.json", "")
    done = _state.repair(project)
    assert len(done) == 2 and all(line.startswith("restored ") for line in done)
    assert json.loads((project / "trial_0/trial.json").read_text()) == trial
    assert json.loads((project / "oracle.json").read_text()) == ORACLE
    assert _state.repair(project) == []


def test_repair_without_a_copy(tmp_path):
    project = _project(tmp_path)
    _write(project, "oracle.json", ORACLE)
    trial = _write(project, "trial_0/trial.json", '{"trial_id": "0", "sta')
    tuner = _write(project, "tuner1.json", '{"a"')
    done = _state.repair(project)
    # A trial cut short before its first full write never started: its file goes.
    assert not trial.exists()
    assert f"removed {trial}: cut short before the trial started" in done
    # A tuner's state file holds nothing keras-tuner's tuners need: it is reset.
    assert json.loads(tuner.read_text()) == {}
    assert f"reset {tuner} (it was cut short)" in done


def test_an_oracle_file_without_a_copy_is_left_alone(tmp_path):
    project = _project(tmp_path)
    oracle = _write(project, "oracle.json", '{"ongoing')
    assert _state.repair(project) == []
    assert oracle.read_text() == '{"ongoing'  # keras-tuner reports it: kfx cannot guess it


def test_a_worker_checks_only_its_own_file(tmp_path):
    project = _project(tmp_path)
    _write(project, "oracle.json", "")
    own = _write(project, "tuner1.json", "")
    other = _write(project, "tuner2.json", "")
    assert _state.repair(project, ["tuner1.json"]) == [f"reset {own} (it was cut short)"]
    assert other.read_text() == "" and (project / "oracle.json").read_text() == ""


def test_ended_trials_are_taken_off_the_ongoing_list(tmp_path):
    project = _project(tmp_path)
    _write(project, "trial_0/trial.json", {"trial_id": "0", "status": "COMPLETED"})
    _write(project, "trial_1/trial.json", {"trial_id": "1", "status": "RUNNING"})
    _write(project, "oracle.json", {"ongoing_trials": {"tuner0": "0", "tuner1": "1"}})
    done = _state.repair(project)
    assert done == [
        "trial 0 (COMPLETED) was still listed as running on tuner0; it is not run again"
    ]
    ongoing = json.loads((project / "oracle.json").read_text())["ongoing_trials"]
    assert ongoing == {"tuner1": "1"}
    # A worker's check leaves the oracle's files to the chief.
    _write(project, "oracle.json", {"ongoing_trials": {"tuner0": "0"}})
    assert _state.repair(project, ["tuner0.json"]) == []


def test_no_project_yet(tmp_path):
    assert _state.repair(tmp_path / "nowhere") == []
    _state.backup(tmp_path / "nowhere", ["oracle.json"])  # nothing to copy, no error
    assert not (tmp_path / "nowhere").exists()
