"""GPUs for local workers: which are visible, and one slice of them per worker.

``kfx tune --workers N --gpus-per-worker G`` runs one trial per GPU slice: worker ``i`` sees
GPUs ``i*G`` to ``i*G + G - 1`` of the visible ones through ``CUDA_VISIBLE_DEVICES``, and the
chief (which only serves the oracle) sees none, so TensorFlow does not take a GPU's memory
for it. The visible GPUs are, in this order: ``KFX_GPU_COUNT`` (a count, for containers
whose GPUs ``nvidia-smi`` cannot list, and for tests), the entries of
``CUDA_VISIBLE_DEVICES`` when it is set, else the lines of ``nvidia-smi -L``. Standard library
only: the launchers use it without importing Keras.

Example:
    >>> from kfx._gpus import gpu_slices
    >>> gpu_slices(2, 2, {"KFX_GPU_COUNT": "4"})
    ['0,1', '2,3']
    >>> gpu_slices(3, 1, {"CUDA_VISIBLE_DEVICES": "4,6,7"})
    ['4', '6', '7']
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping

from kfx._validation import check_int, fail

#: Environment variable that sets the number of visible GPUs (see the module doc).
GPU_COUNT = "KFX_GPU_COUNT"


def visible_gpus(env: Mapping[str, str]) -> list[str]:
    """The ids of the GPUs this process may hand out (see the module doc for the order)."""
    if env.get(GPU_COUNT):
        count = env[GPU_COUNT]
        if not count.isdigit():
            fail(
                "visible_gpus",
                GPU_COUNT,
                count,
                "a count of GPUs (0, 1, 2, ...)",
                kind="environment variable",
            )
        return [str(i) for i in range(int(count))]
    if "CUDA_VISIBLE_DEVICES" in env:
        ids = [d.strip() for d in env["CUDA_VISIBLE_DEVICES"].split(",") if d.strip()]
        return [] if ids[:1] == ["-1"] else ids
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        done = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    lines = [line for line in done.stdout.splitlines() if line.startswith("GPU ")]
    return [str(i) for i in range(len(lines))] if done.returncode == 0 else []


def gpu_slices(workers: int, per_worker: int, env: Mapping[str, str]) -> list[str]:
    """One ``CUDA_VISIBLE_DEVICES`` value per worker, `per_worker` GPUs each.

    Raises:
        ValueError: ``workers * per_worker`` is more than the visible GPUs (the message
            says how many are visible and where the count came from).
    """
    check_int("kfx tune", "gpus_per_worker", per_worker, minimum=1)
    gpus = visible_gpus(env)
    if workers * per_worker > len(gpus):
        source = (
            GPU_COUNT
            if env.get(GPU_COUNT)
            else ("CUDA_VISIBLE_DEVICES" if "CUDA_VISIBLE_DEVICES" in env else "nvidia-smi -L")
        )
        fail(
            "kfx tune",
            "gpus_per_worker",
            per_worker,
            f"at most {len(gpus) // workers} GPUs for each of {workers} workers: {len(gpus)} "
            f"visible (from {source}); lower --workers or --gpus-per-worker",
        )
    return [",".join(gpus[i * per_worker : (i + 1) * per_worker]) for i in range(workers)]


__all__ = ["GPU_COUNT", "gpu_slices", "visible_gpus"]
