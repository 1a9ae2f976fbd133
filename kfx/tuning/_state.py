"""Last good copies of keras-tuner's state files, and their repair on resume.

keras-tuner rewrites its JSON state in place (``oracle.json``, ``trial_*/trial.json``, one
``<tuner id>.json`` per process): a process killed in the middle of a write leaves an empty
or cut-short file, and the resumed search then fails to load the project. kfx keeps a copy
of each state file as soon as keras-tuner has finished writing it (in ``.kfx-backup/`` in
the project folder, written atomically), and before keras-tuner reloads a project it puts
the last good copy back in place of a file that does not parse.

The copies are one step behind at most, which is what keras-tuner needs: a trial whose
end was being recorded when the process died comes back as running and is run again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from kfx import _io

BACKUP_DIR = ".kfx-backup"
ORACLE_FILE = "oracle.json"


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
            with _io.atomic_path(project / BACKUP_DIR / rel) as tmp:
                tmp.write_bytes(data)


def repair(project: str | Path, files: Iterable[str] | None = None) -> list[str]:
    """Restore state files of `project` that do not parse; return what was done, one line each.

    Args:
        project: the keras-tuner project folder (``directory/project_name``).
        files: the files to check, relative to `project` (default: every state file).
    """
    project = Path(project)
    if not project.is_dir():
        return []
    if files is None:
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
            with _io.atomic_path(path) as tmp:
                tmp.write_bytes(good)
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
    return done
