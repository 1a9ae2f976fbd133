"""One network written three ways: Sequential, functional and subclassed.

All three have the same layers and parameter count; the functional one exposes its graph
(plot, feature extraction), the subclassed one trades that for free-form Python in `call`.

Expect: parameters: sequential=(\\d+) functional=\\1 subclassed=\\1
Run: python examples/three_model_styles.py --quick
"""

import argparse

import keras

import kfx

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true")
args = parser.parse_args()

sequential = keras.Sequential(
    [
        keras.Input((64,)),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ]
)

inputs = keras.Input((64,))
functional = keras.Model(
    inputs,
    keras.layers.Dense(10, activation="softmax")(keras.layers.Dense(32, activation="relu")(inputs)),
)


@keras.saving.register_keras_serializable(package="examples")
class Subclassed(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(32, activation="relu")
        self.out = keras.layers.Dense(10, activation="softmax")

    def call(self, x):
        return self.out(self.hidden(x))


subclassed = Subclassed()
subclassed.build((None, 64))

(x_train, y_train), _ = kfx.datasets.digits()
x_train = x_train.reshape(len(x_train), -1)
for model in (sequential, functional, subclassed):
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x_train, y_train, epochs=1 if args.quick else 5, verbose=0)
counts = [m.count_params() for m in (sequential, functional, subclassed)]
print("parameters: sequential={} functional={} subclassed={}".format(*counts))
