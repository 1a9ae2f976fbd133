"""Callbacks: checkpoint the best model, stop early, reduce and schedule the learning rate,
log to CSV and TensorBoard, and watch activations and gradients.

`kfx.callbacks.standard` gives ModelCheckpoint (best `.keras`), EarlyStopping,
ReduceLROnPlateau, CSVLogger and TensorBoard writing under one folder; a
LearningRateScheduler warms the rate up, TimeStopping caps the run's time, and kfx's
ActivationLogger and GradientLogger put histograms beside Keras' own runs.

Expect: stopped after [0-9]+ epochs; best val_loss [0-9.]+ reloaded from .*best.keras; runs .*activations.*gradients
Run: python examples/training_callbacks.py --quick
"""

import argparse
import csv
import tempfile
from pathlib import Path

import keras

import kfx

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true")
parser.add_argument("--out", default=None, help="output folder (default: a temporary one)")
args = parser.parse_args()
out = Path(args.out or tempfile.mkdtemp(prefix="kfx_callbacks_"))

(x_train, y_train), (x_test, y_test) = kfx.datasets.digits()
image = keras.Input((8, 8, 1), name="image")
x = kfx.blocks.conv_bn_act(image, 16, name="conv")
x = kfx.blocks.residual(x, 16, name="block")
x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
model = keras.Model(image, keras.layers.Dense(10, activation="softmax", name="digit")(x))
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])


def warm_up(epoch, rate):
    """Ramp the learning rate up over the first three epochs, then leave it alone."""
    return 1e-3 * (epoch + 1) / 3 if epoch < 3 else rate


callbacks = kfx.callbacks.standard(out, monitor="val_loss", patience=3)
callbacks += [
    keras.callbacks.LearningRateScheduler(warm_up),
    kfx.callbacks.TimeStopping(seconds=120),
    kfx.callbacks.ActivationLogger(x_test, log_dir=out, every_n_epochs=2),
    kfx.callbacks.GradientLogger((x_train, y_train), log_dir=out, every_n_epochs=2),
]
history = model.fit(
    x_train,
    y_train,
    validation_split=0.2,
    epochs=4 if args.quick else 40,
    batch_size=64,
    verbose=0,
    callbacks=callbacks,
)
best = keras.saving.load_model(out / "best.keras")
best_val = min(history.history["val_loss"])
rows = list(csv.DictReader((out / "history.csv").open()))
print(f"learning rate by epoch: {[round(float(r), 5) for r in history.history['learning_rate']]}")
print(
    f"history.csv has {len(rows)} rows; test accuracy {best.evaluate(x_test, y_test, verbose=0)[1]:.3f}"
)
runs = sorted(p.name for p in out.iterdir() if p.is_dir())
print(
    f"stopped after {len(history.epoch)} epochs; best val_loss {best_val:.4f} reloaded from "
    f"{out / 'best.keras'}; runs {runs}"
)
print(f"see them with: tensorboard --logdir {out}")
