"""A recurrent layer written by hand (kfx.layers.LoopRNN) next to Keras' SimpleRNN.

The tutorial's hand-written RNN looped over `x.shape[0]` and broke on a dynamic or partial
batch; LoopRNN loops over time inside the layer with `keras.ops`, honours masks and works
for any batch size.

Expect: LoopRNN loss [0-9.]+, SimpleRNN loss [0-9.]+; batch sizes 1 and 7: \\(1, 16\\) \\(7, 16\\)
Run: python examples/handwritten_rnn.py --quick
"""

import argparse

import keras
import numpy as np

import kfx

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true")
args = parser.parse_args()

rng = np.random.default_rng(0)
n = 256 if args.quick else 2048
sequences = rng.normal(size=(n, 10, 5)).astype("float32")
targets = sequences[:, :, 0].sum(axis=1, keepdims=True)  # learnable: a running sum


def model_with(rnn: keras.layers.Layer) -> keras.Model:
    inputs = keras.Input((None, 5))
    model = keras.Model(inputs, keras.layers.Dense(1)(rnn(inputs)))
    model.compile("adam", "mse")
    return model


losses = {}
for name, rnn in [("LoopRNN", kfx.layers.LoopRNN(16)), ("SimpleRNN", keras.layers.SimpleRNN(16))]:
    history = model_with(rnn).fit(
        sequences, targets, epochs=2 if args.quick else 20, batch_size=32, verbose=0
    )
    losses[name] = history.history["loss"][-1]

encoder = keras.Sequential([keras.Input((None, 5)), kfx.layers.LoopRNN(16)])
shapes = [encoder.predict(sequences[:b], verbose=0).shape for b in (1, 7)]  # partial batches
print(
    f"LoopRNN loss {losses['LoopRNN']:.3f}, SimpleRNN loss {losses['SimpleRNN']:.3f}; batch sizes 1 and 7: {shapes[0]} {shapes[1]}"
)
