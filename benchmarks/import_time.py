"""`import kfx` vs `import keras`: the extra start-up cost of kfx (target: at most 50 ms).

Two figures, each the median over fresh interpreters:

- ``extra_ms``: in one interpreter, ``import keras`` and then ``import kfx``; the time of the
  second is exactly what kfx adds on top of Keras (the headline figure);
- ``keras_ms`` / ``kfx_ms``: ``import keras`` and ``import kfx`` each alone, alternating; their
  difference (``difference_ms``) is the same quantity but carries the run-to-run noise of
  a 3-second TensorFlow import (tens of milliseconds either way).

Run: python benchmarks/import_time.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from _common import median, write_result

TARGET_EXTRA_MS = 50.0


def import_seconds(module: str, after: str | None = None) -> float:
    """Seconds of ``import module`` in a fresh interpreter (after ``import after``, untimed)."""
    first = f"import {after}; " if after else ""
    code = f"{first}import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    import_seconds("keras")  # warm the file cache
    times = {"keras": [], "kfx": [], "kfx_after_keras": []}
    start = time.perf_counter()
    for _ in range(args.repeats):
        times["keras"].append(import_seconds("keras"))
        times["kfx"].append(import_seconds("kfx"))
        times["kfx_after_keras"].append(import_seconds("kfx", after="keras"))
    keras_ms, kfx_ms, extra = (1000 * median(times[m]) for m in times)
    print(
        f"import kfx after import keras: {extra:.1f} ms (target <= {TARGET_EXTRA_MS:.0f}); alone: "
        f"import keras {keras_ms:.0f} ms, import kfx {kfx_ms:.0f} ms"
    )
    write_result(
        "import_time",
        {
            "repeats": args.repeats,
            "keras_ms": keras_ms,
            "kfx_ms": kfx_ms,
            "extra_ms": extra,
            "difference_ms": kfx_ms - keras_ms,
            "target_extra_ms": TARGET_EXTRA_MS,
            "meets_target": extra <= TARGET_EXTRA_MS,
            "wall_s": time.perf_counter() - start,
        },
    )


if __name__ == "__main__":
    main()
