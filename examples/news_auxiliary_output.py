"""A news-headline model with an auxiliary output and loss weights.

The headline goes through an LSTM; its encoding feeds an auxiliary head directly (which
keeps the LSTM learning on its own) and, joined with extra features, the main head.
`compile_args` weights the auxiliary loss at 0.2.

Expect: loss weights \\{'aux_output': 0.2, 'main_output': 1.0\\}
Run: python examples/news_auxiliary_output.py --quick
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
headline = rng.integers(1, 10000, (n, 100))
additional = rng.random((n, 5)).astype("float32")
clicked = (additional[:, :1] > 0.5).astype("float32")

main_input = keras.Input((100,), dtype="int32", name="main_input")
aux_input = keras.Input((5,), name="aux_input")
lstm_out = keras.layers.LSTM(32)(keras.layers.Embedding(10000, 64)(main_input))

aux_head = Head("aux_output", 1, "binary", loss_weight=0.2)
main_head = Head("main_output", 1, "binary", loss_weight=1.0)
x = keras.layers.Concatenate()([lstm_out, aux_input])
x = kfx.blocks.mlp(x, (64, 64, 64))
model = keras.Model(
    [main_input, aux_input], {"main_output": main_head(x), "aux_output": aux_head(lstm_out)}
)

args_ = kfx.templates.compile_args([main_head, aux_head])
model.compile("rmsprop", **args_)
model.fit(
    [headline, additional],
    {"main_output": clicked, "aux_output": clicked},
    epochs=1 if args.quick else 5,
    batch_size=32,
    verbose=2,
)
print(f"loss weights {dict(sorted(args_['loss_weights'].items()))}")
