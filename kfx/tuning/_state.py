"""Last good copies of keras-tuner's state files, and their repair on resume.

keras-tuner rewrites its JSON state in place (``oracle.json``, ``trial_*/trial.json``, one
``<tuner id>.json`` per process): a process killed in the middle of a write leaves an empty
or cut-short file, and the resumed search then fails to load the project. kfx keeps a copy
of each state file as soon as keras-tuner has finished writing it (in ``.kfx-backup/`` in
the project folder, written atomically), and before keras-tuner reloads a project it puts
the last good copy back in place of a file that does not parse.

The copies are one step behind at most, which is what keras-tuner needs: a trial whose
end was being recorded when the process died comes back as running and is run again.

The files can also disagree: a chief killed between writing a trial's end (its
``trial.json``) and the oracle's list of ongoing trials (``oracle.json``) leaves a finished
trial listed as ongoing, and keras-tuner would hand it out again on resume. :func:`repair`
takes such trials off that list.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from kfx import _io

BACKUP_DIR = ".kfx-backup"
ORACLE_FILE = "oracle.json"
#: Trial statuses after which a trial is never run again.
ENDED = ("COMPLETED", "FAILED", "INVALID", "STOPPED")


def trial_file(trial_id: str) -> str:
    return f"trial_{trial_id}/trial.json"


def root_files(project: str | Path) -> list[str]:
    return sorted(p.name for p in Path(project).glob("*.json"))


def _valid(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


def backup(project: str | Path, files: Iterable[str]) -> None:
    """Copy each of `files` (paths relative to `project`) that parses to the backup folder."""
    project = Path(project)
    for rel in files:
        try:
            data = (project / rel).read_bytes()
        except OSError:
            continue
        if _valid(data):
            _io.write_bytes(project / BACKUP_DIR / rel, data)


def repair(project: str | Path, files: Iterable[str] | None = None) -> list[str]:
    """Restore state files of `project` that do not parse; return what was done, one line each.

    Args:
        project: the keras-tuner project folder (``directory/project_name``).
        files: the files to check, relative to `project` (default: every state file).
    """
    project = Path(project)
    if not project.is_dir():
        return []
    whole = files is None  # the chief's (or a local search's) check of the whole project
    if whole:
        files = root_files(project) + sorted(
            p.relative_to(project).as_posix() for p in project.glob("trial_*/trial.json")
        )
    done = []
    for rel in files:
        path = project / rel
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if _valid(data):
            continue
        copy = project / BACKUP_DIR / rel
        good = copy.read_bytes() if copy.is_file() else None
        if good is not None and _valid(good):
            _io.write_bytes(path, good)
            done.append(f"restored {path} from its last good copy (it was cut short)")
        elif rel.endswith("/trial.json"):
            # Never written in full and never backed up: the trial was being created, so the
            # oracle's own state does not know it yet.
            path.unlink()
            done.append(f"removed {path}: cut short before the trial started")
        elif rel != ORACLE_FILE:
            # A tuner's state file: keras-tuner's tuners keep no state in it.
            _io.write_text(path, "{}")
            done.append(f"reset {path} (it was cut short)")
    # The oracle's files are the chief's alone: a worker checks only its own file.
    return done + (_drop_ended_ongoing(project) if whole else [])


def _drop_ended_ongoing(project: Path) -> list[str]:
    """Take trials whose ``trial.json`` says they ended off ``oracle.json``'s ongoing list."""
    path = project / ORACLE_FILE
    try:
        state = json.loads(path.read_text())
        ongoing = state.get("ongoing_trials") or {}
    except (OSError, ValueError, AttributeError):
        return []
    ended = {}
    for tuner_id, trial_id in ongoing.items():
        try:
            status = json.loads((project / trial_file(trial_id)).read_text()).get("status")
        except (OSError, ValueError, AttributeError):
            continue
        if status in ENDED:
            ended[tuner_id] = (trial_id, status)
    if not ended:
        return []
    state["ongoing_trials"] = {k: v for k, v in ongoing.items() if k not in ended}
    _io.write_text(path, json.dumps(state))
    return [
        f"trial {trial_id} ({status}) was still listed as running on {tuner_id}; it is not run again"
        for tuner_id, (trial_id, status) in ended.items()
    ]
