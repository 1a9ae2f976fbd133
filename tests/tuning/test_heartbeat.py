"""Hung workers: ``kfx tune --heartbeat-timeout S`` kills and restarts a worker whose
heartbeat stopped (kfx.tuning._heartbeat), and its trial resumes.

The quick test uses stand-in processes that touch the heartbeat file themselves; the real
one SIGSTOPs a kfx worker in the middle of a trial. Every process is stopped by its PID.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap

import pytest
from tuning_launching import EPOCHS_SCRIPT, Run, epochs_begun, in_epoch, trial_states, wait_for

from kfx.tuning import launcher


@pytest.fixture(autouse=True)
def _save_every_epoch(monkeypatch):
    """The epochs here are shorter than the default least time between saves: save each."""
    monkeypatch.setenv("KFX_EPOCH_STATE_SECONDS", "0")


# A chief that listens for CHIEF_SECONDS; tuner0 beats, then (first start only) stops
# beating while it stays alive; tuner1 never beats (a plain keras-tuner worker).
STAND_INS = textwrap.dedent(
    """
    import os, socket, sys, time
    role, log = os.environ["KERASTUNER_TUNER_ID"], os.environ["FAKE_LOG"]
    with open(log, "a") as f:
        f.write(f"{role} {os.getpid()}\\n")
    if role == "chief":
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((os.environ["KERASTUNER_ORACLE_IP"], int(os.environ["KERASTUNER_ORACLE_PORT"])))
        s.listen()
        time.sleep(float(os.environ["CHIEF_SECONDS"]))
        sys.exit(0)
    if role == "tuner1":
        time.sleep(60)
    beats, every = os.environ["KFX_HEARTBEAT_FILE"], float(os.environ["KFX_HEARTBEAT_INTERVAL"])
    first = not os.path.exists(log + ".hung")
    for _ in range(3):
        open(beats, "a").close(); os.utime(beats, None); time.sleep(every)
    if first:
        open(log + ".hung", "w").close()
        time.sleep(60)  # alive, silent
    sys.exit(0)
    """
)


def test_a_silent_worker_is_killed_and_restarted_and_a_non_beating_one_is_left(tmp_path, capsys):
    script = tmp_path / "stand_ins.py"
    script.write_text(STAND_INS)
    log = tmp_path / "starts.txt"
    env = {**os.environ, "FAKE_LOG": str(log), "CHIEF_SECONDS": "8"}
    status = launcher.launch(
        [sys.executable, str(script)],
        workers=2,
        log_dir=tmp_path / "logs",
        env=env,
        stop_grace=0.5,
        heartbeat_timeout=1.0,
    )
    assert status == 0
    starts = [line.split() for line in log.read_text().splitlines()]
    roles = [role for role, _ in starts]
    assert roles.count("tuner0") == 2 and roles.count("tuner1") == 1
    first_pid = next(pid for role, pid in starts if role == "tuner0")
    out = capsys.readouterr()
    assert (
        f"tuner0 (pid {first_pid}) sent no heartbeat for 1 s (--heartbeat-timeout 1); killing it"
        in out.err
    )
    assert "tuner0 exited with status 137; restart 1/3 under the same tuner id" in out.out
    assert "tuner0 finished" in out.out


@pytest.mark.parametrize("timeout", [0, -5.0, "10"])
def test_heartbeat_timeout_must_be_positive(timeout):
    with pytest.raises(
        ValueError, match=r"launch: argument `heartbeat_timeout` got .*; expected a float > 0\."
    ):
        launcher.launch(["true"], workers=1, heartbeat_timeout=timeout)


def test_the_command_refuses_a_non_positive_heartbeat_timeout(tmp_path):
    cli = subprocess.run(
        [sys.executable, "-m", "kfx.tuning.launcher", "--workers", "1", "--heartbeat-timeout"]
        + ["0", "--log-dir", str(tmp_path), "--", sys.executable, "-c", "pass"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 2
    assert "`heartbeat_timeout` got 0.0; expected a float > 0" in cli.stderr
    assert not list(tmp_path.glob("*.log"))  # nothing started


@pytest.mark.slow
def test_a_stopped_worker_is_replaced_and_its_trial_resumes(tmp_path):
    """SIGSTOP a worker during a trial with ``--heartbeat-timeout 10``: the launcher kills
    it and starts it again, the trial resumes, and every trial completes once."""
    run = Run(
        tmp_path,
        "run",
        2,
        workers=("--workers", "1"),
        options=("--heartbeat-timeout", "10"),
        script=EPOCHS_SCRIPT,
        env={**os.environ, "EPOCHS": "4", "EPOCH_SLEEP": "0.4"},
    )
    try:
        units, pid = wait_for(lambda: in_epoch(run.marks, 2), 180, "epoch 3 of a trial", run)
        os.kill(pid, signal.SIGSTOP)
        status = run.wait(timeout=240)
        out = run.out.read_text(errors="replace")
        assert status == 0, out[-3000:]
    finally:
        run.stop()
    assert re.search(
        rf"tuner0 \(pid {pid}\) sent no heartbeat for 10 s \(--heartbeat-timeout 10\); killing it",
        out,
    ), out
    assert "tuner0 exited with status 137; restart 1/3 under the same tuner id" in out
    states = trial_states(run.marks / "project" / "kfx")
    assert len(states) == 2 and {s for s, _ in states.values()} == {"COMPLETED"}, states
    begun = epochs_begun(run.marks, units)
    assert [e for e, p in begun if p == pid] == [0, 1, 2]
    assert [e for e, p in begun if p != pid] == [2, 3]  # resumed, not run again
    for other in {u for _, u in states.values()} - {units}:
        assert [e for e, _ in epochs_begun(run.marks, other)] == [0, 1, 2, 3]  # once
