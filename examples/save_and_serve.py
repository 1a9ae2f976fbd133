"""fit / evaluate / predict; save and load `.keras`; weights-only checkpoints; SavedModel export.

Keras 3: `model.save("dir")` is gone. `.keras` is the save format, weights-only files end in
`.weights.h5`, and a SavedModel for serving comes from `model.export(dir)`, reloaded with
`keras.layers.TFSMLayer` (TensorFlow backend).

Expect: reloaded predictions match: True
Run: python examples/save_and_serve.py --quick
"""

import argparse
import tempfile
from pathlib import Path

import keras
import numpy as np

import kfx

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true")
args = parser.parse_args()

(x_train, y_train), (x_test, y_test) = kfx.datasets.digits()
inputs = keras.Input((8, 8, 1))
x = kfx.blocks.conv_bn_act(inputs, 16)
x = kfx.blocks.residual(x, 16)
x = keras.layers.GlobalAveragePooling2D()(x)
model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])

out = Path(tempfile.mkdtemp())
checkpoint = keras.callbacks.ModelCheckpoint(
    out / "best.weights.h5", save_weights_only=True, save_best_only=True
)
model.fit(
    x_train,
    y_train,
    validation_split=0.1,
    epochs=2 if args.quick else 15,
    verbose=0,
    callbacks=[checkpoint],
)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
probabilities = model.predict(x_test[:5], verbose=0)
print(
    f"test accuracy {accuracy:.3f}; first predictions {probabilities.argmax(axis=1)} vs labels {y_test[:5]}"
)

model.save(out / "model.keras")
reloaded = keras.saving.load_model(out / "model.keras")
same = np.allclose(reloaded.predict(x_test[:5], verbose=0), probabilities, atol=1e-6)

model.load_weights(out / "best.weights.h5")  # the best epoch's weights, same architecture
print(f"weights-only checkpoint: {(out / 'best.weights.h5').stat().st_size} bytes")

if keras.backend.backend() == "tensorflow":
    model.export(out / "serving")  # TensorFlow SavedModel, e.g. for TF Serving
    serving = keras.layers.TFSMLayer(out / "serving", call_endpoint="serve")
    served = keras.ops.convert_to_numpy(serving(x_test[:5]))
    same = same and np.allclose(served, model.predict(x_test[:5], verbose=0), atol=1e-5)
    print(f"SavedModel served {served.shape[0]} predictions through TFSMLayer")
print(f"reloaded predictions match: {same}")
