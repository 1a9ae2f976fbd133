"""A tiny training script run by the multi-worker tests: alone, as `kfx train` workers, as the
tasks of an `srun` step, or as the chief, worker and evaluator of a TFJob-shaped TF_CONFIG.

    python _train_worker.py OUT [--epochs N] [--ckpt DIR] [--logs DIR] [--slow S] [--save PATH]
                                [--validate]

Writes OUT/result-<task>.npz (final weights, history, replicas in sync, cluster kind) and
OUT/progress-<task>.txt ("<pid> <epoch> <step>" after each batch) so the tests can compare
tasks and pick a moment to kill one; <task> is the worker index, or "chief0"/"evaluator0".
Chief-only files go to --logs (CSVLogger, ModelCheckpoint) and --save.
"""

import argparse
import json
import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from kfx.distribute import cluster, fit, is_chief, multi_worker_strategy  # noqa: E402

strategy = multi_worker_strategy()  # first: it reads TF_CONFIG and starts the server

import keras  # noqa: E402
import numpy as np  # noqa: E402

GLOBAL_BATCH = 16
SAMPLES = 128


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(SAMPLES, 6)).astype("float32")
    w = rng.normal(size=(6, 1)).astype("float32")
    y = (x @ w + 0.1 * rng.normal(size=(SAMPLES, 1))).astype("float32")
    return x, y


class Progress(keras.callbacks.Callback):
    def __init__(self, path, slow):
        super().__init__()
        self.path, self.slow, self.epoch = path, slow, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        with open(self.path, "w") as f:
            f.write(f"{os.getpid()} {self.epoch} {batch}\n")
        time.sleep(self.slow)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--ckpt", default=None)
    parser.add_argument("--logs", default=None)
    parser.add_argument("--slow", type=float, default=0.0)
    parser.add_argument("--save", default=None)
    parser.add_argument("--validate", action="store_true")
    args = parser.parse_args()
    found = cluster()
    task = found.task_type or "worker"
    index = f"{found.task_index or 0}" if task == "worker" else f"{task}{found.task_index}"
    os.makedirs(args.out, exist_ok=True)

    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [keras.Input((6,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)]
        )
        model.compile(keras.optimizers.Adam(0.02), "mse", metrics=["mae"])
    callbacks = [Progress(os.path.join(args.out, f"progress-{index}.txt"), args.slow)]
    if args.logs:
        callbacks += [
            keras.callbacks.CSVLogger(os.path.join(args.logs, "log.csv")),
            keras.callbacks.ModelCheckpoint(os.path.join(args.logs, "best.keras")),
        ]
    x, y = data()
    validation = (x[:32], y[:32]) if args.validate else None
    history = fit(
        model,
        x,
        y,
        strategy=strategy,
        epochs=args.epochs,
        batch_size=GLOBAL_BATCH,
        callbacks=callbacks,
        checkpoint_dir=args.ckpt,
        validation_data=validation,
        verbose=2,
    )
    weights = {f"w{i}": w for i, w in enumerate(model.get_weights())}
    np.savez(
        os.path.join(args.out, f"result-{index}.npz"),
        history=json.dumps(history.history),
        epochs_run=json.dumps(history.epoch),
        replicas=strategy.num_replicas_in_sync,
        kind=found.kind,
        **weights,
    )
    if args.save and is_chief(strategy):
        model.save(args.save)
    print(f"worker {index} done: epochs {history.epoch} loss {history.history.get('loss')}")


if __name__ == "__main__":
    main()
