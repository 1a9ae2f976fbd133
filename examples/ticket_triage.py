"""Ticket triage: title + body + tags in, priority + department out.

Three inputs, two heads with their own losses and loss weights: `multi_io` builds the model,
`compile_args` gives `model.compile` its per-output losses, weights and metrics.

Expect: outputs \\['department', 'priority'\\]; priority \\(4, 1\\), department \\(4, 4\\)
Run: python examples/ticket_triage.py --quick
"""

import argparse

import keras
import numpy as np

import kfx
from kfx.templates import Head

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true")
args = parser.parse_args()

VOCAB, TAGS, DEPARTMENTS = 1000, 12, 4
rng = np.random.default_rng(0)
n = 256 if args.quick else 1280
title = rng.integers(1, VOCAB, (n, 10))
body = rng.integers(1, VOCAB, (n, 100))
tags = rng.integers(0, 2, (n, TAGS)).astype("float32")
priority = rng.random((n, 1)).astype("float32")
department = rng.integers(0, DEPARTMENTS, n)

inputs = {
    "title": keras.Input((None,), name="title", dtype="int32"),
    "body": keras.Input((None,), name="body", dtype="int32"),
    "tags": keras.Input((TAGS,), name="tags"),
}
embed = keras.layers.Embedding(VOCAB, 64)  # one embedding shared by title and body
encoders = {
    "title": lambda t: keras.layers.LSTM(128)(embed(t)),
    "body": lambda t: keras.layers.LSTM(32)(embed(t)),
}
heads = [
    Head("priority", 1, "binary"),
    Head("department", DEPARTMENTS, "multiclass", loss_weight=0.2),
]
model = kfx.templates.multi_io(inputs, heads, encoders=encoders, name="ticket_triage")
model.compile(keras.optimizers.RMSprop(1e-3), **kfx.templates.compile_args(heads))
model.fit(
    {"title": title, "body": body, "tags": tags},
    {"priority": priority, "department": department},
    epochs=1 if args.quick else 3,
    batch_size=32,
    verbose=2,
)
out = model.predict({"title": title[:4], "body": body[:4], "tags": tags[:4]}, verbose=0)
print(
    f"outputs {sorted(model.output_names)}; priority {out['priority'].shape}, department {out['department'].shape}"
)
