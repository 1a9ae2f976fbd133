"""Social-media posts: one input, three outputs (age regression, income class, gender).

Expect: age \\(3, 1\\) income \\(3, 10\\) gender \\(3, 1\\)
Run: python examples/social_media_profile.py --quick
"""

import argparse

import keras
import numpy as np

import kfx
from kfx.templates import Head

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true")
args = parser.parse_args()

VOCAB, INCOME_GROUPS = 5000, 10
rng = np.random.default_rng(0)
n = 256 if args.quick else 2048
posts = rng.integers(1, VOCAB, (n, 50))
targets = {
    "age": rng.uniform(18, 70, (n, 1)).astype("float32"),
    "income": rng.integers(0, INCOME_GROUPS, n),
    "gender": rng.integers(0, 2, (n, 1)).astype("float32"),
}


def text_encoder(tokens):
    x = keras.layers.Embedding(VOCAB, 64)(tokens)
    x = kfx.blocks.conv_bn_act(x, 64, kernel_size=5)  # 1D by the rank of x
    x = keras.layers.MaxPooling1D(5)(x)
    x = kfx.blocks.residual(x, 64, kernel_size=5)
    return keras.layers.GlobalMaxPooling1D()(x)


heads = [
    Head("age", 1, "regression", loss_weight=0.25),
    Head("income", INCOME_GROUPS, "multiclass", loss_weight=1.0),
    Head("gender", 1, "binary", loss_weight=10.0),
]
inputs = {"posts": keras.Input((None,), dtype="int32", name="posts")}
model = kfx.templates.multi_io(
    inputs, heads, encoders={"posts": text_encoder}, trunk=lambda x: kfx.blocks.mlp(x, (128,))
)
model.compile("rmsprop", **kfx.templates.compile_args(heads))
model.fit({"posts": posts}, targets, epochs=1 if args.quick else 5, batch_size=64, verbose=2)
out = model.predict({"posts": posts[:3]}, verbose=0)
print(" ".join(f"{name} {out[name].shape}" for name in ("age", "income", "gender")))
