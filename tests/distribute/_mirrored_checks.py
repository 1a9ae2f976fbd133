"""MirroredStrategy over two logical CPUs: what tests/distribute/test_mirrored.py asserts.

Runs in its own interpreter (the logical devices must be set before TensorFlow initializes
its devices) and writes one JSON file of results:

    python _mirrored_checks.py RESULTS.json
"""

import importlib.util
import json
import os
import sys
import traceback
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from kfx.distribute.strategies import logical_cpus  # noqa: E402

DEVICES = logical_cpus(2)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kfx  # noqa: E402
from kfx.distribute import fit  # noqa: E402

HERE = Path(__file__).resolve().parent
strategy = tf.distribute.MirroredStrategy(DEVICES)


def load_conformance():
    """The layer conformance suite: its cases say how to build and feed every kfx layer."""
    path = HERE.parent / "layers" / "test_conformance.py"
    spec = importlib.util.spec_from_file_location("kfx_layer_conformance", path)
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def spread(model) -> float:
    """Largest difference between a variable's copies on the replicas."""
    worst = 0.0
    for w in model.weights:
        values = [np.asarray(v) for v in strategy.experimental_local_results(w.value)]
        assert len(values) == strategy.num_replicas_in_sync, w.path
        worst = max(worst, *(float(np.max(np.abs(v - values[0]))) for v in values))
    return worst


def trained(model, before) -> bool:
    return all(
        not np.allclose(b, w.numpy()) for b, w in zip(before, model.trainable_weights, strict=True)
    )


def report(model, before, history) -> dict:
    return {
        "error": None,
        "history": history.history,
        "spread": spread(model),
        "trained": trained(model, before),
    }


def guarded(fn):
    try:
        return fn()
    except Exception:
        return {"error": traceback.format_exc()}
    finally:
        keras.backend.clear_session()


def layer_case(suite, case):
    def run():
        x = suite.sample_inputs(case, 16, seed=1)
        y = np.random.default_rng(2).normal(size=(16, 1)).astype("float32")
        with strategy.scope():
            keras.utils.set_random_seed(0)
            model, _ = suite.build_trainable_model(case)
            if case.warmup:
                model(suite.sample_inputs(case, 8, seed=3))
            model.compile(keras.optimizers.SGD(0.05), "mse")
        before = [w.numpy().copy() for w in model.trainable_weights]
        history = fit(model, x, y, strategy=strategy, batch_size=8, verbose=0)
        return report(model, before, history)

    return guarded(run)


def resnet():
    def run():
        rng = np.random.default_rng(0)
        x = rng.normal(size=(32, 16, 16, 3)).astype("float32")
        y = rng.integers(0, 3, size=(32,))
        with strategy.scope():
            keras.utils.set_random_seed(0)
            model = kfx.models.resnet(
                (16, 16, 3), 3, depths=(1, 1), widths=(4, 8), kind="basic", stem="small"
            )
            model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        before = [w.numpy().copy() for w in model.trainable_weights]
        history = fit(
            model,
            x,
            y,
            strategy=strategy,
            batch_size=8,
            epochs=2,
            validation_data=(x, y),
            verbose=0,
        )
        return report(model, before, history)

    return guarded(run)


def multi_io():
    def run():
        rng = np.random.default_rng(0)
        n = 32
        x = {
            "text": rng.normal(size=(n, 12)).astype("float32"),
            "image": rng.normal(size=(n, 4, 4, 2)).astype("float32"),
        }
        y = {"kind": rng.integers(0, 3, size=(n,)), "score": rng.normal(size=(n, 1))}
        heads = [
            kfx.templates.Head("kind", 3, "multiclass"),
            kfx.templates.Head("score", 1, "regression", loss_weight=0.5),
        ]
        with strategy.scope():
            keras.utils.set_random_seed(0)
            inputs = {
                "text": keras.Input((12,), name="text"),
                "image": keras.Input((4, 4, 2), name="image"),
            }
            model = kfx.templates.multi_io(inputs, heads, trunk=lambda t: kfx.blocks.mlp(t, (16,)))
            model.compile("adam", **kfx.templates.compile_args(heads))
        before = [w.numpy().copy() for w in model.trainable_weights]
        history = fit(model, x, y, strategy=strategy, batch_size=8, epochs=2, verbose=0)
        return report(model, before, history)

    return guarded(run)


def dense_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(4, "tanh"), keras.layers.Dense(1)]
    )
    model.compile(keras.optimizers.SGD(0.1), "mse", metrics=["mae"])
    return model


def against_one_device():
    """Two replicas and one device, same global batch and seed: same weights and logs."""

    def run():
        rng = np.random.default_rng(0)
        x = rng.normal(size=(64, 5)).astype("float32")
        y = rng.normal(size=(64, 1)).astype("float32")
        results = {}
        for name, strat in (
            ("mirrored", strategy),
            ("one", tf.distribute.OneDeviceStrategy(DEVICES[0])),
        ):
            with strat.scope():
                model = dense_model()
            history = fit(model, x, y, strategy=strat, batch_size=16, epochs=2, verbose=0)
            results[name] = {
                "weights": [w.tolist() for w in model.get_weights()],
                "history": history.history,
            }
        return {"error": None, **results}

    return guarded(run)


def loggers():
    """ActivationLogger and GradientLogger under two replicas: one file per logged epoch."""

    def run():
        import tempfile

        from kfx.callbacks import ActivationLogger, GradientLogger

        rng = np.random.default_rng(0)
        x = rng.normal(size=(32, 5)).astype("float32")
        y = rng.normal(size=(32, 1)).astype("float32")
        out = {"error": None}
        for name in ("kfx_fit", "keras_fit"):
            folder = Path(tempfile.mkdtemp())
            with strategy.scope():
                model = dense_model()
            callbacks = [
                ActivationLogger(x, log_dir=folder, npz_dir=folder / "npz"),
                GradientLogger((x, y), log_dir=folder),
            ]
            if name == "kfx_fit":
                fit(
                    model,
                    x,
                    y,
                    strategy=strategy,
                    batch_size=8,
                    epochs=2,
                    callbacks=callbacks,
                    verbose=0,
                )
            else:
                with strategy.scope():
                    model.fit(x, y, batch_size=8, epochs=2, callbacks=callbacks, verbose=0)
            out[name] = {
                "npz": sorted(p.name for p in (folder / "npz").iterdir()),
                "activation_events": len(
                    list((folder / "activations").glob("events.out.tfevents.*"))
                ),
                "gradient_events": len(list((folder / "gradients").glob("events.out.tfevents.*"))),
                "gradient_norm": callbacks[1].last_norms["global"],
            }
        return out

    return guarded(run)


def error_of(fn) -> str:
    try:
        fn()
    except ValueError as err:
        return str(err)
    except Exception as err:  # noqa: BLE001 - reported, the test says what it wanted
        return f"not a ValueError: {type(err).__name__}: {err}"
    return "no error"


def bad_inputs():
    x = np.zeros((20, 5), "float32")
    y = np.zeros((20, 1), "float32")
    out = {}
    with strategy.scope():
        uncompiled = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])
        model = dense_model()
    out["uncompiled"] = error_of(lambda: fit(uncompiled, x, y, strategy=strategy))
    odd = tf.data.Dataset.from_tensor_slices((x, y)).batch(5)
    out["odd_dataset"] = error_of(lambda: fit(model, odd, strategy=strategy, verbose=0))
    out["odd_batch_size"] = error_of(lambda: fit(model, x, y, strategy=strategy, batch_size=7))
    out["odd_validation"] = error_of(
        lambda: fit(model, x, y, strategy=strategy, batch_size=4, validation_data=odd)
    )
    backup = keras.callbacks.BackupAndRestore(str(HERE / "never-written"))
    out["callback"] = error_of(
        lambda: fit(model, x, y, strategy=strategy, batch_size=4, callbacks=[backup])
    )
    outside = dense_model()  # built outside strategy.scope()
    out["outside_scope"] = error_of(lambda: fit(outside, x, y, strategy=strategy, batch_size=4))
    return out


def main():
    suite = load_conformance()
    results = {
        "replicas": strategy.num_replicas_in_sync,
        "layers": {case_id: layer_case(suite, case) for case_id, (_, case) in suite.BY_ID.items()},
        "layer_classes": [cls.__name__ for cls in kfx.layers.list_layers()],
        "resnet": resnet(),
        "multi_io": multi_io(),
        "against_one_device": against_one_device(),
        "loggers": loggers(),
        "errors": bad_inputs(),
    }
    Path(sys.argv[1]).write_text(json.dumps(results))


if __name__ == "__main__":
    main()
