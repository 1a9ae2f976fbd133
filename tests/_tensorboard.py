"""A real TensorBoard process on 127.0.0.1 for the tests, stopped by its PID.

The `tensorboard_server` fixture of tests/conftest.py starts one per call over a log folder
and stops every one it started after the test, whatever the test did. Tests ask the server
over HTTP (:meth:`Server.get_json`) or open it in a browser (:attr:`Server.url`, see
tests/_browser.py).

Run it by hand: ``python tests/_tensorboard.py LOGDIR`` serves LOGDIR until Ctrl-C.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from kfx._processes import DEFAULT_HOST, free_port

#: Seconds a server gets to answer its first request (it loads TensorFlow-free plugins).
STARTUP_SECONDS = 90
#: Seconds a started server gets to read what a test wrote.
READ_SECONDS = 60
#: Seconds between SIGTERM and SIGKILL when the server is stopped.
STOP_SECONDS = 15
#: Seconds of one HTTP request.
REQUEST_SECONDS = 5


@dataclass
class Server:
    """A started TensorBoard: its process, port and log file."""

    proc: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://{DEFAULT_HOST}:{self.port}"

    def get_json(self, route: str):
        """The JSON answer to ``GET route`` (e.g. ``"/data/runs"``)."""
        with urllib.request.urlopen(self.url + route, timeout=REQUEST_SECONDS) as response:
            return json.loads(response.read())

    def poll_json(self, route: str, done, timeout: float = READ_SECONDS):
        """Ask `route` until ``done(answer)`` holds (the server reads the files in steps),
        and return that answer; fail with the last answer and the server's log if it never does."""
        deadline, answer = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            answer = self.get_json(route)
            if done(answer):
                return answer
            time.sleep(0.5)
        raise AssertionError(f"{route} after {timeout} s: {answer!r:.1000}\n{self.log_tail()}")

    def wait_until_ready(self, timeout: float = STARTUP_SECONDS) -> None:
        """Return once the server lists its runs; fail with the end of its log if it does not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                self.get_json("/data/runs")
                return
            except OSError:
                time.sleep(0.5)
        raise AssertionError(f"TensorBoard did not start within {timeout} s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 2000) -> str:
        return self.log.read_text()[-chars:] if self.log.exists() else "(no log)"

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after :data:`STOP_SECONDS`, to this server's PID only."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_SECONDS)


def start(logdir: str | Path, log: str | Path, cwd: str | Path | None = None) -> Server:
    """Start ``tensorboard --logdir logdir`` on a free port of 127.0.0.1, its output to `log`.

    It rereads the folder every second (``--reload_interval 1``) and uses the Python data
    loader (``--load_fast false``), which needs no extra binary. With `cwd`, it runs there
    and a `logdir` below `cwd` is given relative to it, so the dashboards (and screenshots)
    show ``runs/search`` rather than a temporary folder.
    """
    port = free_port()
    log = Path(log)
    if cwd is not None and Path(logdir).is_relative_to(cwd):
        logdir = Path(logdir).relative_to(cwd)
    with open(log, "w") as out:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "tensorboard.main"),
                *("--logdir", str(logdir), "--host", DEFAULT_HOST, "--port", str(port)),
                *("--load_fast", "false", "--reload_interval", "1"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=out,
            cwd=cwd,
        )
    return Server(proc, port, log)


if __name__ == "__main__":
    server = start(sys.argv[1], Path(sys.argv[1]) / "tensorboard.log")
    try:
        server.wait_until_ready()
        print(f"TensorBoard at {server.url} (Ctrl-C stops it)")
        server.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
