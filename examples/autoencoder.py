"""Encoder, decoder and autoencoder: models used as layers.

The encoder and decoder are ordinary models; `kfx.templates.autoencoder` chains them into
one trainable model, and each half stays usable on its own afterwards.

Expect: reconstruction MSE [0-9.]+; codes \\(5, 16\\)
Run: python examples/autoencoder.py --quick
"""

import argparse

import keras

import kfx

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true")
args = parser.parse_args()

(x_train, _), (x_test, _) = kfx.datasets.digits()

image = keras.Input((8, 8, 1), name="image")
x = kfx.blocks.conv_bn_act(image, 16, name="enc1")
x = kfx.blocks.conv_bn_act(x, 32, strides=2, name="enc2")
code = keras.layers.Dense(16, name="code")(keras.layers.Flatten()(x))
encoder = keras.Model(image, code, name="encoder")

code_in = keras.Input((16,), name="code_in")
y = keras.layers.Reshape((4, 4, 8))(keras.layers.Dense(4 * 4 * 8, activation="relu")(code_in))
y = keras.layers.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu")(y)
decoded = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="pixels")(y)
decoder = keras.Model(code_in, decoded, name="decoder")

model = kfx.templates.autoencoder(encoder, decoder, name="digits_autoencoder")
model.summary()
model.compile("adam", "mse")
model.fit(x_train, x_train, epochs=2 if args.quick else 30, batch_size=64, verbose=0)
mse = model.evaluate(x_test, x_test, verbose=0)
codes = encoder.predict(x_test[:5], verbose=0)  # the trained encoder on its own
print(f"reconstruction MSE {mse:.4f}; codes {codes.shape}")
