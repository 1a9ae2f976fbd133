"""What every benchmark shares: timing statistics, child processes and the JSON result file."""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
#: Start of the line in which a child process reports its measurement.
RESULT_PREFIX = "RESULT "


def print_result(result: dict) -> None:
    """Report `result` from a child process (read back by :func:`read_result`)."""
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def read_result(text: str) -> dict | None:
    """The last result a child reported in `text` (its output or log), or None."""
    lines = [line for line in text.splitlines() if line.startswith(RESULT_PREFIX)]
    return json.loads(lines[-1][len(RESULT_PREFIX) :]) if lines else None


def run_child(script: str | Path, args: list[str], *, timeout: float, env=None) -> dict:
    """Run `script` with `args` in a fresh interpreter (`env` added to this one's); its result."""
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=None if env is None else {**os.environ, **env},
    )
    result = read_result(proc.stdout)
    if proc.returncode or result is None:
        raise RuntimeError(
            f"{Path(script).name} {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n"
            f"{proc.stderr[-4000:]}"
        )
    return result


def environment() -> dict:
    import keras

    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "machine": platform.machine(),
        "processor": platform.processor(),
    }


def median(values) -> float:
    return float(statistics.median(values))


def write_result(name: str, result: dict) -> Path:
    """Write ``benchmarks/results/<name>.json`` atomically (temp file, then rename)."""
    from kfx import _io

    path = RESULTS / f"{name}.json"
    _io.write_text(path, json.dumps({**environment(), **result}, indent=2) + "\n")
    print(f"wrote {path}")
    return path
