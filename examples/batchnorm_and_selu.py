"""BatchNormalization vs SELU self-normalizing networks on a deep MLP.

A deep stack of Dense layers trains poorly without help; batch norm (`norm="batch"`) or
SELU activations with lecun_normal init and AlphaDropout keep activations normalized.

Expect: batchnorm loss [0-9.]+, selu loss [0-9.]+, plain loss [0-9.]+
Run: python examples/batchnorm_and_selu.py --quick
"""

import argparse

import keras

import kfx

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true")
args = parser.parse_args()

(x_train, y_train), _ = kfx.datasets.digits()
x_train = x_train.reshape(len(x_train), -1)
depth = [64] * 10


def train(model):
    model.compile(keras.optimizers.SGD(0.01), "sparse_categorical_crossentropy")
    history = model.fit(x_train, y_train, epochs=2 if args.quick else 20, batch_size=32, verbose=0)
    return history.history["loss"][-1]


inputs = keras.Input((64,))
with_bn = keras.Model(
    inputs,
    keras.layers.Dense(10, activation="softmax")(kfx.blocks.mlp(inputs, depth, norm="batch")),
)

selu = inputs
for width in depth:
    selu = keras.layers.Dense(width, activation="selu", kernel_initializer="lecun_normal")(selu)
selu = keras.layers.AlphaDropout(0.05)(selu)
with_selu = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(selu))

plain = keras.Model(
    inputs,
    keras.layers.Dense(10, activation="softmax")(
        kfx.blocks.mlp(inputs, depth, activation="sigmoid")
    ),
)

print(
    f"batchnorm loss {train(with_bn):.3f}, selu loss {train(with_selu):.3f}, plain loss {train(plain):.3f}"
)
