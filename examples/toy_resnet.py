"""A toy ResNet on small images: identity and projection shortcuts from `kfx.blocks.residual`.

The tutorial wrote the shortcut addition by hand; `residual` picks the identity when the
shape is kept and a strided 1x1 projection when it changes.

Expect: shortcuts: \\d+ identity, \\d+ projection
Run: python examples/toy_resnet.py --quick
"""

import argparse

import keras

import kfx

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true")
args = parser.parse_args()

x_train, y_train = kfx.datasets.synthetic_images(
    256 if args.quick else 2048, (32, 32, 3), 10, seed=0
)
x_test, y_test = kfx.datasets.synthetic_images(256, (32, 32, 3), 10, seed=1)

inputs = keras.Input((32, 32, 3), name="img")
x = kfx.blocks.conv_bn_act(inputs, 32, name="stem")
x = kfx.blocks.residual(x, 32, name="block1")  # identity shortcut
x = kfx.blocks.residual(x, 32, name="block2")  # identity shortcut
x = kfx.blocks.residual(x, 64, strides=2, name="block3")  # projection: stride and width change
x = keras.layers.GlobalAveragePooling2D()(x)
x = keras.layers.Dense(256, activation="relu")(x)
x = keras.layers.Dropout(0.5)(x)
model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x), name="toy_resnet")
model.summary()

projections = sum(layer.name.endswith("_0_conv") for layer in model.layers)
identities = sum(layer.name.endswith("_add") for layer in model.layers) - projections
model.compile(
    keras.optimizers.RMSprop(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"]
)
model.fit(
    x_train, y_train, batch_size=64, epochs=1 if args.quick else 10, validation_split=0.2, verbose=2
)
print(f"test accuracy: {model.evaluate(x_test, y_test, verbose=0)[1]:.3f}")
print(f"shortcuts: {identities} identity, {projections} projection")
