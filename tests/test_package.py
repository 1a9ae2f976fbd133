"""Package-wide rules: public APIs only, lazy import, no global state changes."""

import ast
import importlib.util
import pathlib
import subprocess
import sys

import kfx

PACKAGE = pathlib.Path(kfx.__file__).parent
FORBIDDEN = ("keras.src", "tensorflow.python", "tf_keras")
#: tensorboard's public entry points; any other module under ``tensorboard.`` is internal.
TENSORBOARD_PUBLIC = {
    "tensorboard",
    "tensorboard.summary",
    "tensorboard.summary.v1",
    "tensorboard.summary.v2",
    "tensorboard.program",
    "tensorboard.notebook",
    "tensorboard.plugins.hparams.api",
    "tensorboard.data.experimental",
}
#: The one module that may import tensorboard internals (isolated and feature-detected).
TENSORBOARD_INTERNALS = "kfx/_tensorboard.py"
#: The one kfx module that imports a TensorFlow internal, for the one object with no public
#: handle: the eager context whose kernel cache Keras' clear_session() empties. It is
#: feature-detected there and pinned by tests/tuning/test_kernel_cache.py.
TENSORFLOW_INTERNALS = {("kfx/tuning/_kernel_cache.py", "tensorflow.python.eager")}
#: Private modules shared across kfx packages on purpose: the blocks' building kit (names,
#: rank dispatch, norm and activation layers), which the network builders (kfx.models), the
#: hypermodels and the templates (layer names) build with too.
SHARED_PRIVATE = {"kfx.blocks._primitives"}


def _dynamic_imports(tree: ast.AST):
    """The constant module names passed to ``importlib.import_module`` and ``__import__``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(
            node.func, "attr", getattr(node.func, "id", "")
        ) in ("import_module", "__import__"):
            yield from (
                arg.value
                for arg in node.args
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            )


def _imported_modules(path: pathlib.Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
    yield from _dynamic_imports(tree)


def test_no_private_or_legacy_imports():
    found = {
        (path.relative_to(PACKAGE.parent).as_posix(), module)
        for path in PACKAGE.rglob("*.py")
        for module in _imported_modules(path)
        if any(module == f or module.startswith(f + ".") for f in FORBIDDEN)
    }
    assert not found - TENSORFLOW_INTERNALS, sorted(found - TENSORFLOW_INTERNALS)
    assert TENSORFLOW_INTERNALS <= found  # not a stale exception


def _from_imports(tree: ast.AST):
    """``(module, name)`` per imported thing: name is None for ``import x`` and import_module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield from ((node.module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from ((alias.name, None) for alias in node.names)


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _tensorboard_internal(module: str, name: str | None) -> bool:
    """Whether importing `name` from `module` (or `module` itself) reaches tensorboard internals."""
    if module != "tensorboard" and not module.startswith("tensorboard."):
        return False
    if name is not None and _is_module(f"{module}.{name}"):
        return f"{module}.{name}" not in TENSORBOARD_PUBLIC  # a submodule
    return module not in TENSORBOARD_PUBLIC


def _tensorboard_offenders(root: pathlib.Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent).as_posix()
        tree = ast.parse(path.read_text(), filename=str(path))
        imported = list(_from_imports(tree))
        imported += [(module, None) for module in _dynamic_imports(tree)]
        found += sorted(
            {
                f"{relative}: {module}" + (f".{name}" if name else "")
                for module, name in imported
                if _tensorboard_internal(module, name) and relative != TENSORBOARD_INTERNALS
            }
        )
    return found


def test_tensorboard_internals_are_imported_by_one_module_only():
    offenders = _tensorboard_offenders(PACKAGE)
    assert not offenders, (
        f"import these through {TENSORBOARD_INTERNALS} (the one module that reaches into "
        f"tensorboard): {offenders}"
    )
    tree = ast.parse((PACKAGE / "_tensorboard.py").read_text())
    assert any(_tensorboard_internal(m, n) for m, n in _from_imports(tree))  # not a stale rule


def test_tensorboard_scanner_allows_the_public_api_and_the_one_module(tmp_path):
    package = tmp_path / "kfx"
    (package / "tuning").mkdir(parents=True)
    (package / "_tensorboard.py").write_text("from tensorboard.compat.proto import event_pb2\n")
    (package / "fine.py").write_text(
        "import tensorboard\nfrom tensorboard.summary import Writer\n"
        "from tensorboard.plugins.hparams import api\nfrom tensorboard import program\n"
    )
    (package / "tuning" / "bad.py").write_text(
        "from tensorboard.plugins.hparams import metadata\n"
        "from tensorboard.summary.writer import record_writer\n"
        "import tensorboard.compat.proto.summary_pb2\nfrom tensorboard import errors\n"
        "importlib.import_module('tensorboard.util.tensor_util')\n"
    )
    assert _tensorboard_offenders(package) == [
        "kfx/tuning/bad.py: tensorboard.compat.proto.summary_pb2",
        "kfx/tuning/bad.py: tensorboard.errors",
        "kfx/tuning/bad.py: tensorboard.plugins.hparams.metadata",
        "kfx/tuning/bad.py: tensorboard.summary.writer.record_writer",
        "kfx/tuning/bad.py: tensorboard.util.tensor_util",
    ]


def _private_owner(dotted: str) -> str | None:
    """The package or module that owns the first private part of `dotted` (None if public)."""
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    return None


def _private_reach(path: pathlib.Path, root: pathlib.Path) -> list[str]:
    """The kfx private names `path` reaches that belong to a package it is not part of."""
    parts = path.relative_to(root.parent).with_suffix("").parts
    package = ".".join(parts[:-1])  # a module belongs to its folder's package
    tree = ast.parse(path.read_text(), filename=str(path))
    reached, bound = set(), {}
    for module, name in _from_imports(tree):
        dotted = module if name is None else f"{module}.{name}"
        if dotted.split(".")[0] == "kfx":
            reached.add(dotted)
            if name is not None:
                bound[name] = dotted
    for node in ast.walk(tree):  # `nodes._graph_calls` after `from kfx import nodes`
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in bound:
                reached.add(f"{bound[node.value.id]}.{node.attr}")
    offenders = []
    for dotted in sorted(reached):
        owner = _private_owner(dotted)
        if owner is not None and package != owner and not package.startswith(owner + "."):
            offenders.append(dotted)
    return offenders


def test_no_module_reaches_another_packages_private_names():
    offenders = {
        f"{path.relative_to(PACKAGE.parent)}: {dotted}"
        for path in PACKAGE.rglob("*.py")
        for dotted in _private_reach(path, PACKAGE)
        if not any(dotted == p or dotted.startswith(p + ".") for p in SHARED_PRIVATE)
    }
    assert not offenders, sorted(offenders)


def test_private_name_scanner(tmp_path):
    package = tmp_path / "kfx"
    (package / "templates").mkdir(parents=True)
    bad = package / "templates" / "bad.py"
    bad.write_text(
        "from kfx import nodes, _io\nfrom kfx.templates._graphs import graph_model\n"
        "from kfx.blocks._primitives import block_name\nfrom kfx.nodes import _node\n"
        "nodes._graph_calls(m)\nnodes.graph_calls(m)\nfrom kfx import __version__\n"
    )
    assert _private_reach(bad, package) == [
        "kfx.blocks._primitives.block_name",
        "kfx.nodes._graph_calls",
        "kfx.nodes._node",
    ]


def test_scanner_catches_forbidden_imports(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from keras.src.layers import Dense\nimport tf_keras\nimportlib.import_module('tensorflow.python.ops')\n"
    )
    assert list(_imported_modules(bad)) == ["keras.src.layers", "tf_keras", "tensorflow.python.ops"]


def test_import_is_lazy_and_changes_no_global_state(fresh_python):
    out = fresh_python(
        """
        import sys, keras
        fmt, policy = keras.config.image_data_format(), keras.config.dtype_policy().name
        import kfx
        print(sorted(m for m in sys.modules if m.startswith("kfx")))
        assert (keras.config.image_data_format(), keras.config.dtype_policy().name) == (fmt, policy)
        kfx.models
        print("kfx.blocks" in sys.modules, "kfx.models" in sys.modules)
        """
    )
    first, second = out.strip().splitlines()[-2:]
    assert "kfx.models" not in first and "kfx.blocks" not in first and "kfx.cli" not in first
    assert second == "True True"


def test_unknown_attribute():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        kfx.nope  # noqa: B018


def _imported(command: list[str], cwd) -> tuple[set[str], str]:
    """The top-level modules that `command` (a Python process) imports, from -X importtime,
    and its output."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *command],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    lines = [line.split("|")[-1] for line in proc.stderr.splitlines() if "import time:" in line]
    return {line.strip().split(".")[0] for line in lines}, proc.stdout


def test_keras_free_commands_start_without_keras_and_scripts_get_the_layers(tmp_path):
    """`kfx migrate`, `python -m kfx.migrate` and a subcommand's `--help` never import Keras
    (seconds with TensorFlow); a script's `import kfx` still registers every kfx layer."""
    (tmp_path / "train.py").write_text("import keras\nopt = keras.optimizers.Adam(lr=0.1)\n")
    command = str(pathlib.Path(sys.executable).parent / "kfx")
    for args in (["-m", "kfx.migrate", "train.py"], [command, "migrate", "train.py"]):
        imported, _ = _imported(args, tmp_path)
        assert "kfx" in imported and "libcst" in imported
        assert not imported & {"keras", "tensorflow", "jax"}, args
    for subcommand in ("tune", "train", "inspect", "demo"):  # their help needs no Keras either
        imported, out = _imported([command, subcommand, "--help"], tmp_path)
        assert f"usage: kfx {subcommand}" in out
        assert not imported & {"keras", "tensorflow", "jax"}, subcommand
    script = "import kfx, keras; print(keras.saving.get_registered_object('kfx>GeMPooling2D'))"
    imported, out = _imported(["-c", script], tmp_path)
    assert {"keras", "kfx"} <= imported
    assert "GeMPooling2D" in out
