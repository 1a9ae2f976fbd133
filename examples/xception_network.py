"""Depthwise-separable convolutions and an Xception network.

A separable convolution factorises a KxK convolution into a depthwise KxK one and a 1x1 one:
far fewer parameters for the same output shape.

Expect: separable uses \\d+ parameters vs \\d+ for a regular conv
Run: python examples/xception_network.py --quick
"""

import argparse

import keras

import kfx

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true")
args = parser.parse_args()

x = keras.Input((32, 32, 64))
separable = keras.Model(x, kfx.blocks.separable(x, 128, activation=None))
regular = keras.Model(x, kfx.blocks.conv_bn_act(x, 128, activation=None))
print(
    f"separable uses {separable.count_params()} parameters vs {regular.count_params()} for a regular conv"
)

model = kfx.models.xception_net((32, 32, 3), 10, widths=(32, 64), middle_blocks=1)
print(f"xception_net: {model.count_params():,} parameters, output {model.output_shape}")
x_train, y_train = kfx.datasets.synthetic_images(128 if args.quick else 1024, (32, 32, 3), 10)
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, epochs=1 if args.quick else 5, batch_size=32, verbose=2)
print(f"final training loss: {history.history['loss'][-1]:.3f}")
