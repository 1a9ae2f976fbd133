"""What every benchmark shares: timing statistics and the JSON result file."""

from __future__ import annotations

import datetime
import json
import platform
import statistics
import sys
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


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
