"""Data-parallel training with `kfx.distribute.fit`: MirroredStrategy, then two workers.

Part 1 splits the CPU into two logical devices and trains a small ResNet under
`MirroredStrategy`. Part 2 runs this same script as two `MultiWorkerMirroredStrategy`
workers on 127.0.0.1 (`kfx.distribute.launch`, as `kfx train --workers 2 -- python
examples/distributed_training.py --worker` would), where Keras' own `fit` fails
(keras-team/keras issue 20585); the chief writes checkpoints and the model, and both workers
end with the same weights.

Expect: MultiWorkerMirroredStrategy: 2 workers, loss [\\d.]+ -> [\\d.]+, identical weights: True
Run: python examples/distributed_training.py --quick
"""

import argparse
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true")
parser.add_argument("--worker", action="store_true", help="run as one worker of a cluster")
parser.add_argument("--out", default="runs/distributed")
args = parser.parse_args()
OUT = Path(args.out)

import kfx.distribute  # noqa: E402

if args.worker:
    strategy = kfx.distribute.multi_worker_strategy()  # first: reads TF_CONFIG
else:
    devices = kfx.distribute.strategies.logical_cpus(2)  # before TensorFlow starts

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kfx  # noqa: E402

SAMPLES = 128 if args.quick else 2048
EPOCHS = 2 if args.quick else 10
GLOBAL_BATCH = 32  # split across replicas: 16 per replica with two of them
x, y = kfx.datasets.synthetic_images(SAMPLES, (16, 16, 3), 4, seed=0)


def build_model():
    keras.utils.set_random_seed(0)  # same initial weights in every worker
    model = kfx.models.resnet(
        (16, 16, 3), 4, depths=(1, 1), widths=(8, 16), kind="basic", stem="small"
    )
    model.compile(
        keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


if args.worker:
    # -- one worker of the cluster (both run this) ------------------------------------------
    with strategy.scope():
        model = build_model()
    chief = kfx.distribute.is_chief(strategy)
    history = kfx.distribute.fit(
        model,
        x,
        y,
        strategy=strategy,
        epochs=EPOCHS,
        batch_size=GLOBAL_BATCH,
        checkpoint_dir=OUT / "checkpoints",  # rerun after a crash: resumes from here
        callbacks=[keras.callbacks.CSVLogger(str(OUT / "log.csv"))],  # chief only
        verbose=2,
    )
    _, index = kfx.distribute.task_info(strategy)
    np.savez(OUT / f"weights-{index}.npz", *model.get_weights(), loss=history.history["loss"])
    if chief:
        model.save(OUT / "model.keras")
    sys.exit(0)

# -- part 1: MirroredStrategy over two logical CPUs, in this process ------------------------
strategy = tf.distribute.MirroredStrategy(devices)
with strategy.scope():
    model = build_model()
history = kfx.distribute.fit(
    model, x, y, strategy=strategy, epochs=EPOCHS, batch_size=GLOBAL_BATCH, verbose=0
)
loss = history.history["loss"]
print(
    f"MirroredStrategy: {strategy.num_replicas_in_sync} replicas, loss {loss[0]:.3f} -> {loss[-1]:.3f}"
)

# -- part 2: two worker processes, MultiWorkerMirroredStrategy -------------------------------
shutil.rmtree(OUT, ignore_errors=True)  # a fresh run (keep it to resume after a crash)
OUT.mkdir(parents=True)
command = [sys.executable, __file__, "--worker", "--out", str(OUT)]
if args.quick:
    command.append("--quick")
status = kfx.distribute.launch(2, command, log_dir=OUT / "logs", timeout=600)
if status:
    sys.exit(f"workers failed with status {status}; see {OUT / 'logs'}")
chief, other = (np.load(OUT / f"weights-{i}.npz") for i in range(2))
same = all(np.array_equal(chief[k], other[k]) for k in chief.files if k.startswith("arr_"))
loss = chief["loss"]
print(
    f"MultiWorkerMirroredStrategy: 2 workers, loss {loss[0]:.3f} -> {loss[-1]:.3f}, "
    f"identical weights: {same}"
)
reloaded = keras.saving.load_model(OUT / "model.keras")
print(f"chief's model reloaded: accuracy {reloaded.evaluate(x, y, verbose=0)[1]:.2f}")
