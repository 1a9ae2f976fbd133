"""``kfx tune`` end to end: the real command runs examples/search_digits.py as a chief and two
workers, and the search's files say that every trial ran exactly once.

The launcher runs as its own process (``python -m kfx.cli``), bounded by its ``--timeout``
and by the test's; on a timeout it gets SIGTERM, which stops its children.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

from kfx.tuning import hparams

ROOT = Path(__file__).parent.parent.parent
SCRIPT = ROOT / "examples" / "search_digits.py"
QUICK_TRIALS = 3  # what search_digits.py --quick runs


def _run(command: list[str], cwd: Path, timeout: float) -> tuple[int, str]:
    proc = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the launcher stops the chief and the workers
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        raise AssertionError(f"kfx tune did not finish in {timeout} s:\n{out[-3000:]}") from None
    return proc.returncode, out


def test_kfx_tune_runs_the_digits_search_with_two_workers(tmp_path):
    out_dir, log_dir = tmp_path / "search", tmp_path / "logs"
    command = [
        sys.executable,
        "-m",
        "kfx.cli",
        "tune",
        "--workers",
        "2",
        "--timeout",
        "240",
        "--log-dir",
        str(log_dir),
        "--",
        sys.executable,
        str(SCRIPT),
        "--quick",
        "--directory",
        str(out_dir),
    ]
    status, output = _run(command, tmp_path, timeout=300)
    logs = {p.stem: p.read_text(errors="replace") for p in log_dir.glob("*.log")}
    assert status == 0, output[-3000:] + "\n" + logs.get("chief", "")[-3000:]
    assert "chief exited with status 0" in output

    # One log per process, each opened with the launcher's header line.
    assert sorted(logs) == ["chief", "tuner0", "tuner1"]
    for name, text in logs.items():
        assert text.startswith("=== kfx tune ") and f": {name}: " in text.splitlines()[0]
    chief = logs["chief"]
    assert f"{QUICK_TRIALS} trials, {QUICK_TRIALS} completed, 0 failed" in chief
    best = re.search(r"best trial (\w+): val_accuracy=([0-9.]+)", chief)
    assert best, chief[-3000:]

    # Every trial completed, and ran exactly once (the workers' own trial lines).
    project = out_dir / "digits"
    trials = {
        t["trial_id"]: t
        for t in (json.loads(p.read_text()) for p in project.glob("trial_*/trial.json"))
    }
    assert len(trials) == QUICK_TRIALS
    assert {t["status"] for t in trials.values()} == {"COMPLETED"}, trials
    ran = [
        m[1]
        for worker in ("tuner0", "tuner1")
        for m in re.finditer(rf"^\[{worker}\] trial (\w+) completed in", logs[worker], re.M)
    ]
    assert sorted(ran) == sorted(trials), ran
    reported = re.findall(r"^\[chief <- tuner\d\] trial (\w+) completed:", chief, re.M)
    assert sorted(reported) == sorted(trials)
    for worker in ("tuner0", "tuner1"):
        assert f"worker {worker} done" in logs[worker]

    # The HParams dashboard's sessions: one per trial, scored as keras-tuner scored it.
    sessions = hparams.read_sessions(out_dir / "hparams")
    assert sorted(sessions) == sorted(f"trial_{i}" for i in trials)
    for trial_id, trial in trials.items():
        session = sessions[f"trial_{trial_id}"]
        assert session["status"] == "success"
        assert set(session["hparams"]) == set(trial["hyperparameters"]["values"])
        assert abs(session["metrics"]["val_accuracy"] - trial["score"]) < 1e-6
    assert abs(float(best[2]) - max(t["score"] for t in trials.values())) < 1e-3
