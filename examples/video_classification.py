"""Video classification: a per-frame CNN applied to every frame, pooled over time.

`kfx.templates.time_distributed` wraps the frame model in TimeDistributed (shared weights
across frames) and pools with an LSTM or a mean.

Expect: video model output \\(2, 5\\); frame model params shared: True
Run: python examples/video_classification.py --quick
"""

import argparse

import keras
import numpy as np

import kfx
from kfx.templates import Head

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true")
args = parser.parse_args()

frame = keras.Input((32, 32, 3))
x = kfx.blocks.conv_bn_act(frame, 16, strides=2)
x = kfx.blocks.residual(x, 16)
frame_model = keras.Model(frame, keras.layers.GlobalAveragePooling2D()(x), name="frame_cnn")

video_model = kfx.templates.time_distributed(
    frame_model, frames=8, pool="lstm", head=Head("action", 5, "multiclass")
)
video_model.compile("adam", **kfx.templates.compile_args([Head("action", 5, "multiclass")]))
rng = np.random.default_rng(0)
videos = rng.random((32 if args.quick else 256, 8, 32, 32, 3)).astype("float32")
labels = rng.integers(0, 5, len(videos))
video_model.fit(videos, labels, epochs=1 if args.quick else 5, batch_size=8, verbose=2)
out = video_model.predict(videos[:2], verbose=0)
wrapper = next(
    layer for layer in video_model.layers if isinstance(layer, keras.layers.TimeDistributed)
)
shared = wrapper.layer is frame_model  # one frame model, its weights used for all 8 frames
print(f"video model output {out.shape}; frame model params shared: {shared}")
