"""A functional MLP on the digits: summary() and a plot of the graph.

Expect: plot: .*(functional_mlp\\.png|skipped)
Run: python examples/functional_mlp.py --quick
"""

import argparse
import tempfile
from pathlib import Path

import keras

import kfx
from kfx.plotting import plot_model

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true", help="fewer epochs")
parser.add_argument("--out", default=None, help="folder for the plot (default: a temp dir)")
args = parser.parse_args()

(x_train, y_train), (x_test, y_test) = kfx.datasets.digits()
x_train, x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)

inputs = keras.Input((64,), name="pixels")
hidden = kfx.blocks.mlp(inputs, (64, 32), dropout=0.1, name="hidden")
outputs = keras.layers.Dense(10, activation="softmax", name="digit")(hidden)
model = keras.Model(inputs, outputs, name="digits_mlp")
model.summary()

model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=3 if args.quick else 30, batch_size=32, verbose=0)
_, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy: {accuracy:.3f}")

out = Path(args.out or tempfile.mkdtemp())
path = plot_model(model, out / "functional_mlp.png")
print(f"plot: {path if path else 'skipped (no graphviz)'}")
