"""Heartbeats of ``kfx tune``'s workers: a file the worker touches, the launcher watches.

The launcher gives each worker a file in its log folder (``tuner0.heartbeat``) through
``KFX_HEARTBEAT_FILE`` and how often to touch it through ``KFX_HEARTBEAT_INTERVAL``. While
a kfx tuner's ``search()`` runs in a worker, :func:`beating` touches the file from a
background thread; the file is removed when the search returns. The thread beats whatever
the training does, so a long epoch is never taken for a hang; what stops it is the whole
process stopping (SIGSTOP, a debugger, a deadlock that holds the interpreter, a machine
that swaps to a halt). The launcher's :class:`Monitor` notes when the file's modification
time last changed, on its own clock (so clocks of a shared file system do not matter), and
calls the worker hung once it has not changed for the timeout. A worker that has no file
(not started beating yet, or a plain keras-tuner script) is never called hung.

Standard library only: the launcher never loads Keras.

Example:
    >>> import os, tempfile, time
    >>> from kfx.tuning import _heartbeat
    >>> path = os.path.join(tempfile.mkdtemp(), "tuner0.heartbeat")
    >>> monitor = _heartbeat.Monitor(path, timeout=0.2)
    >>> env = {_heartbeat.FILE_VAR: path, _heartbeat.INTERVAL_VAR: "0.05"}
    >>> with _heartbeat.beating(env):
    ...     time.sleep(0.3)
    ...     monitor.hung()
    False
    >>> os.path.exists(path), monitor.hung()  # no file: not beating, never hung
    (False, False)
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

FILE_VAR = "KFX_HEARTBEAT_FILE"
INTERVAL_VAR = "KFX_HEARTBEAT_INTERVAL"
#: Seconds without a heartbeat after which ``kfx tune`` kills a worker (``--heartbeat-timeout``).
DEFAULT_TIMEOUT = 300.0
#: The longest time between two beats; shorter for short timeouts (see :func:`interval`).
MAX_INTERVAL = 5.0


def interval(timeout: float) -> float:
    """Seconds between two beats for `timeout`: at least four beats a timeout, at most 5 s apart."""
    return min(MAX_INTERVAL, timeout / 4)


def worker_env(path: str | os.PathLike, timeout: float) -> dict[str, str]:
    """The variables that make a worker beat to `path` often enough for `timeout`."""
    return {FILE_VAR: str(path), INTERVAL_VAR: f"{interval(timeout):g}"}


def touch(path: str | os.PathLike) -> None:
    """One beat: create `path` or set its modification time to now."""
    with open(path, "a"):
        pass
    os.utime(path, None)


@contextlib.contextmanager
def beating(environ: Mapping[str, str] | None = None) -> Iterator[None]:
    """Touch ``KFX_HEARTBEAT_FILE`` every ``KFX_HEARTBEAT_INTERVAL`` seconds inside the block.

    Does nothing when the variable is not set (a process not started by ``kfx tune``).
    The file is removed on the way out, so the launcher stops watching it.
    """
    env = os.environ if environ is None else environ
    path = env.get(FILE_VAR)
    if not path:
        yield
        return
    every = float(env.get(INTERVAL_VAR) or MAX_INTERVAL)
    done = threading.Event()

    def beat():
        while True:
            with contextlib.suppress(OSError):  # a full disk must not end the search
                touch(path)
            if done.wait(every):
                return

    thread = threading.Thread(target=beat, name="kfx-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        Path(path).unlink(missing_ok=True)


class Monitor:
    """The launcher's watch over one worker's heartbeat file.

    Args:
        path: the file the worker touches.
        timeout: seconds without a change after which the worker is hung.
    """

    def __init__(self, path: str | os.PathLike, timeout: float):
        self.path = Path(path)
        self.timeout = float(timeout)
        self._seen: int | None = None
        self._changed_at = 0.0

    def reset(self) -> None:
        """Before a (re)start: forget the last process' beats and remove its file."""
        self.path.unlink(missing_ok=True)
        self._seen = None

    def silent_for(self) -> float | None:
        """Seconds since the file last changed, or None while there is no file."""
        try:
            mtime = self.path.stat().st_mtime_ns
        except OSError:
            self._seen = None
            return None
        now = time.monotonic()
        if mtime != self._seen:
            self._seen, self._changed_at = mtime, now
        return now - self._changed_at

    def hung(self) -> bool:
        """Whether the worker has beaten before and then not for `timeout` seconds."""
        silent = self.silent_for()
        return silent is not None and silent > self.timeout
