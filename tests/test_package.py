"""Package-wide rules: public APIs only, lazy import, no global state changes."""

import ast
import pathlib

import kfx

PACKAGE = pathlib.Path(kfx.__file__).parent
FORBIDDEN = ("keras.src", "tensorflow.python", "tf_keras")


def _imported_modules(path: pathlib.Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
        elif isinstance(node, ast.Call) and getattr(
            node.func, "attr", getattr(node.func, "id", "")
        ) in (
            "import_module",
            "__import__",
        ):
            yield from (
                arg.value
                for arg in node.args
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            )


def test_no_private_or_legacy_imports():
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}: {module}"
        for path in PACKAGE.rglob("*.py")
        for module in _imported_modules(path)
        if any(module == f or module.startswith(f + ".") for f in FORBIDDEN)
    ]
    assert not offenders, offenders


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
