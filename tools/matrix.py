"""The version matrix: one venv per row of constraints/, the suite run in each, TF then JAX.

Each row is a constraints file (``constraints/<row>.txt``) and a Python version. Its venv lives
in ``.matrix/<row>`` and is rebuilt only when the constraints file, pyproject.toml or the
interpreter changed (a stamp file holds their digest), so a second run downloads nothing.
The rows are pinned, so a row's result is reproducible; ``make test`` is today's row.

Standard library only: it runs on any Python 3.10+ (``make test-matrix`` uses .venv's).

Usage:
    python tools/matrix.py                        # every row, TensorFlow then JAX
    python tools/matrix.py oldest --suites tf     # one row, TensorFlow only
    python tools/matrix.py oldest --tf-tests tests/layers tests/templates
    python tools/matrix.py oldest --build-only    # just the venv (for the wheel test)

Example:
    >>> summary("1200 passed, 3 skipped, 1 xfailed in 601.22s (0:10:01)")
    {'passed': 1200, 'skipped': 3, 'xfailed': 1, 'seconds': 601.22}
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MATRIX = ROOT / ".matrix"
CONSTRAINTS = ROOT / "constraints"
#: Row -> Python version; the interpreter is found on PATH or in pyenv.
PYTHONS = {"oldest": "3.10", "newest": "3.13"}
EXTRAS = "tf-cpu,jax,dev,demo"
STAMP = ".kfx-matrix-stamp"
#: The backend-neutral suites, run a second time under JAX (the Makefile passes its own list).
JAX_TESTS = (
    "tests/blocks",
    "tests/models",
    "tests/layers",
    "tests/templates",
    "tests/callbacks",
    "tests/test_nodes.py",
    "tests/test_events.py",
)
WORKERS = "2"
SUMMARY = re.compile(r"\d+ (passed|failed|errors?|skipped).* in [\d.]+s")


def interpreter(version: str) -> str:
    """The path of a Python `version` (``"3.10"``): pyenv's newest patch release, else PATH's.

    A candidate must run: pyenv's shims are on PATH even for versions they do not serve.
    """
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = sorted(
        pyenv.glob(f"{version}.*/bin/python{version}"),
        key=lambda p: [int(x) for x in p.parent.parent.name.split(".") if x.isdigit()],
        reverse=True,
    )
    candidates = [str(c) for c in candidates] + [shutil.which(f"python{version}") or ""]
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "-c", ""], capture_output=True).returncode == 0:
            return candidate
    raise SystemExit(f"matrix: Python {version} not found in {pyenv} or on PATH")


def digest(row: str, python: str) -> str:
    """What the venv of `row` is built from: its constraints, pyproject.toml, the interpreter."""
    h = hashlib.sha256()
    for path in (CONSTRAINTS / f"{row}.txt", ROOT / "pyproject.toml"):
        h.update(path.read_bytes())
    h.update(os.path.realpath(python).encode())
    return h.hexdigest()


def _run(command: list[str], **kwargs) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, **kwargs)


def ensure_venv(row: str) -> Path:
    """``.matrix/<row>``, built (or rebuilt) unless its stamp matches; returns the venv path."""
    python = interpreter(PYTHONS[row])
    venv = MATRIX / row
    stamp = venv / STAMP
    wanted = digest(row, python)
    if stamp.is_file() and stamp.read_text().strip() == wanted:
        print(f"matrix: {row}: reusing {venv.relative_to(ROOT)}", flush=True)
        return venv
    started = time.monotonic()
    shutil.rmtree(venv, ignore_errors=True)
    _run([python, "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    _run([*pip, "--upgrade", "pip"])
    constraints = CONSTRAINTS / f"{row}.txt"
    _run([*pip, "-c", str(constraints), "-e", f".[{EXTRAS}]"], cwd=ROOT)
    _check_pins(venv, constraints)
    _run([str(venv / "bin" / "python"), str(ROOT / "tools" / "install_tf_keras.py")])
    stamp.write_text(wanted + "\n")
    print(f"matrix: {row}: venv built in {time.monotonic() - started:.0f} s", flush=True)
    return venv


def _check_pins(venv: Path, constraints: Path) -> None:
    """Fail when pip installed another version than a pin (a constraint it could not keep)."""
    pins = dict(
        line.split("==", 1)
        for line in (raw.split("#", 1)[0].strip() for raw in constraints.read_text().splitlines())
        if "==" in line
    )
    code = (
        "import json, sys; from importlib import metadata\n"
        "print(json.dumps({n: metadata.version(n) for n in sys.argv[1:]}))"
    )
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code, *pins],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    installed = json.loads(out)
    wrong = {name: (pin, installed[name]) for name, pin in pins.items() if installed[name] != pin}
    if wrong:
        raise SystemExit(f"matrix: {venv.name}: installed versions differ from pins: {wrong}")


def summary(line: str) -> dict:
    """The counts and seconds of pytest's last line (``"12 passed, 1 skipped in 3.4s"``)."""
    counts = {
        word: int(n)
        for n, word in re.findall(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed)", line)
    }
    seconds = re.search(r" in ([\d.]+)s", line)
    return {**counts, "seconds": float(seconds.group(1)) if seconds else None}


def run_suite(venv: Path, backend: str, tests: list[str]) -> dict:
    """Run pytest in `venv` under `backend`; return its counts, time and exit status."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [str(venv / "bin" / "python"), "-m", "pytest", "-n", WORKERS, "--dist", "worksteal"]
    command += ["-q", "-p", "no:cacheprovider", *tests]
    print("+", f"KERAS_BACKEND={backend}", " ".join(command), flush=True)
    started = time.monotonic()
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    last = ""  # pytest's summary line; later output (a child's warning at exit) is skipped
    for line in proc.stdout:
        sys.stdout.write(line)
        if SUMMARY.search(line):
            last = line.strip().strip("= ")
    proc.wait()
    return {
        **summary(last),
        "wall_seconds": round(time.monotonic() - started, 1),
        "returncode": proc.returncode,
    }


def versions(venv: Path) -> dict:
    """The versions a row actually ran: Python and the pinned packages."""
    code = (
        "import json, platform; from importlib import metadata\n"
        "names = ['tensorflow-cpu', 'keras', 'keras-tuner', 'tensorboard', 'numpy', 'jax']\n"
        "print(json.dumps({'python': platform.python_version(),"
        " **{n: metadata.version(n) for n in names}}))"
    )
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rows", nargs="*", default=list(PYTHONS), choices=list(PYTHONS))
    parser.add_argument("--suites", default="tf,jax", help="tf, jax or tf,jax (default)")
    parser.add_argument("--tf-tests", nargs="*", default=[], help="default: the whole suite")
    parser.add_argument("--jax-tests", nargs="*", default=list(JAX_TESTS))
    parser.add_argument("--build-only", action="store_true", help="build the venvs, run nothing")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    suites = [s.strip() for s in args.suites.split(",") if s.strip()]
    results, failed = {}, False
    for row in args.rows:
        venv = ensure_venv(row)
        if args.build_only:
            continue
        results[row] = {"versions": versions(venv)}
        for suite in suites:
            backend, tests = (
                ("tensorflow", args.tf_tests) if suite == "tf" else ("jax", args.jax_tests)
            )
            outcome = run_suite(venv, backend, tests)
            results[row][suite] = outcome
            failed |= outcome["returncode"] != 0
        (MATRIX / f"results-{row}.json").write_text(json.dumps(results[row], indent=2) + "\n")
    for row, result in results.items():
        for suite in suites:
            r = result[suite]
            counts = ", ".join(
                f"{r[k]} {k}" for k in ("passed", "failed", "skipped", "errors", "error") if k in r
            )
            print(f"matrix: {row:7} {suite:3} {counts} in {r['wall_seconds']:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
