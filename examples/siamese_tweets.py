"""Shared layers: are two tweets from the same person? One LSTM encodes both.

`kfx.templates.siamese` calls one encoder on both inputs, so its weights are shared; the
shared LSTM then has two nodes, which `kfx.nodes` reads (Keras 3 removed get_output_at).

Expect: shared LSTM nodes: 2; node 1 output \\(None, 64\\)
Run: python examples/siamese_tweets.py --quick
"""

import argparse

import keras
import numpy as np

import kfx
from kfx.templates import Head

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true")
args = parser.parse_args()

rng = np.random.default_rng(0)
n = 256 if args.quick else 2048
tweets_a = rng.random((n, 280, 256)).astype("float32")  # one-hot-like character sequences
tweets_b = rng.random((n, 280, 256)).astype("float32")
same = rng.integers(0, 2, (n, 1)).astype("float32")

lstm = keras.layers.LSTM(64, name="shared_lstm")
encoder_input = keras.Input((280, 256))
encoder = keras.Model(encoder_input, lstm(encoder_input), name="tweet_encoder")

model = kfx.templates.siamese(
    encoder, (280, 256), merge="concat", head=Head("same_person", 1, "binary")
)
model.compile("rmsprop", **kfx.templates.compile_args([Head("same_person", 1, "binary")]))
model.fit([tweets_a, tweets_b], same, epochs=1, batch_size=64, verbose=2)

# The shared layer inside the encoder was called once to build it; the encoder (a layer
# itself) was called once per tweet in the siamese model.
encoder_layer = next(layer for layer in model.layers if isinstance(layer, keras.Model))
print(
    f"shared LSTM nodes: {kfx.nodes.num_nodes(encoder_layer)}; node 1 output {kfx.nodes.output_shape_at(encoder_layer, 1)}"
)
