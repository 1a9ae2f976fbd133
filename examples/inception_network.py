"""Inception modules: four parallel branches concatenated, alone and as a whole network.

Expect: inception module output: \\(None, 16, 16, 256\\)
Run: python examples/inception_network.py --quick
"""

import argparse

import keras

import kfx

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true")
args = parser.parse_args()

# One module, sized like GoogLeNet's inception(3a) on a 16x16x192 map.
x = keras.Input((16, 16, 192))
y = kfx.blocks.inception(
    x, b1x1=64, b3x3=128, b3x3_reduce=96, b5x5=32, b5x5_reduce=16, pool_proj=32, name="inc3a"
)
print(f"inception module output: {tuple(y.shape)}")

# A small network of such modules, trained briefly on generated data.
model = kfx.models.inception_net((32, 32, 3), 10, widths=(64, 128))
print(f"inception_net: {model.count_params():,} parameters")
x_train, y_train = kfx.datasets.synthetic_images(128 if args.quick else 1024, (32, 32, 3), 10)
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, epochs=1 if args.quick else 5, batch_size=32, verbose=2)
print(f"final training loss: {history.history['loss'][-1]:.3f}")
