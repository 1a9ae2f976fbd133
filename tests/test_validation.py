"""kfx._validation: the one error format, checks that return their value, stdlib only."""

import ast
import pathlib
import re
import subprocess
import sys

import pytest

import kfx
from kfx import _validation as v

PACKAGE = pathlib.Path(kfx.__file__).parent


def test_fail_names_where_argument_value_and_accepted():
    with pytest.raises(ValueError) as info:
        v.fail("residual", "kind", "nope", "one of 'basic', 'bottleneck'")
    assert str(info.value) == (
        "residual: argument `kind` got 'nope'; expected one of 'basic', 'bottleneck'."
    )


@pytest.mark.parametrize(
    "check,args,value,returned",
    [
        (v.check_choice, ("a", "b"), "b", "b"),
        (v.check_int, (), -3, -3),
        (v.check_positive_int, (), 4, 4),
        (v.check_positive_float, (), 2, 2.0),
        (v.check_non_negative_float, (), 0, 0.0),
        (v.check_rate, (), 0.5, 0.5),
        (v.check_fraction, (), 1, 1.0),
        (v.check_bool, (), False, False),
    ],
)
def test_checks_return_the_value(check, args, value, returned):
    if args:
        result = check("where", "arg", value, args)
    else:
        result = check("where", "arg", value)
    assert result == returned and type(result) is type(returned)


@pytest.mark.parametrize(
    "check,value,accepted",
    [
        (v.check_int, True, "an int"),
        (v.check_int, 1.0, "an int"),
        (v.check_positive_int, 0, "a positive int"),
        (v.check_positive_int, True, "a positive int"),
        (v.check_positive_float, 0.0, "a float > 0"),
        (v.check_positive_float, "1", "a float > 0"),
        (v.check_non_negative_float, -1e-9, "a float >= 0"),
        (v.check_rate, 1.0, "a float in [0, 1)"),
        (v.check_rate, -0.1, "a float in [0, 1)"),
        (v.check_fraction, 0, "a float in (0, 1]"),
        (v.check_fraction, "half", "a float in (0, 1]"),
        (v.check_bool, 1, "True or False"),
    ],
)
def test_checks_reject_with_the_one_format(check, value, accepted):
    with pytest.raises(ValueError) as info:
        check("Where", "arg", value)
    assert str(info.value) == f"Where: argument `arg` got {value!r}; expected {accepted}."


def test_check_options():
    assert v.check_int("w", "n", 0, minimum=0) == 0
    with pytest.raises(ValueError, match=r"got -1; expected an int >= 0\.$"):
        v.check_int("w", "n", -1, minimum=0)
    with pytest.raises(ValueError, match=r"expected a float in \(0, 1\)\.$"):
        v.check_fraction("w", "f", 1.0, include_one=False)
    with pytest.raises(ValueError, match=r"expected a number of seconds >= 0\.$"):
        v.check_non_negative_float("w", "t", -2, what="a number of seconds")
    with pytest.raises(ValueError, match=r"expected one of 'x', 'y'\.$"):
        v.check_choice("w", "c", "z", ("x", "y"))
    assert v.check_seed("w", None) is None and v.check_seed("w", 3) == 3
    with pytest.raises(ValueError, match=r"argument `seed` got 1.5; expected None or an int\.$"):
        v.check_seed("w", 1.5)


def test_standard_library_only():
    tree = ast.parse((PACKAGE / "_validation.py").read_text())
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported
    # Loaded on its own (as the launchers' dependencies are), it pulls in no Keras.
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('v', {str(PACKAGE / '_validation.py')!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "print(module.check_positive_int('w', 'a', 2), 'keras' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["2", "False"]


# A hand-written argument error: a string with "argument `" outside _validation.py.
_HAND_WRITTEN = re.compile(r"argument `")


def test_no_hand_written_argument_errors():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "_validation.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise):
                text = ast.unparse(node)
                if _HAND_WRITTEN.search(text):
                    offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert not offenders, offenders
