"""Visual question answering: an image and a question in, a one-word answer out.

A CNN encodes the image, an LSTM the question; `multi_io` concatenates them into a
classifier over the answer vocabulary.

Expect: answer probabilities \\(2, 100\\), sum 1.00
Run: python examples/visual_question_answering.py --quick
"""

import argparse

import keras
import numpy as np

import kfx
from kfx.templates import Head

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true")
args = parser.parse_args()

ANSWERS, VOCAB = 100, 1000


def image_encoder(image):
    x = kfx.blocks.conv_bn_act(image, 32, strides=2)
    x = kfx.blocks.residual(x, 64, strides=2)
    return keras.layers.GlobalAveragePooling2D()(x)


def question_encoder(tokens):
    return keras.layers.LSTM(64)(keras.layers.Embedding(VOCAB, 64)(tokens))


inputs = {
    "image": keras.Input((64, 64, 3), name="image"),
    "question": keras.Input((20,), dtype="int32", name="question"),
}
heads = [Head("answer", ANSWERS, "multiclass")]
model = kfx.templates.multi_io(
    inputs,
    heads,
    encoders={"image": image_encoder, "question": question_encoder},
    trunk=lambda x: kfx.blocks.mlp(x, (256,)),
)
model.compile("adam", **kfx.templates.compile_args(heads))

rng = np.random.default_rng(0)
n = 32 if args.quick else 512
data = {
    "image": rng.random((n, 64, 64, 3)).astype("float32"),
    "question": rng.integers(1, VOCAB, (n, 20)),
}
model.fit(
    data,
    {"answer": rng.integers(0, ANSWERS, n)},
    epochs=1 if args.quick else 5,
    batch_size=16,
    verbose=2,
)
probs = model.predict({k: v[:2] for k, v in data.items()}, verbose=0)
probs = probs["answer"] if isinstance(probs, dict) else probs
print(f"answer probabilities {probs.shape}, sum {probs.sum(axis=1).mean():.2f}")
