"""``kfx migrate model.h5 --fix`` on real Keras 2 files, written by tf-keras in a subprocess.

tests/migrate/_keras2_models.py builds the Keras 2 models (with stand-ins registered as
``Addons>...`` carrying TensorFlow Addons' config keys and weights) and saves their outputs
on fixed inputs; the converted ``.keras`` files must give the same outputs (atol 1e-5),
here and after a reload under ``safe_mode=True`` in a fresh process.
"""

from __future__ import annotations

import base64
import importlib.util
import marshal
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kfx.migrate import check, fix
from kfx.migrate._keras2_lambda import known_pattern

HELPER = Path(__file__).with_name("_keras2_models.py")
CONVERTED = [
    "cnn",
    "multi_io",
    "siamese",
    "siamese_sequential",
    "lambda_l2",
    "addons",
    "tf_ops",
]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


@pytest.fixture(scope="module")
def keras2(tmp_path_factory) -> Path:
    if importlib.util.find_spec("tf_keras") is None:
        pytest.skip("tf-keras (Keras 2) is not installed: run `python tools/install_tf_keras.py`")
    out = tmp_path_factory.mktemp("keras2")
    subprocess.run(
        [sys.executable, str(HELPER), str(out)],
        check=True,
        timeout=600,
        env=ENV,
        capture_output=True,
    )
    return out


@pytest.fixture
def files(keras2, tmp_path) -> Path:
    """A fresh copy of the Keras 2 files, so that each test sees no earlier .keras."""
    shutil.copytree(keras2, tmp_path, dirs_exist_ok=True)
    return tmp_path


def _outputs_match(model_path: Path, io_path: Path) -> None:
    import keras

    model = keras.saving.load_model(model_path, safe_mode=True)
    arrays = np.load(io_path)
    inputs = [arrays[k] for k in sorted(arrays) if k.startswith("x")]
    outputs = model(inputs if len(inputs) > 1 else inputs[0], training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    expected = [arrays[k] for k in sorted(arrays) if k.startswith("y")]
    assert len(outputs) == len(expected)
    for got, want in zip(outputs, expected, strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(got), want, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", CONVERTED)
def test_fix_writes_a_keras_file_with_the_keras2_outputs(files, name):
    source = files / f"{name}.h5"
    before = source.read_bytes()
    findings = fix([source])
    assert findings and all(f.fixed for f in findings), [f.text() for f in findings]
    assert findings[0].rule == "K3601"
    assert source.read_bytes() == before
    assert not [p.name for p in files.iterdir() if p.name.startswith(".kfx-")]
    _outputs_match(files / f"{name}.keras", files / f"{name}.npz")


def test_check_and_diff_report_and_write_nothing(files):
    from kfx.migrate import diff

    findings = check([files / "siamese.h5"])
    assert [(f.rule, f.fixable, f.fixed) for f in findings] == [
        ("K3601", True, False),
        ("K3602", True, False),
    ]
    assert "`enc_l2`" in findings[1].message and "L2Normalize(axis=-1" in findings[1].message
    assert diff([files / "siamese.h5"]) == ""
    assert not (files / "siamese.keras").exists()


def test_an_unknown_lambda_blocks_the_model(files):
    findings = fix([files / "lambda_other.h5"])
    assert [(f.rule, f.fixable, f.fixed) for f in findings] == [("K3603", False, False)]
    assert "`affine` (Lambda)" in findings[0].message
    assert not (files / "lambda_other.keras").exists()


def test_tf_functions_become_keras_ops_and_unknown_ones_block(files):
    findings = fix([files / "tf_ops.h5"])
    notes = [f.message for f in findings if f.rule != "K3601"]
    assert len(notes) == 14 and all("becomes its keras.ops call" in n for n in notes), notes
    assert any("`tf.__operators__.getitem`" in n for n in notes)
    blocked = fix([files / "tf_op_unknown.h5"])
    assert [(f.rule, f.fixable) for f in blocked] == [("K3603", False)]
    assert "`tf.math.cumsum`" in blocked[0].message
    assert not (files / "tf_op_unknown.keras").exists()


def test_convert_h5_returns_the_written_path_or_raises_naming_the_blocker(files):
    from kfx.migrate import convert_h5

    target = files / "elsewhere" / "cnn3.keras"
    target.parent.mkdir()
    assert convert_h5(files / "cnn.h5", target) == target
    _outputs_match(target, files / "cnn.npz")
    with pytest.raises(ValueError, match=r"lambda_other\.h5: .*`affine` \(Lambda\)"):
        convert_h5(files / "lambda_other.h5")
    assert not (files / "lambda_other.keras").exists()


def test_addons_layers_become_kfx_and_keras_layers(files):
    findings = check([files / "addons.h5"])
    became = {f.message.split("`")[1]: f.message for f in findings if f.rule == "K3602"}
    assert set(became) == {"wn", "wn_plain", "gn", "inorm", "maxout", "sd"}
    assert "kfx.layers.WeightNormalization" in became["wn"]
    assert "keras.layers.GroupNormalization" in became["inorm"]
    assert "StochasticDepth(0.2)" in became["sd"]
    assert all(f.fix for f in findings if f.rule == "K3602" and "Addons" in f.message)


def test_a_nested_model_called_twice_keeps_its_node_indices(files):
    """The outer config calls the encoder as nodes 1 and 2 (Keras 2 counts its own node 0)
    and uses node 2 (the first call, on `right`) first: a shift swaps the two branches."""
    import keras

    fix([files / "siamese_sequential.h5"])
    model = keras.saving.load_model(files / "siamese_sequential.keras", safe_mode=True)
    encoder = model.get_layer("seq_encoder")
    assert isinstance(encoder, keras.Sequential)
    _outputs_match(files / "siamese_sequential.keras", files / "siamese_sequential.npz")


def test_files_that_are_not_models_get_a_finding_and_the_run_goes_on(files):
    (files / "garbage.h5").write_bytes(b"not hdf5 at all")
    findings = fix([files / "weights_only.h5", files / "garbage.h5", files / "cnn.h5"])
    by_path = {Path(f.path).name: f for f in findings}
    assert by_path["weights_only.h5"].rule == "K3000"
    assert "weights-only" in by_path["weights_only.h5"].message
    assert by_path["garbage.h5"].rule == "K3000"
    assert "HDF5" in by_path["garbage.h5"].message
    assert (files / "cnn.keras").exists()


def test_a_savedmodel_folder_gets_the_export_recipe(files):
    (finding,) = fix([files / "saved_model_dir"])
    assert finding.rule == "K3604" and not finding.fixable
    assert "TFSMLayer" in finding.fix and "model.export" in finding.fix


@pytest.mark.slow
def test_the_command_fixes_and_exits_zero(files):
    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "kfx.migrate", *args],
            capture_output=True,
            text=True,
            timeout=300,
            env=ENV,
        )

    diffed = run(str(files / "lambda_l2.h5"), "--diff")
    assert diffed.returncode == 1 and "K3601" in diffed.stdout
    assert not (files / "lambda_l2.keras").exists()
    fixed = run(str(files / "lambda_l2.h5"), "--fix")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert (files / "lambda_l2.keras").exists()
    blocked = run(str(files / "lambda_other.h5"), "--fix")
    assert blocked.returncode == 1 and "K3603" in blocked.stdout


@pytest.mark.slow
def test_converted_files_reload_in_a_fresh_process_with_safe_mode(files):
    fix([files / f"{name}.h5" for name in CONVERTED])
    code = (
        "import sys, numpy as np, keras, kfx\n"
        "from pathlib import Path\n"
        "for name in sys.argv[2:]:\n"
        "    folder = Path(sys.argv[1])\n"
        "    model = keras.saving.load_model(folder / f'{name}.keras', safe_mode=True)\n"
        "    arrays = np.load(folder / f'{name}.npz')\n"
        "    xs = [arrays[k] for k in sorted(arrays) if k.startswith('x')]\n"
        "    ys = model(xs if len(xs) > 1 else xs[0], training=False)\n"
        "    ys = ys if isinstance(ys, (list, tuple)) else [ys]\n"
        "    for i, y in enumerate(ys):\n"
        "        np.testing.assert_allclose(keras.ops.convert_to_numpy(y), arrays[f'y{i}'],"
        " atol=1e-5, rtol=0)\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(files), *CONVERTED],
        capture_output=True,
        text=True,
        timeout=300,
        env=ENV,
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]


def _stored(function) -> dict:
    text = base64.encodebytes(marshal.dumps(function.__code__)).decode("ascii")
    return {"function": [text, None, None], "function_type": "lambda", "arguments": {}}


tf = K = None  # names the lambdas below refer to; they are read, never called


@pytest.mark.parametrize(
    "function, arguments",
    [
        (lambda x: tf.math.l2_normalize(x, axis=1), {"axis": 1, "epsilon": 1e-12}),
        (lambda x: tf.nn.l2_normalize(x, -1, 1e-6), {"axis": -1, "epsilon": 1e-6}),
        (lambda t: K.l2_normalize(t, axis=2), {"axis": 2, "epsilon": 1e-12}),
    ],
)
def test_known_lambda_patterns(function, arguments):
    assert known_pattern(_stored(function)).arguments == arguments


@pytest.mark.parametrize(
    "function",
    [
        lambda x: tf.math.l2_normalize(-x, axis=1),  # another operation first
        lambda x: tf.math.l2_normalize(x),  # axis=None: the whole tensor
        lambda x: tf.math.l2_normalize(x * 2, axis=1),
        lambda x: np.linalg.norm(x, axis=1),  # another function
        lambda x: tf.math.l2_normalize(x, axis=1) + 1,
    ],
)
def test_other_lambdas_are_not_patterns(function):
    assert known_pattern(_stored(function)) is None


def test_a_lambda_with_a_closure_or_arguments_is_not_a_pattern():
    axis = 1
    stored = _stored(lambda x: tf.math.l2_normalize(x, axis=axis))
    assert known_pattern(stored) is None
    plain = _stored(lambda x: tf.math.l2_normalize(x, axis=1))
    assert known_pattern({**plain, "arguments": {"axis": 2}}) is None
    assert known_pattern({**plain, "function": ["not base64 code", None, None]}) is None
