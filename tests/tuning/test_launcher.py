"""kfx.tuning.launcher: the chief/worker supervisor behind ``kfx tune``.

The first tests use stand-in processes (a chief that only listens, workers that only sleep or
crash) to check the supervision rules quickly; the last ones run real keras-tuner searches
as a chief and two workers on 127.0.0.1, with a worker and then the chief SIGKILLed.
Every process is bounded by a timeout and stopped by its PID in a ``finally`` block.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from tuning_launching import TRIALS, Run, alive, kill_leftovers, trial_states, wait_for

from kfx.tuning import launcher

# A stand-in chief: listens on the oracle port, then exits with CHIEF_EXIT after CHIEF_SECONDS.
FAKE_CHIEF = textwrap.dedent(
    """
    import os, socket, sys, time
    log = os.environ["FAKE_LOG"]
    role = os.environ["KERASTUNER_TUNER_ID"]
    with open(log, "a") as f:
        cuda = os.environ.get("CUDA_VISIBLE_DEVICES", "unset")
        f.write(f"{role} {os.getpid()} cuda={cuda} cluster={os.environ.get('KFX_CLUSTER')}\\n")
    if role == "chief":
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((os.environ["KERASTUNER_ORACLE_IP"], int(os.environ["KERASTUNER_ORACLE_PORT"])))
        s.listen()
        time.sleep(float(os.environ.get("CHIEF_SECONDS", "60")))
        sys.exit(int(os.environ.get("CHIEF_EXIT", "0")))
    mode = os.environ.get("WORKER_MODE", "sleep")
    if mode == "crash":
        sys.exit(3)
    if mode == "crash_once" and not os.path.exists(log + "." + role):
        open(log + "." + role, "w").close()
        os.kill(os.getpid(), 9)
    time.sleep(float(os.environ.get("WORKER_SECONDS", "60")))
    """
)


def _fake(tmp_path, **env):
    script = tmp_path / "fake.py"
    script.write_text(FAKE_CHIEF)
    log = tmp_path / "starts.txt"
    full_env = {**os.environ, "FAKE_LOG": str(log), **{k: str(v) for k, v in env.items()}}
    return [sys.executable, str(script)], full_env, log


def _starts(log: Path) -> list[tuple[str, int]]:
    if not log.exists():
        return []
    return [(r, int(p)) for r, p, *_ in (line.split() for line in log.read_text().splitlines())]


def _environments(log: Path) -> dict[str, dict[str, str]]:
    """What each role's last start saw: ``{"chief": {"cuda": "", "cluster": "single"}, ...}``."""
    seen = {}
    for line in log.read_text().splitlines():
        role, _, *pairs = line.split(" ")
        seen[role] = dict(pair.split("=", 1) for pair in pairs)
    return seen


def test_chief_failing_before_listening_returns_its_status(tmp_path):
    command = [sys.executable, "-c", "print('boom'); raise SystemExit(7)"]
    assert launcher.launch(command, workers=2, log_dir=tmp_path, quiet=True) == 7
    assert "boom" in (tmp_path / "chief.log").read_text()
    assert not (tmp_path / "tuner0.log").exists()  # no worker was started


def test_busy_port_is_refused(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        status = launcher.launch(["true"], workers=1, port=port, log_dir=tmp_path, quiet=True)
    assert status == launcher.GAVE_UP


def test_bad_arguments():
    with pytest.raises(ValueError, match="`workers` got 0"):
        launcher.launch(["true"], workers=0)
    with pytest.raises(ValueError, match="`command` got"):
        launcher.launch([], workers=1)
    # The package's one message format (kfx._validation), final period included.
    with pytest.raises(
        ValueError, match=r"^launch: argument `max_restarts` got -1; expected an int >= 0\.$"
    ):
        launcher.launch(["true"], workers=1, max_restarts=-1)


def test_chief_exit_stops_workers_and_gives_its_status(tmp_path):
    command, env, log = _fake(tmp_path, CHIEF_SECONDS=1.5, CHIEF_EXIT=5)
    started = time.monotonic()
    status = launcher.launch(command, workers=2, log_dir=tmp_path, env=env, stop_grace=0.5)
    assert status == 5
    assert time.monotonic() - started < 20
    starts = _starts(log)
    assert sorted(role for role, _ in starts) == ["chief", "tuner0", "tuner1"]
    assert not any(alive(pid) for _, pid in starts)
    for role in ("chief", "tuner0", "tuner1"):
        assert (tmp_path / f"{role}.log").exists()


def test_dead_worker_restarts_under_its_tuner_id(tmp_path, capsys):
    command, env, log = _fake(tmp_path, CHIEF_SECONDS=4, WORKER_MODE="crash_once")
    status = launcher.launch(command, workers=2, log_dir=tmp_path, env=env, stop_grace=0.5)
    assert status == 0
    roles = [role for role, _ in _starts(log)]
    assert roles.count("chief") == 1
    assert roles.count("tuner0") == 2 and roles.count("tuner1") == 2  # killed once, restarted
    out = capsys.readouterr().out
    assert "tuner0 exited with status 137; restart 1/3 under the same tuner id" in out
    assert not any(alive(pid) for _, pid in _starts(log))


def test_restarts_are_bounded(tmp_path, capsys):
    command, env, log = _fake(tmp_path, CHIEF_SECONDS=60, WORKER_MODE="crash")
    started = time.monotonic()
    status = launcher.launch(command, workers=1, log_dir=tmp_path, env=env, max_restarts=2)
    assert status == launcher.GAVE_UP
    assert time.monotonic() - started < 30  # the chief was stopped, not waited for
    roles = [role for role, _ in _starts(log)]
    assert roles.count("tuner0") == 3  # first start + 2 restarts
    assert "has used its 2 restarts" in capsys.readouterr().err
    assert not any(alive(pid) for _, pid in _starts(log))


def test_gpus_per_worker_gives_each_worker_its_slice_and_the_chief_none(tmp_path):
    command, env, log = _fake(tmp_path, CHIEF_SECONDS=3, WORKER_SECONDS=0.5, KFX_GPU_COUNT=4)
    status = launcher.launch(
        command, workers=2, gpus_per_worker=2, log_dir=tmp_path / "logs", env=env, quiet=True
    )
    assert status == 0
    seen = _environments(log)
    assert {role: values["cuda"] for role, values in seen.items()} == {
        "chief": "",
        "tuner0": "0,1",
        "tuner1": "2,3",
    }
    assert {values["cluster"] for values in seen.values()} == {"single"}  # trials train alone


def test_without_gpus_per_worker_cuda_visible_devices_is_left_alone(tmp_path):
    command, env, log = _fake(tmp_path, CHIEF_SECONDS=2, WORKER_SECONDS=0.2)
    env["CUDA_VISIBLE_DEVICES"] = "3"
    assert launcher.launch(command, workers=1, log_dir=tmp_path / "logs", env=env, quiet=True) == 0
    assert {v["cuda"] for v in _environments(log).values()} == {"3"}


def test_more_gpus_than_visible_fail_before_any_process_starts(tmp_path):
    command, env, log = _fake(tmp_path, KFX_GPU_COUNT=4)
    with pytest.raises(
        ValueError,
        match=r"`gpus_per_worker` got 2; expected at most 1 GPUs for each of 3 workers: 4 visible \(from KFX_GPU_COUNT\)",
    ):
        launcher.launch(command, workers=3, gpus_per_worker=2, log_dir=tmp_path, env=env)
    env = {**env, "KFX_GPU_COUNT": "", "CUDA_VISIBLE_DEVICES": "-1"}
    with pytest.raises(ValueError, match=r"0 visible \(from CUDA_VISIBLE_DEVICES\)"):
        launcher.launch(command, workers=1, gpus_per_worker=1, log_dir=tmp_path, env=env)
    assert not log.exists()  # nothing started
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "kfx.tuning.launcher",
            "--workers",
            "3",
            "--gpus-per-worker",
            "2",
            "--log-dir",
            str(tmp_path),
            "--",
            *command,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "KFX_GPU_COUNT": "4"},
    )
    assert cli.returncode == 2 and "expected at most 1 GPUs for each of 3 workers" in cli.stderr


def test_workers_may_be_left_out_only_inside_a_slurm_step(tmp_path):
    command, env, log = _fake(tmp_path)
    with pytest.raises(
        ValueError,
        match=r"argument `workers` got None; expected an int >= 1 \(outside a multi-task srun step\)",
    ):
        launcher.launch(command, workers=None, log_dir=tmp_path, env=env)
    cli = subprocess.run(
        [sys.executable, "-m", "kfx.tuning.launcher", "--log-dir", str(tmp_path), "--", *command],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert cli.returncode == 2 and "outside a multi-task srun step" in cli.stderr
    assert not log.exists()


def _slurm_worker_task(port: int):
    """What task 1 of a 2-task srun step finds: a worker, its chief at task 0's address."""
    from kfx.distribute.clusters import Cluster

    return Cluster("slurm", "worker", 1, {"worker": (f"127.0.0.1:{port}", "127.0.0.1:1")})


def _listen(port: int) -> socket.socket:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen()
    return server


def test_a_slurm_worker_task_restarts_its_worker_and_stops_when_the_chief_does(tmp_path):
    """Task 1's supervision, with task 0's chief played by a socket of this test: the worker
    waits for the chief, is restarted under its tuner id when it dies, and is stopped once
    the chief has stopped listening for `stop_grace` seconds."""
    port = launcher.free_port()
    command, env, log = _fake(tmp_path, WORKER_MODE="crash_once", WORKER_SECONDS=60)
    outcome = {}
    thread = threading.Thread(
        target=lambda: outcome.update(
            status=launcher.launch_slurm_task(
                command,
                _slurm_worker_task(port),
                log_dir=tmp_path / "logs",
                env=env,
                stop_grace=1.0,
                ready_timeout=60,
                timeout=120,
                quiet=True,
            )
        )
    )
    thread.start()
    try:
        time.sleep(1.0)
        assert _starts(log) == []  # no chief yet: the worker waits
        chief = _listen(port)
        deadline = time.monotonic() + 60
        while len(_starts(log)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        starts = _starts(log)
        assert [role for role, _ in starts] == ["tuner0", "tuner0"]  # killed once, restarted
        assert _environments(log)["tuner0"]["cluster"] == "single"
        chief.close()  # the chief ends: the worker task stops its worker
        thread.join(timeout=60)
        assert not thread.is_alive() and outcome["status"] == 0
        assert not alive(starts[-1][1])
    finally:
        kill_leftovers([pid for _, pid in _starts(log)], str(tmp_path))


def test_a_slurm_worker_task_gives_up_when_its_chief_never_listens(tmp_path):
    command, env, log = _fake(tmp_path)
    status = launcher.launch_slurm_task(
        command,
        _slurm_worker_task(launcher.free_port()),
        log_dir=tmp_path,
        env=env,
        ready_timeout=1.0,
        quiet=True,
    )
    assert status == launcher.GAVE_UP and _starts(log) == []


def test_timeout_stops_everything(tmp_path):
    command, env, log = _fake(tmp_path)
    status = launcher.launch(command, workers=1, log_dir=tmp_path, env=env, timeout=3, quiet=True)
    assert status == launcher.TIMED_OUT
    assert not any(alive(pid) for _, pid in _starts(log))


def test_sigterm_to_the_launcher_stops_every_child(tmp_path):
    command, env, log = _fake(tmp_path)
    code = (
        "import sys; from kfx.tuning.launcher import launch; "
        f"sys.exit(launch({command!r}, workers=2, log_dir={str(tmp_path)!r}))"
    )
    # The launcher as its own process; `import kfx` loads Keras, here with its quickest
    # backend (the stand-in children do not use Keras).
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env={**env, "KERAS_BACKEND": "numpy"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while len(_starts(log)) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_starts(log)) == 3
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
        assert not any(alive(pid) for _, pid in _starts(log))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        kill_leftovers([pid for _, pid in _starts(log)], str(tmp_path))


# -- real keras-tuner searches ------------------------------------------------------------------


@pytest.mark.slow
def test_distributed_search_survives_a_killed_worker(tmp_path):
    run = Run(tmp_path, "run")
    try:
        # Kill a worker in the middle of its first trial (its fit is sleeping).
        victim_units, victim_pid = wait_for(
            lambda: next(iter(run.marks_of("start")), None), 180, "a trial to start", run
        )
        assert victim_pid in run.pids().values()
        os.kill(victim_pid, signal.SIGKILL)
        status = run.wait(timeout=240)
        out = run.out.read_text(errors="replace")
        assert status == 0, out[-3000:]
        assert re.search(r"tuner\d exited with status 137; restart 1/3", out), out

        states = trial_states(run.marks / "project" / "kfx")
        assert len(states) == TRIALS
        assert all(status == "COMPLETED" for status, _ in states.values()), states
        done = run.marks_of("done")
        started = run.marks_of("start")
        # Every trial completed exactly once; only the killed one was started twice, the
        # second time by the restarted worker under the same tuner id.
        assert sorted(u for u, _ in done) == sorted(u for _, u in states.values())
        assert len(started) == TRIALS + 1
        restarted = [pid for units, pid in started if units == victim_units and pid != victim_pid]
        assert len(restarted) == 1 and (victim_units, restarted[0]) in done
        # The chief exits within 30 s of the last trial.
        last_done = max((run.marks / f"done_{u}_{p}").stat().st_mtime for u, p in done)
        assert run.ended_at - last_done < 30
        # The chief's log has one line per trial and the final table.
        chief_log = (tmp_path / "logs" / "chief.log").read_text()
        assert chief_log.count(" completed: val_loss=") == TRIALS
        assert f"{TRIALS} trials, {TRIALS} completed, 0 failed" in chief_log
    finally:
        run.stop()


@pytest.mark.slow
def test_killed_chief_then_rerun_resumes_without_redoing_trials(tmp_path):
    first = Run(tmp_path, "first")
    try:
        wait_for(lambda: len(first.marks_of("done")) >= 2, 180, "two finished trials", first)
        os.kill(first.pids()["chief"], signal.SIGKILL)
        status = first.wait(timeout=60)
        assert status == 128 + signal.SIGKILL
        assert not any(alive(pid) for pid in first.all_pids())  # the workers were stopped
    finally:
        first.stop()
    project = tmp_path / "marks" / "project" / "kfx"
    completed_before = {u for s, u in trial_states(project).values() if s == "COMPLETED"}
    assert completed_before

    second = Run(tmp_path, "second")
    try:
        status = second.wait(timeout=240)
        assert status == 0, second.out.read_text(errors="replace")[-3000:]
    finally:
        second.stop()
    states = trial_states(project)
    assert len(states) == TRIALS
    assert all(status == "COMPLETED" for status, _ in states.values()), states
    done = [units for units, _ in second.marks_of("done")]
    for units in completed_before:
        assert done.count(units) == 1, f"trial with units={units} ran again after the resume"
    assert "Reloading Tuner" in (tmp_path / "logs" / "chief.log").read_text()


def test_launcher_threads_are_not_left_behind(tmp_path):
    before = threading.active_count()
    command, env, _ = _fake(tmp_path, CHIEF_SECONDS=0.5)
    launcher.launch(command, workers=1, log_dir=tmp_path, env=env, stop_grace=0.2, quiet=True)
    assert threading.active_count() == before


@pytest.mark.slow
def test_srun_three_tasks_run_a_chief_and_two_workers(slurm, tmp_path):
    """``srun -n 3 kfx tune -- python search.py``: SLURM task 0 serves the oracle, tasks 1
    and 2 run the trials; a 6-trial search completes with each trial run once."""
    env = {**slurm.env, "TRIAL_SLEEP": "0.2", "KERAS_BACKEND": "tensorflow"}
    kfx = str(Path(sys.executable).with_name("kfx"))  # the docs' command: kfx tune
    run = Run(
        tmp_path,
        "srun",
        prefix=("srun", "-n", "3"),
        workers=(),
        env=env,
        launcher_command=(kfx, "tune"),
    )
    try:
        status = run.wait(timeout=300)
        out = run.out.read_text(errors="replace")
        assert status == 0, out[-3000:]
        states = trial_states(run.marks / "project" / "kfx")
        assert len(states) == TRIALS
        assert all(state == "COMPLETED" for state, _ in states.values()), states
        done, started = run.marks_of("done"), run.marks_of("start")
        assert len(started) == len(done) == TRIALS  # each trial once
        assert sorted(u for u, _ in done) == sorted(u for _, u in states.values())
        assert len({pid for _, pid in done}) == 2  # two worker tasks shared the trials
        assert sorted(p.name for p in (tmp_path / "logs").glob("*.log")) == [
            "chief.log",
            "tuner0.log",
            "tuner1.log",
        ]
        for task in (0, 1, 2):
            assert f"kfx tune [SLURM task {task}]" in out
    finally:
        run.stop()


PRUNING_SCRIPT = textwrap.dedent(
    """
    import sys
    import keras
    from kfx import datasets
    from kfx.tuning import MedianPruner, search

    def build(hp):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([
            keras.Input((64,)),
            keras.layers.Dense(hp.Int("units", 8, 64, step=8), activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ])
        model.compile(keras.optimizers.Adam(hp.Choice("lr", [1e-7, 1e-2])),
                      "sparse_categorical_crossentropy", run_eagerly=True)
        return model

    (x, y), (xv, yv) = datasets.digits()
    search(build, x.reshape(len(x), -1)[:400], y[:400],
           validation_data=(xv.reshape(len(xv), -1)[:200], yv[:200]),
           max_trials=8, epochs=4, batch_size=100, directory=sys.argv[1], seed=3,
           pruner=MedianPruner(warmup_epochs=1, min_trials=2))
    """
)


@pytest.mark.slow
def test_distributed_search_prunes_on_the_chief(tmp_path):
    """``kfx tune --workers 2`` of a search with a pruner: the chief decides on the epochs
    the workers report; pruned trials stop after epoch 2 and are reported as pruned."""
    script = tmp_path / "prune.py"
    script.write_text(PRUNING_SCRIPT)
    out = tmp_path / "run.out"
    command = [sys.executable, "-m", "kfx.tuning.launcher", "--workers", "2", "--log-dir"]
    command += [str(tmp_path / "logs"), "--timeout", "240", "--", sys.executable, str(script)]
    with open(out, "wb") as sink:
        proc = subprocess.Popen(
            [*command, str(tmp_path / "project")], stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        assert proc.wait(timeout=280) == 0, out.read_text(errors="replace")[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        text = out.read_text(errors="replace")
        kill_leftovers([int(m[1]) for m in re.finditer(r" pid (\d+)", text)], str(tmp_path))
    trials = [
        json.loads(p.read_text()) for p in (tmp_path / "project" / "kfx").glob("trial_*/trial.json")
    ]
    assert len(trials) == 8
    pruned = [t for t in trials if t["status"] == "STOPPED"]
    assert pruned and {t["status"] for t in trials} == {"STOPPED", "COMPLETED"}
    # Two workers run trials at once, so a trial may reach epoch 2 before two others have
    # completed (min_trials): it is then pruned at a later epoch, never at the last one.
    for t in pruned:
        steps = [o["step"] for o in t["metrics"]["metrics"]["val_loss"]["observations"]]
        assert steps == list(range(len(steps))) and 2 <= len(steps) < 4, steps
        assert t["best_step"] == steps[-1]
    chief_log = (tmp_path / "logs" / "chief.log").read_text()
    assert len(re.findall(r" pruned after epoch [23]: val_loss=", chief_log)) == len(pruned)
    assert f"8 trials, {8 - len(pruned)} completed, {len(pruned)} pruned, 0 failed" in chief_log
    workers = "".join(p.read_text() for p in (tmp_path / "logs").glob("tuner*.log"))
    assert len(re.findall(r" pruned after epoch [23] in ", workers)) == len(pruned)
