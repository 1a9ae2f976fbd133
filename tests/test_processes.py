"""kfx._processes: real child processes (``sys.executable``), each bounded by a timeout.

Every test ends only the processes it started: its children by their Popen, the supervisor
it runs as a process by its PID, and what those started by the PIDs they reported.
"""

from __future__ import annotations

import ast
import os
import re
import select
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from kfx import _processes
from kfx._processes import (
    TIMED_OUT,
    Child,
    check_command,
    child_env,
    exit_status,
    reporter,
    stop,
    stopping_note,
    supervising,
)

PACKAGE = Path(_processes.__file__).parent
SLEEP = [sys.executable, "-c", "import time; time.sleep(120)"]


def _running(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie (its state in /proc)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _kill_if_ours(pid: int, marker: str) -> None:
    """SIGKILL `pid` if it still runs and its command line has `marker`."""
    try:
        if marker in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
            os.kill(pid, signal.SIGKILL)
    except (OSError, ProcessLookupError):
        pass


def _wait_for_line(path: Path, pattern: str, timeout: float = 30) -> re.Match:
    """The first line of the log at `path` that matches `pattern`, once there is one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.search(pattern, path.read_text() if path.exists() else "", re.M)
        if match:
            return match
        time.sleep(0.05)
    pytest.fail(f"no line matching {pattern!r} in {path}")


@pytest.fixture
def children():
    """The Child objects a test starts; whatever still runs at the end is stopped."""
    started: list[Child] = []
    yield started
    stop(started)


def test_free_port_is_bindable_and_listening_tells_a_listener():
    port = _processes.free_port()
    assert _processes.port_is_free("127.0.0.1", port)
    assert not _processes.listening("127.0.0.1", port)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        assert _processes.listening("127.0.0.1", port)
        assert not _processes.port_is_free("127.0.0.1", port)


def test_exit_status_follows_the_shell():
    assert exit_status(0) == 0
    assert exit_status(3) == 3
    assert exit_status(-signal.SIGKILL) == 137


def test_a_child_that_exits_3_gives_status_3(tmp_path, children):
    child = Child("three", tmp_path / "three.log")
    children.append(child)
    with supervising(children, reporter("test", quiet=True), timeout=60) as supervisor:
        child.start([sys.executable, "-c", "print('hello'); raise SystemExit(3)"], "test")
        status = supervisor.run(
            lambda: None if child.alive() else exit_status(child.proc.returncode)
        )
    assert status == 3
    header, *rest = (tmp_path / "three.log").read_text().splitlines()
    assert header.startswith("=== test ") and ": three: " in header
    assert rest == ["hello"]


def test_timeout_stops_a_sleeping_child(tmp_path, children, capsys):
    child = Child("sleeper", tmp_path / "sleeper.log")
    children.append(child)
    started = time.monotonic()
    with supervising(children, reporter("test", quiet=False), timeout=0.5) as supervisor:
        child.start(SLEEP, "test")
        status = supervisor.run(lambda: None)
    assert status == TIMED_OUT == 124
    assert time.monotonic() - started < 30
    assert not child.alive() and exit_status(child.proc.returncode) == 128 + signal.SIGTERM
    assert capsys.readouterr().err == "test: timeout of 0.5 s reached; stopping every process\n"


def test_a_signal_to_the_supervisor_stops_its_children(tmp_path):
    """The supervisor as its own process, loading kfx._processes without Keras."""
    code = textwrap.dedent(
        f"""
        import sys, types
        from pathlib import Path
        package = types.ModuleType("kfx"); package.__path__ = [{str(PACKAGE)!r}]
        sys.modules["kfx"] = package  # kfx/__init__.py (which loads Keras) is left out
        import kfx._processes as p, kfx._subcommands
        child = p.Child("sleeper", Path({str(tmp_path / "sleeper.log")!r}))
        with p.supervising([child], p.reporter("test", False), None) as supervisor:
            child.start({SLEEP!r}, "test")
            print(child.proc.pid, "keras" in sys.modules, flush=True)
            status = supervisor.run(lambda: None)
        print("child returncode", child.proc.returncode, flush=True)
        sys.exit(status)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    child_pid = None
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "the supervisor did not start its child"
        pid, keras_loaded = proc.stdout.readline().split()
        child_pid = int(pid)
        assert keras_loaded == "False"  # the supervisor side is standard library only
        assert _running(child_pid)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 128 + signal.SIGTERM
        assert err == "test: SIGTERM received; stopping every process\n"
        assert out == f"child returncode {-signal.SIGTERM}\n"
        assert not _running(child_pid)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        if child_pid is not None:
            _kill_if_ours(child_pid, "time.sleep(120)")


def test_stop_reaches_the_whole_process_group(tmp_path, children):
    spawner = (
        "import subprocess, sys, time\n"
        f"grandchild = subprocess.Popen({SLEEP!r})\n"
        "print('grandchild', grandchild.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    child = Child("spawner", tmp_path / "spawner.log")
    children.append(child)
    child.start([sys.executable, "-c", spawner], "test")
    grandchild = int(_wait_for_line(child.log, r"^grandchild (\d+)$")[1])
    try:
        stop([child])
        deadline = time.monotonic() + 10  # the grandchild is reaped by init, not by us
        while _running(grandchild) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(grandchild)
    finally:
        _kill_if_ours(grandchild, "time.sleep(120)")


def test_stop_kills_a_child_that_ignores_sigterm(tmp_path, children, monkeypatch):
    monkeypatch.setattr(_processes, "KILL_GRACE", 0.5)
    stubborn = (
        "import os, signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ignoring', os.getpid(), flush=True)\n"
        "time.sleep(120)\n"
    )
    child = Child("stubborn", tmp_path / "stubborn.log")
    children.append(child)
    child.start([sys.executable, "-c", stubborn], "test")
    _wait_for_line(child.log, rf"^ignoring {child.proc.pid}$")
    stop([child])
    assert exit_status(child.proc.returncode) == 128 + signal.SIGKILL


def test_stop_gives_children_their_grace_first(tmp_path, children):
    child = Child("quick", tmp_path / "quick.log")
    children.append(child)
    child.start([sys.executable, "-c", "import time; time.sleep(0.3)"], "test")
    stop([child], grace=30)
    assert child.proc.returncode == 0  # it exited on its own, not by a signal


def test_stopping_note_names_the_running_children(tmp_path, children):
    running, done = Child("a", tmp_path / "a.log"), Child("b", tmp_path / "b.log")
    children += [running, done]
    assert stopping_note(children) == ""  # none started
    running.start(SLEEP, "test")
    done.start([sys.executable, "-c", "pass"], "test")
    done.proc.wait(timeout=30)
    assert stopping_note(children) == "; stopping a"


def test_check_command_and_child_env():
    assert check_command("launch", "cmd", ["python", Path("x.py"), 3]) == ["python", "x.py", "3"]
    with pytest.raises(
        ValueError, match=r"^launch: argument `cmd` got \[\]; expected a command line\.$"
    ):
        check_command("launch", "cmd", [])
    assert child_env({"A": "1"}) == {"A": "1", "PYTHONUNBUFFERED": "1"}
    assert child_env({"PYTHONUNBUFFERED": "0"}) == {"PYTHONUNBUFFERED": "0"}
    assert child_env()["PATH"] == os.environ["PATH"]


def test_reporter_and_show_tail(tmp_path, capsys):
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {i}\n" for i in range(30)))
    say = reporter("test", quiet=False)
    say("to stdout")
    _processes.show_tail(log, say)
    _processes.show_tail(tmp_path / "missing.log", say)  # nothing to show
    reporter("test", quiet=True)("never shown", error=True)
    out, err = capsys.readouterr()
    assert out == "test: to stdout\n"
    assert err.splitlines()[0] == f"test: last lines of {log}:"
    assert err.splitlines()[1:] == [f"    line {i}" for i in range(10, 30)]


def test_caught_signals_records_and_restores():
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers are installed from the main thread only")
    before = signal.getsignal(signal.SIGTERM)
    with _processes.caught_signals() as received:
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.monotonic() + 10
        while not received and time.monotonic() < deadline:
            time.sleep(0.01)
        assert received == [signal.SIGTERM]
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.parametrize("name", ["_processes.py", "_subcommands.py"])
def test_standard_library_only(name):
    tree = ast.parse((PACKAGE / name).read_text())
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    outside = {m for m in imported if m.split(".")[0] not in sys.stdlib_module_names}
    assert outside <= {"__future__", "kfx._validation", "kfx._processes"}, outside
