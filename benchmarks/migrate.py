"""``kfx migrate``: speed on a generated tree, and the tutorials' programs before and after.

(a) Speed: a generated tree of Keras 2 era scripts (:mod:`_keras2_tree`, 50,000 lines in
    500 files, findings in every Keras file) is checked with ``python -m kfx.migrate TREE``
    and fixed with ``--fix`` on a fresh copy, each in a subprocess, as a user runs it:
    seconds and lines per second, the start-up of the command (``python -m kfx.migrate
    --help``: it imports neither Keras nor TensorFlow) measured apart. The reference in the same run: ``python -m compileall``
    of the tree and a libcst parse of every file (one process each). Target: under 10 s.
(b) Tutorials: every code block of ../shared/seeds/*.md-like files (fenced ```` ``` ````
    / ``~~~`` blocks and ``In [N]:`` notebook cells) that is a *complete program* (see
    :func:`complete`, after :data:`PREAMBLE`'s usual imports) runs on Keras 2 (tf-keras,
    the baseline), on Keras 3 as written and after ``kfx migrate --fix``, through
    :mod:`_tutorial_shim` (generated datasets, one epoch of two batches), each in a
    subprocess with a timeout. Per block: the three statuses, and for a block that still
    fails, the error's last line and why (:func:`_explanation`: the rules left unfixed, or
    the program's own error when Keras 2 fails too, or ``"no rule"``: a missing rule).
    Target: every complete program runs after migration or is explained.

Run: python benchmarks/migrate.py [--quick] [--timeout 60] [--skip speed seeds]
(``--quick``: 5,000 lines in 50 files and the first 3 programs)
"""

from __future__ import annotations

import argparse
import ast
import builtins
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import write_result
from _keras2_tree import write_tree

ROOT = Path(__file__).parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"
SHIM = Path(__file__).parent / "_tutorial_shim.py"
TARGET_S = 10.0
_FENCE = re.compile(r"^\s*(```|~~~)\s*(\w*)\s*$")
_CELL = re.compile(r"^In \[[\d ]*\]:\s*$")
_FRAMEWORKS = {"keras", "tensorflow", "tf_keras"}
_TRAINING = {"fit", "fit_generator", "train_on_batch"}
#: The line of a traceback that names the exception (``ValueError: ...``).
_ERROR = re.compile(r"^[\w.]+(Error|Exception|Exit|Interrupt)\b")


def _fenced(lines: list[str]) -> list[tuple[int, str]]:
    blocks, start, fence = [], None, None
    for number, line in enumerate(lines, start=1):
        match = _FENCE.match(line)
        if match and start is None:
            if match.group(2) in ("", "python", "py", "python3"):
                start, fence = number, match.group(1)
        elif match and line.strip() == fence:
            blocks.append((start + 1, "".join(lines[start : number - 1])))
            start = None
    return blocks


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


def _cells(lines: list[str]) -> list[tuple[int, str]]:
    """``In [N]:`` cells of a notebook dump: the longest run of blank-line separated
    paragraphs after the marker that parses (the cell's output follows it)."""
    blocks = []
    for number, line in enumerate(lines):
        if not _CELL.match(line):
            continue
        end = number + 1
        while end < len(lines) and not (_CELL.match(lines[end]) or _FENCE.match(lines[end])):
            end += 1
        paragraphs, current = [], []
        for text in lines[number + 1 : end]:
            current.append(text)
            if not text.strip():
                paragraphs.append(current)
                current = []
        paragraphs.append(current)
        code = ""
        for paragraph in paragraphs:
            if not _parses(code + "".join(paragraph)):
                break
            code += "".join(paragraph)
        if code.strip():
            blocks.append((number + 2, code))
    return blocks


def extract_blocks(text: str) -> list[tuple[int, str]]:
    """``(first_line, code)`` for each fenced Python block and ``In [N]:`` cell of `text`."""
    lines = text.splitlines(keepends=True)
    return sorted(_fenced(lines) + _cells(lines))


def _free_names(tree: ast.AST) -> set[str]:
    bound, loaded = set(dir(builtins)), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return loaded - bound


#: The imports that the TensorFlow guides' Keras tutorials leave to their setup cell (and
#: some tutorials to the reader): a name read but never bound gets its line prepended.
PREAMBLE = {
    "np": "import numpy as np",
    "tf": "import tensorflow as tf",
    "keras": "from tensorflow import keras",
    "layers": "from tensorflow.keras import layers",
    "TensorShape": "from tensorflow import TensorShape",
}


def with_preamble(code: str) -> str:
    """`code` after the :data:`PREAMBLE` lines of the names it reads but never binds.

    Example:
        >>> print(with_preamble("x = np.ones(2)\n"), end="")
        import numpy as np
        x = np.ones(2)
    """
    try:
        free = _free_names(ast.parse(code))
    except SyntaxError:
        return code
    lines = "".join(PREAMBLE[name] + "\n" for name in PREAMBLE if name in free)
    head = code.splitlines(keepends=True)
    future = [n.end_lineno for n in ast.parse(code).body if _is_future(n)]
    at = max(future, default=0)  # after `from __future__` imports, which must come first
    return "".join(head[:at]) + lines + "".join(head[at:])


def _is_future(node: ast.stmt) -> bool:
    return isinstance(node, ast.ImportFrom) and node.module == "__future__"


def complete(code: str) -> bool:
    """Whether a block is a complete program: it parses, imports Keras or TensorFlow,
    trains a model (calls ``fit``, ``fit_generator`` or ``train_on_batch``), and every
    name it reads is bound in the block itself or a builtin (so it does not depend on an
    earlier block of the tutorial, or on data it never defines). Run it
    :func:`with_preamble` first for the tutorials' usual imports.

    Example:
        >>> complete("import keras\\nm = keras.Sequential()\\nm.fit(x, y)\\n")
        False
        >>> complete("import keras, numpy as np\\nx = np.ones((4, 2))\\n"
        ...          "m = keras.Sequential([keras.layers.Dense(1)])\\nm.fit(x, x)\\n")
        True
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    return bool(imported & _FRAMEWORKS) and _trains(tree) and not _free_names(tree)


def _trains(code: str | ast.AST) -> bool:
    tree = ast.parse(code) if isinstance(code, str) else code
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in _TRAINING
        for node in ast.walk(tree)
    )


def programs(folder: Path = SEEDS) -> list[dict]:
    """The complete programs of the seed files: ``{"name", "source", "line", "code"}``.

    A tutorial's blocks build on each other, as its reader runs them in order: the program
    of a block that trains is that block (or, when it is not complete alone, the block
    after every earlier block of its file that parses) :func:`with_preamble`, and it
    counts when :func:`complete` holds for it.
    """
    found = []
    for path in sorted(folder.iterdir()):
        earlier = ""
        for line, code in extract_blocks(path.read_text(encoding="utf-8", errors="replace")):
            if not _parses(code):
                continue
            earlier += code if code.endswith("\n") else code + "\n"
            if not _trains(code):
                continue
            alone, together = with_preamble(code), with_preamble(earlier)
            program = alone if complete(alone) else together if complete(together) else None
            if program is not None:
                found.append({"name": f"{path.stem}:{line}", "source": path.name, "line": line})
                found[-1]["code"] = program
    return found


def run_program(path: Path, timeout: float, keras2: bool = False) -> dict:
    """Run `path` through the shim (on Keras 2, tf-keras, with `keras2`):
    ``{"status": "ok" | "error" | "timeout", ...}``."""
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, str(SHIM), *(["--keras2"] if keras2 else []), str(path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=path.parent,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "seconds": timeout}
    seconds = time.perf_counter() - started
    if proc.returncode == 0:
        return {"status": "ok", "seconds": seconds}
    lines = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if _ERROR.match(line)] or lines
    error = errors[-1] if errors else f"exit status {proc.returncode}"
    if error.endswith("Graph execution error:"):  # TensorFlow puts the cause last
        error += " " + next((x for x in reversed(lines) if not x.startswith("[[")), "")
    return {"status": "error", "seconds": seconds, "error": error[:300]}


def migrate(paths: list[Path], *extra: str) -> tuple[float, list[dict]]:
    """``python -m kfx.migrate PATHS --format json EXTRA``: seconds and findings."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "kfx.migrate", *map(str, paths), "--format", "json", *extra],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"kfx migrate failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return seconds, json.loads(proc.stdout)


def _explanation(program: dict) -> list[str] | str:
    """Why a migrated program still fails: the rules left unfixed in it, else its own
    error when it fails on Keras 2 as well, else ``"no rule"`` (a rule is missing)."""
    if program["left"]:
        return program["left"]
    if program["keras2"]["status"] != "ok":
        return "fails on Keras 2 too: " + program["keras2"].get("error", "timeout")
    return "no rule"


def seeds(folder: Path, work: Path, timeout: float, limit: int | None) -> dict:
    found = programs(folder)[:limit]
    for number, program in enumerate(found):
        path = work / f"program_{number:02d}.py"
        path.write_text(program["code"])
        program["keras2"] = run_program(path, timeout, keras2=True)
        program["before"] = run_program(path, timeout)
        _, findings = migrate([path], "--fix")
        program["fixed"] = sorted({f["rule"] for f in findings if f["fixed"]})
        program["left"] = sorted({f["rule"] for f in findings if not f["fixed"]})
        program["after"] = run_program(path, timeout)
        if program["after"]["status"] != "ok":
            program["explained_by"] = _explanation(program)
        del program["code"]
        statuses = [program[k]["status"] for k in ("keras2", "before", "after")]
        print(program["name"], "Keras 2 {}, Keras 3 {} -> migrated {}".format(*statuses))
    ok = sum(p["after"]["status"] == "ok" for p in found)
    return {
        "programs": found,
        "complete_programs": len(found),
        "ok_on_keras2": sum(p["keras2"]["status"] == "ok" for p in found),
        "ok_before": sum(p["before"]["status"] == "ok" for p in found),
        "ok_after": ok,
        "unexplained_failures": [p["name"] for p in found if p.get("explained_by") == "no rule"],
        "timeout_s": timeout,
        "meets_target": all(p.get("explained_by", "") != "no rule" for p in found),
    }


def _seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - started


_PARSE = (
    "import sys, pathlib, libcst; "
    "[libcst.parse_module(p.read_bytes()) for p in pathlib.Path(sys.argv[1]).rglob('*.py')]"
)


def speed(work: Path, files: int, lines: int) -> dict:
    tree = work / "tree"
    total = write_tree(tree, files=files, lines=lines)
    shutil.copytree(tree, work / "fixed")
    startup = _seconds([sys.executable, "-m", "kfx.migrate", "--help"])
    check_s, found = migrate([tree])
    fix_s, fixed = migrate([work / "fixed"], "--fix")
    compile_s = _seconds([sys.executable, "-m", "compileall", "-q", "-f", str(tree)])
    parse_s = _seconds([sys.executable, "-c", _PARSE, str(tree)])
    result = {
        "files": files,
        "lines": total,
        "cores": os.cpu_count(),
        "startup_s": startup,
        "check_s": check_s,
        "check_lines_per_s": total / check_s,
        "fix_s": fix_s,
        "fix_lines_per_s": total / fix_s,
        "findings": len(found),
        "fixed": sum(f["fixed"] for f in fixed),
        "compileall_s": compile_s,
        "libcst_parse_s": parse_s,
        "check_over_compileall": check_s / compile_s,
        "check_over_libcst_parse": check_s / parse_s,
        "target_s": TARGET_S,
        "meets_target": max(check_s, fix_s) < TARGET_S,
    }
    print(json.dumps(result, indent=1))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 lines, 3 programs")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per program run")
    parser.add_argument("--seeds", type=Path, default=SEEDS, help="folder of tutorial files")
    parser.add_argument("--skip", nargs="*", default=[], choices=["speed", "seeds"])
    args = parser.parse_args()
    files, lines, limit = (50, 5_000, 3) if args.quick else (500, 50_000, None)
    result = {"settings": {"quick": args.quick, "timeout_s": args.timeout, "skip": args.skip}}
    with tempfile.TemporaryDirectory() as work:
        if "speed" not in args.skip:
            result["speed"] = speed(Path(work), files, lines)
        if "seeds" not in args.skip:
            (Path(work) / "seeds").mkdir()
            result["seeds"] = seeds(args.seeds, Path(work) / "seeds", args.timeout, limit)
    write_result("migrate_quick" if args.quick else "migrate", result)


if __name__ == "__main__":
    main()
