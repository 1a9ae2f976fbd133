"""Conformance suite: every class in ``kfx.layers.list_layers()`` passes every check here.

A layer added to the registry is tested at once: it gets the default case below (built with
no arguments on a ``(6, 5)`` input) unless CASES describes how to build it, and the
hypothesis round trip draws from CONFIG_STRATEGIES (or uses the default arguments).

Fresh interpreters are expensive (each imports TensorFlow or JAX), so the suite starts two
in all, shared by the pytest-xdist workers through a lock: one reloads every layer's
``.keras`` file, one (TensorFlow only) trains every layer under MirroredStrategy.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import doctest
import fcntl
import importlib
import inspect
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kfx import layers

BACKEND = keras.backend.backend()
HERE = Path(__file__).resolve()


# -- the cases: how to build and feed each layer ---------------------------------------------


@dataclasses.dataclass(frozen=True)
class Case:
    """One way to build a layer. `shapes`: per-sample input shapes (several: a list input)."""

    make: Callable[[], keras.layers.Layer]
    shapes: tuple[tuple[int, ...], ...] = ((6, 5),)
    suffix: str = ""
    masks: bool = False  # takes a (batch, time) mask on a (batch, time, features) input
    positive: bool = False  # meant for positive inputs (pooling of activations)
    warmup: bool = False  # needs one eager call before compiled use (data-dependent init)

    def id(self, cls) -> str:
        return cls.__name__ + (f"-{self.suffix}" if self.suffix else "")


L = layers
CASES: dict[type, list[Case]] = {
    L.Linear: [Case(lambda: L.Linear(4, activation="relu"), masks=True)],
    L.LoopRNN: [
        Case(lambda: L.LoopRNN(4, return_sequences=True), suffix="sequences", masks=True),
        Case(lambda: L.LoopRNN(3), suffix="last", masks=True),
    ],
    L.StochasticDepth: [Case(lambda: L.StochasticDepth(0.3, seed=1), masks=True)],
    L.SqueezeExcite: [Case(lambda: L.SqueezeExcite(0.5), shapes=((4, 4, 8),))],
    L.LayerScale: [Case(lambda: L.LayerScale(0.1), masks=True)],
    L.GeMPooling2D: [Case(lambda: L.GeMPooling2D(), shapes=((4, 4, 3),), positive=True)],
    L.WeightNormalization: [
        Case(lambda: L.WeightNormalization(keras.layers.Dense(4)), suffix="dense"),
        Case(
            lambda: L.WeightNormalization(
                keras.layers.Conv2D(3, 3, padding="same", activation="relu"), data_init=True
            ),
            shapes=((4, 4, 2),),
            suffix="conv2d-data_init",
            warmup=True,
        ),
    ],
    L.Maxout: [Case(lambda: L.Maxout(5, axis=-1), shapes=((6, 10),), masks=True)],
    L.Sampling: [Case(lambda: L.Sampling(seed=3), shapes=((4,), (4,)))],
    L.L2Normalize: [Case(lambda: L.L2Normalize(), masks=True)],
}


class Make:
    """A layer to construct inside the test (Keras layers draw seeds; strategies must not)."""

    def __init__(self, cls, *args, **kwargs):
        self.cls, self.args, self.kwargs = cls, args, kwargs

    def __call__(self):
        return self.cls(*self.args, **self.kwargs)

    def __repr__(self):
        return f"{self.cls.__name__}(*{self.args}, **{self.kwargs})"


CONFIG_STRATEGIES: dict[type, st.SearchStrategy] = {
    L.Linear: st.fixed_dictionaries(
        {
            "units": st.integers(1, 64),
            "activation": st.sampled_from([None, "relu", "tanh", "gelu", "linear"]),
            "use_bias": st.booleans(),
            "kernel_initializer": st.sampled_from(["glorot_uniform", "he_normal", "zeros"]),
        }
    ),
    L.LoopRNN: st.fixed_dictionaries(
        {
            "units": st.integers(1, 64),
            "return_sequences": st.booleans(),
            "activation": st.sampled_from(["tanh", "relu", "sigmoid"]),
            "use_bias": st.booleans(),
            "recurrent_initializer": st.sampled_from(["orthogonal", "glorot_uniform"]),
        }
    ),
    L.StochasticDepth: st.fixed_dictionaries(
        {
            "rate": st.floats(0, 1, exclude_max=True),
            "seed": st.none() | st.integers(0, 2**31 - 1),
        }
    ),
    L.SqueezeExcite: st.fixed_dictionaries(
        {
            "ratio": st.floats(0, 1, exclude_min=True),
            "data_format": st.sampled_from([None, "channels_last", "channels_first"]),
        }
    ),
    L.LayerScale: st.fixed_dictionaries(
        {"init_value": st.floats(0, 10), "axis": st.integers(-4, 4).filter(bool)}
    ),
    L.GeMPooling2D: st.fixed_dictionaries(
        {
            "p": st.floats(0.1, 16),
            "trainable_p": st.booleans(),
            "epsilon": st.floats(1e-12, 1e-3),
            "data_format": st.sampled_from([None, "channels_last", "channels_first"]),
            "keepdims": st.booleans(),
        }
    ),
    L.WeightNormalization: st.fixed_dictionaries(
        {
            "layer": st.builds(
                Make,
                st.just(keras.layers.Dense),
                st.integers(1, 16),
                activation=st.sampled_from([None, "relu"]),
            )
            | st.builds(Make, st.just(keras.layers.Conv2D), st.integers(1, 8), st.integers(1, 5)),
            "data_init": st.booleans(),
        }
    ),
    L.Maxout: st.fixed_dictionaries(
        {"num_units": st.integers(1, 32), "axis": st.integers(-3, 3).filter(bool)}
    ),
    L.Sampling: st.fixed_dictionaries({"seed": st.none() | st.integers(0, 2**31 - 1)}),
    L.L2Normalize: st.fixed_dictionaries(
        {"axis": st.integers(-3, 3).filter(bool), "epsilon": st.floats(1e-12, 1e-3)}
    ),
}


def cases_of(cls) -> list[Case]:
    return CASES.get(cls) or [Case(cls)]


ALL_CASES = [(cls, case) for cls in layers.list_layers() for case in cases_of(cls)]
CASE_IDS = [case.id(cls) for cls, case in ALL_CASES]
BY_ID = dict(zip(CASE_IDS, ALL_CASES, strict=True))
LAYER_CLASSES = layers.list_layers()
CLASS_IDS = [cls.__name__ for cls in LAYER_CLASSES]


def sample_inputs(case: Case, batch: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    arrays = []
    for shape in case.shapes:
        x = rng.normal(size=(batch, *shape)).astype("float32")
        arrays.append(np.abs(x) + 0.1 if case.positive else x)
    return arrays[0] if len(arrays) == 1 else arrays


def build_model(case: Case, *, mask: bool = False) -> tuple[keras.Model, keras.layers.Layer]:
    """``inputs -> layer`` as a functional model (with a Masking layer in front if `mask`)."""
    inputs = [keras.Input(shape) for shape in case.shapes]
    x = [keras.layers.Masking(0.0)(i) for i in inputs] if mask else inputs
    layer = case.make()
    outputs = layer(x[0] if len(x) == 1 else x)
    return keras.Model(inputs[0] if len(inputs) == 1 else inputs, outputs), layer


def build_trainable_model(case: Case) -> tuple[keras.Model, keras.layers.Layer]:
    """``inputs -> Dense -> layer -> Flatten -> Dense(1)``: trains through the layer."""
    inputs = [keras.Input(shape) for shape in case.shapes]
    x = [keras.layers.Dense(shape[-1])(i) for i, shape in zip(inputs, case.shapes, strict=True)]
    if case.positive:
        x = [keras.layers.Activation("softplus")(t) for t in x]
    layer = case.make()
    y = layer(x[0] if len(x) == 1 else x)
    y = keras.layers.Dense(1)(keras.layers.Flatten()(y))
    return keras.Model(inputs[0] if len(inputs) == 1 else inputs, y), layer


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


@contextlib.contextmanager
def dtype_policy(name: str):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


# -- the registry ------------------------------------------------------------------------------


def test_list_layers_is_complete_and_registered():
    classes = layers.list_layers()
    names = [cls.__name__ for cls in classes]
    expected = {
        "Linear",
        "LoopRNN",
        "StochasticDepth",
        "SqueezeExcite",
        "LayerScale",
        "GeMPooling2D",
        "WeightNormalization",
        "Maxout",
        "Sampling",
        "L2Normalize",
    }
    assert expected <= set(names) and len(names) == len(set(names))
    assert layers.list_layers() is not layers.list_layers()  # callers may mutate their copy
    for cls in classes:
        assert issubclass(cls, keras.layers.Layer)
        assert getattr(layers, cls.__name__) is cls and cls.__name__ in layers.__all__
        assert keras.saving.get_registered_name(cls) == f"kfx>{cls.__name__}"
        assert keras.saving.get_registered_object(f"kfx>{cls.__name__}") is cls
    # One public class per file, the file named after the class.
    modules = [cls.__module__ for cls in classes]
    assert len(set(modules)) == len(modules)


def test_every_layer_has_a_case_and_a_config_strategy():
    """New layers get default cases, but must then be constructible without arguments."""
    for cls in layers.list_layers():
        if cls not in CASES or cls not in CONFIG_STRATEGIES:
            try:
                cls()
            except TypeError as error:
                pytest.fail(
                    f"{cls.__name__} needs arguments: add it to CASES and CONFIG_STRATEGIES "
                    f"in {HERE.name} ({error})"
                )


@pytest.mark.parametrize(
    "module", sorted({cls.__module__ for cls in LAYER_CLASSES} | {"kfx.layers"})
)
def test_docstring_examples_run(module):
    mod = importlib.import_module(module)
    tests = doctest.DocTestFinder().find(mod, mod.__name__, globs={})
    examples = [t for t in tests if t.examples]
    assert examples, f"{module} has no docstring example"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in examples:
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


@pytest.mark.parametrize("cls", LAYER_CLASSES, ids=CLASS_IDS)
def test_docstring_is_google_style_with_example(cls):
    doc = inspect.getdoc(cls)
    assert "Args:" in doc and "Example:" in doc and ">>> " in doc
    for name in inspect.signature(cls.__init__).parameters:
        if name not in ("self", "kwargs"):
            assert f"{name}:" in doc, f"{cls.__name__} docstring lacks argument {name}"


# -- configuration ---------------------------------------------------------------------------


def assert_config_round_trip(layer):
    cls = type(layer)
    config = layer.get_config()
    params = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "kwargs")]
    missing = [p for p in params if p not in config]
    assert not missing, f"{cls.__name__}.get_config() lacks __init__ arguments {missing}"
    json.dumps(config)  # plain JSON, as in a .keras file
    clone = cls.from_config(copy.deepcopy(config))
    assert type(clone) is cls
    assert clone.get_config() == config
    # A serialized copy goes through the registry and comes back equal.
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(revived) is cls and revived.get_config() == config


@pytest.mark.parametrize(("cls", "case"), ALL_CASES, ids=CASE_IDS)
def test_config_round_trip(cls, case):
    layer = case.make()
    assert_config_round_trip(layer)
    # The config of a built layer is the same, and rebuilds a layer with the same weights.
    model, layer = build_model(case)
    config = layer.get_config()
    assert_config_round_trip(layer)
    clone = cls.from_config(copy.deepcopy(config))
    clone_inputs = [keras.Input(s) for s in case.shapes]
    clone(clone_inputs[0] if len(clone_inputs) == 1 else clone_inputs)
    assert [tuple(w.shape) for w in clone.weights] == [tuple(w.shape) for w in layer.weights]


@pytest.mark.parametrize("cls", LAYER_CLASSES, ids=CLASS_IDS)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_config_round_trip_property(cls, data):
    kwargs = data.draw(CONFIG_STRATEGIES.get(cls, st.just({})), label="kwargs")
    assert_config_round_trip(
        cls(**{k: v() if isinstance(v, Make) else v for k, v in kwargs.items()})
    )


# -- dynamic batch, masks ----------------------------------------------------------------------


@pytest.mark.parametrize(("cls", "case"), ALL_CASES, ids=CASE_IDS)
def test_dynamic_batch(cls, case):
    model, _ = build_model(case)
    x5 = sample_inputs(case, 5)
    x1 = [v[:1] for v in x5] if isinstance(x5, list) else x5[:1]
    if case.warmup:
        model(x5)
    eager5 = to_numpy(model(x5, training=False))
    eager1 = to_numpy(model(x1, training=False))
    assert eager5.shape[0] == 5 and eager1.shape[0] == 1
    np.testing.assert_allclose(eager1[0], eager5[0], rtol=1e-5, atol=1e-5)
    # Compiled, with a partial last batch (2 + 2 + 1) and with batch size 1.
    partial = model.predict(x5, batch_size=2, verbose=0)
    np.testing.assert_allclose(partial, eager5, rtol=1e-5, atol=1e-5)
    single = model.predict(x1, batch_size=1, verbose=0)
    np.testing.assert_allclose(single, eager1, rtol=1e-5, atol=1e-5)
    assert np.isfinite(eager5).all()


MASK_CASES = [(cls, case) for cls, case in ALL_CASES if case.masks]


@pytest.mark.parametrize(("cls", "case"), MASK_CASES, ids=[c.id(k) for k, c in MASK_CASES])
def test_masks_are_honoured(cls, case):
    """Masked steps never change the outputs of unmasked steps; sequence outputs keep the mask."""
    layer = case.make()
    x = sample_inputs(case, 3)
    mask = np.ones(x.shape[:2], bool)
    mask[0, -2:] = False
    mask[2, 1] = False
    noisy = x.copy()
    noisy[~mask] = 100.0
    # Layers that only pass the mask on have no `mask` argument; Keras hands it over.
    takes_mask = "mask" in inspect.signature(layer.call).parameters
    kwargs = {"mask": mask} if takes_mask else {}
    y = to_numpy(layer(x, training=False, **kwargs))
    y_noisy = to_numpy(layer(noisy, training=False, **kwargs))
    sequence = y.ndim >= 3 and y.shape[1] == x.shape[1]
    if sequence:
        np.testing.assert_allclose(y[mask], y_noisy[mask], rtol=1e-5, atol=1e-5)
        out_mask = layer.compute_mask(x, mask)
        assert out_mask is not None
        np.testing.assert_array_equal(to_numpy(out_mask), mask)
    else:
        np.testing.assert_allclose(y, y_noisy, rtol=1e-5, atol=1e-5)
    # In a model, the mask made by a Masking layer reaches the layer the same way.
    model, _ = build_model(case, mask=True)
    masked_input = x.copy()
    masked_input[~mask] = 0.0
    expected = to_numpy(layer(masked_input, training=False, **kwargs))
    model.set_weights(layer.get_weights())
    np.testing.assert_allclose(
        to_numpy(model(masked_input, training=False)), expected, rtol=1e-5, atol=1e-5
    )


# -- compiled training, mixed precision ------------------------------------------------------


def _fit_one_epoch(model, case, *, jit_compile, batch=8, steps=2):
    x = sample_inputs(case, batch * steps, seed=1)
    y = np.random.default_rng(2).normal(size=(batch * steps, 1)).astype("float32")
    if case.warmup:
        model(sample_inputs(case, batch, seed=3))
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", jit_compile=jit_compile)
    return model.fit(x, y, batch_size=batch, epochs=1, verbose=0)


@pytest.mark.parametrize(("cls", "case"), ALL_CASES, ids=CASE_IDS)
def test_jit_compiled_training_step(cls, case):
    model, _ = build_trainable_model(case)
    before = [to_numpy(w).copy() for w in model.trainable_weights]
    history = _fit_one_epoch(model, case, jit_compile=True)
    assert np.isfinite(history.history["loss"]).all()
    # Every weight moved: the layer's own, and the Dense in front of it (whose gradient
    # passes through the layer).
    stuck = [
        w.path
        for w, b in zip(model.trainable_weights, before, strict=True)
        if np.allclose(to_numpy(w), b)
    ]
    assert not stuck, f"weights not trained: {stuck}"


@pytest.mark.parametrize(("cls", "case"), ALL_CASES, ids=CASE_IDS)
def test_mixed_bfloat16(cls, case):
    with dtype_policy("mixed_bfloat16"):
        model, layer = build_trainable_model(case)
        assert layer.compute_dtype == "bfloat16"
        assert layer.variable_dtype == "float32"
        float_weights = [w for w in layer.weights if "float" in w.dtype]
        assert all(w.dtype == "float32" for w in float_weights), [
            (w.path, w.dtype) for w in layer.weights
        ]
        x = sample_inputs(case, 4)
        if case.warmup:
            model(x)
        inner = keras.Model(
            model.inputs[0] if len(model.inputs) == 1 else model.inputs, layer.output
        )
        y = inner(x, training=False)
        assert keras.backend.standardize_dtype(y.dtype) == "bfloat16"
        assert np.isfinite(to_numpy(keras.ops.cast(y, "float32"))).all()
        history = _fit_one_epoch(model, case, jit_compile="auto", steps=1)
        assert np.isfinite(history.history["loss"]).all()
        assert all(w.dtype == "float32" for w in float_weights)


# -- reload in a fresh interpreter -----------------------------------------------------------


@contextlib.contextmanager
def _exclusive(path: Path):
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _shared_run(tmp_path_factory, name: str, produce: Callable[[Path], None]) -> Path:
    """Run `produce(folder)` once per test session, whichever xdist worker asks first."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by all workers of this session
    folder = root / f"kfx-layers-{name}"
    with _exclusive(root / f"kfx-layers-{name}.lock"):
        if not (folder / "results.json").exists():
            folder.mkdir(exist_ok=True)
            produce(folder)
    return folder


def _run_python(code: str, *, timeout: float = 300) -> str:
    env = {**os.environ, "KERAS_BACKEND": BACKEND, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=str(HERE.parent),
    )
    assert proc.returncode == 0, f"fresh process failed:\n{proc.stdout}\n{proc.stderr[-4000:]}"
    return proc.stdout


RELOAD_SCRIPT = """
import json, sys, traceback
import numpy as np
import keras

folder = sys.argv[1] if len(sys.argv) > 1 else {folder!r}
ids = {ids!r}
results = {{}}
# Negative control: where kfx cannot be imported, Keras does not know the classes. (Keras
# 3.8, for one, imports the module a saved file names: kfx is blocked, as if not installed.)
sys.modules["kfx"] = None
try:
    keras.saving.load_model(f"{{folder}}/{{ids[0]}}.keras", safe_mode=True)
    results["__without_kfx__"] = "loaded"
except Exception as error:
    results["__without_kfx__"] = f"{{type(error).__name__}}: {{error}}"
del sys.modules["kfx"]

import kfx  # the only import a user needs

for case_id in ids:
    try:
        model = keras.saving.load_model(f"{{folder}}/{{case_id}}.keras", safe_mode=True)
        data = np.load(f"{{folder}}/{{case_id}}-inputs.npz")
        x = [data[k] for k in sorted(data.files)]
        x = x[0] if len(x) == 1 else x
        np.savez(
            f"{{folder}}/{{case_id}}-reloaded.npz",
            predict=model.predict(x, verbose=0),
            eager=keras.ops.convert_to_numpy(model(x, training=False)),
        )
        layer = model.layers[-1]
        results[case_id] = {{
            "error": None,
            "class": type(layer).__module__ + "." + type(layer).__name__,
            "config": layer.get_config(),
            "weights": [[w.name, list(w.shape)] for w in model.weights],
        }}
    except Exception:
        results[case_id] = {{"error": traceback.format_exc()}}
print(json.dumps(sorted(sys.modules.keys() & {{"kfx.blocks", "kfx.models"}})))
with open(f"{{folder}}/results.json", "w") as handle:
    json.dump(results, handle)
"""


def _produce_reloads(folder: Path) -> None:
    meta = {}
    for case_id, (_cls, case) in BY_ID.items():
        model, layer = build_model(case)
        x = sample_inputs(case, 5)
        if case.warmup:
            model(x)
        expected = to_numpy(model(x, training=False))
        arrays = x if isinstance(x, list) else [x]
        np.savez(folder / f"{case_id}-inputs.npz", **{f"x{i}": a for i, a in enumerate(arrays)})
        np.save(folder / f"{case_id}-expected.npy", expected)
        model.save(folder / f"{case_id}.keras")
        meta[case_id] = {
            "config": layer.get_config(),
            "weights": [[w.name, list(w.shape)] for w in model.weights],
        }
        keras.backend.clear_session()
    (folder / "meta.json").write_text(json.dumps(meta))
    out = _run_python(RELOAD_SCRIPT.format(folder=str(folder), ids=list(BY_ID)))
    (folder / "stdout.txt").write_text(out)


@pytest.fixture(scope="session")
def reloads(tmp_path_factory):
    folder = _shared_run(tmp_path_factory, f"reload-{BACKEND}", _produce_reloads)
    results = json.loads((folder / "results.json").read_text())
    meta = json.loads((folder / "meta.json").read_text())
    return folder, results, meta


def test_saved_files_need_kfx(reloads):
    folder, results, _ = reloads
    error = results["__without_kfx__"]
    # Keras 3.8 tries to import the saved module ("cannot be imported"); recent releases
    # import only Keras' own modules ("Could not locate class").
    assert "Could not locate class" in error or "cannot be imported" in error, error
    # `import kfx` registered the layers without importing the heavier subpackages.
    assert (folder / "stdout.txt").read_text().strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_reload_in_fresh_process(reloads, case_id):
    folder, results, meta = reloads
    result = results[case_id]
    assert result["error"] is None, result["error"]
    cls, _case = BY_ID[case_id]
    assert result["class"] == f"{cls.__module__}.{cls.__name__}"
    assert result["config"] == meta[case_id]["config"]
    assert result["weights"] == meta[case_id]["weights"]
    expected = np.load(folder / f"{case_id}-expected.npy")
    got = np.load(folder / f"{case_id}-reloaded.npz")
    np.testing.assert_allclose(got["predict"], expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got["eager"], expected, rtol=1e-5, atol=1e-5)


# -- MirroredStrategy (TensorFlow) -----------------------------------------------------------

MIRRORED_SCRIPT = """
import json, sys, traceback
import tensorflow as tf

# Two logical CPUs, configured before TensorFlow initialises its devices.
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import importlib.util
import numpy as np
import keras

spec = importlib.util.spec_from_file_location("kfx_layer_conformance", {test_file!r})
suite = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(suite)

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
results = {{"replicas": strategy.num_replicas_in_sync}}
for case_id, (cls, case) in suite.BY_ID.items():
    try:
        with strategy.scope():
            model, layer = suite.build_trainable_model(case)
            initial = [np.array(w.numpy()) for w in model.trainable_weights]
            history = suite._fit_one_epoch(model, case, jit_compile=False)
        spread, per_replica = 0.0, []
        for w in model.weights:
            values = [np.asarray(v) for v in strategy.experimental_local_results(w.value)]
            per_replica.append(len(values))
            spread = max(spread, *(float(np.max(np.abs(v - values[0]))) for v in values))
        moved = [
            bool(not np.allclose(a, w.numpy()))
            for a, w in zip(initial, model.trainable_weights)
        ]
        results[case_id] = {{
            "error": None,
            "loss": history.history["loss"],
            "spread": spread,
            "replicas": per_replica,
            "trained": all(moved),
        }}
    except Exception:
        results[case_id] = {{"error": traceback.format_exc()}}
    keras.backend.clear_session()
with open({results!r}, "w") as handle:
    json.dump(results, handle)
"""


def _produce_mirrored(folder: Path) -> None:
    _run_python(
        MIRRORED_SCRIPT.format(test_file=str(HERE), results=str(folder / "results.json")),
        timeout=500,
    )


@pytest.fixture(scope="session")
def mirrored(tmp_path_factory):
    if BACKEND != "tensorflow":
        pytest.skip("tf.distribute.MirroredStrategy needs the TensorFlow backend")
    folder = _shared_run(tmp_path_factory, "mirrored", _produce_mirrored)
    return json.loads((folder / "results.json").read_text())


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_mirrored_strategy_keeps_replicas_identical(mirrored, case_id):
    assert mirrored["replicas"] == 2
    result = mirrored[case_id]
    assert result["error"] is None, result["error"]
    assert np.isfinite(result["loss"]).all()
    assert result["trained"], "one epoch under MirroredStrategy did not change the weights"
    assert set(result["replicas"]) == {2}, "weights are not mirrored on both devices"
    assert result["spread"] == 0.0, f"replicas differ by up to {result['spread']}"
