"""Install tf-keras (Keras 2) beside the venv's TensorFlow, for the `kfx migrate` tests.

The tests write real Keras 2 files with it (kfx itself never imports it). tf-keras requires
``tensorflow`` by name, so ``pip install tf-keras`` next to ``tensorflow-cpu`` would install
a second TensorFlow over the first; this installs the tf-keras release of the same minor
version without its dependencies instead. Without TensorFlow it does nothing (the tests
that need tf-keras then skip with the reason).

Usage:
    python tools/install_tf_keras.py
"""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata


def tensorflow_version() -> str | None:
    for name in ("tensorflow-cpu", "tensorflow"):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def main() -> int:
    version = tensorflow_version()
    if version is None:
        print("note: no TensorFlow here, so no tf-keras; the Keras 2 file tests will skip")
        return 0
    minor = ".".join(version.split(".")[:2])
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        f"tf-keras=={minor}.*",
    ]
    return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main())
