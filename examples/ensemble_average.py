"""Ensemble averaging of several models.

`kfx.templates.ensemble` gives each member a unique name, so several copies of one builder
(whose layers share names) live in one graph (keras-team/keras issue 19689).

Expect: ensemble accuracy [0-9.]+ \\(members: [0-9., ]+\\)
Run: python examples/ensemble_average.py --quick
"""

import argparse

import keras

import kfx

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true")
args = parser.parse_args()

(x_train, y_train), (x_test, y_test) = kfx.datasets.digits()


def member(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 8, 1))
    x = kfx.blocks.residual(kfx.blocks.conv_bn_act(inputs, 16, name="stem"), 16, name="res")
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(
        inputs, keras.layers.Dense(10, activation="softmax", name="probs")(x), name="member"
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=2 if args.quick else 15, batch_size=32, verbose=0)
    return model


members = [member(seed) for seed in range(3)]  # same layer names in every copy
model = kfx.templates.ensemble(members, mode="average", name="digits_ensemble")
model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
scores = [m.evaluate(x_test, y_test, verbose=0)[1] for m in members]
print(
    f"ensemble accuracy {model.evaluate(x_test, y_test, verbose=0)[1]:.3f} (members: {', '.join(f'{s:.3f}' for s in scores)})"
)
