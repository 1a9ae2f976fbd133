"""`import kfx` vs `import keras`: the extra start-up cost of kfx (target: at most 50 ms).

Each import runs in a fresh interpreter, alternating the two, and the median of the repeats
is reported.

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


def import_seconds(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
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
    times = {"keras": [], "kfx": []}
    start = time.perf_counter()
    for _ in range(args.repeats):
        for module in times:
            times[module].append(import_seconds(module))
    keras_ms, kfx_ms = (1000 * median(times[m]) for m in ("keras", "kfx"))
    extra = kfx_ms - keras_ms
    print(
        f"import keras {keras_ms:.0f} ms, import kfx {kfx_ms:.0f} ms: kfx adds {extra:.0f} ms (target <= {TARGET_EXTRA_MS:.0f})"
    )
    write_result(
        "import_time",
        {
            "repeats": args.repeats,
            "keras_ms": keras_ms,
            "kfx_ms": kfx_ms,
            "extra_ms": extra,
            "target_extra_ms": TARGET_EXTRA_MS,
            "meets_target": extra <= TARGET_EXTRA_MS,
            "wall_s": time.perf_counter() - start,
        },
    )


if __name__ == "__main__":
    main()
