"""Fine-tuning in the timm style: one call for the network, its weights and a new head.

`kfx.models.create("resnet50", weights="imagenet", num_classes=10, drop_path=0.1)` builds a
kfx ResNet-50 (open blocks, drop-path) and loads keras.applications' ImageNet weights into
it by layer role; the new 10-class head stays initialised and the one-line report says so.
Without network and without a cached ImageNet file the script says where to put the file
and starts from random weights. Training is the usual two phases: the head alone on a
frozen backbone, then everything at a lower learning rate. Data: the embedded 8x8 digits,
upsampled to 32x32 RGB.

Expect: fine-tuned accuracy \\d\\.\\d+
Run: python examples/fine_tune.py --quick
"""

import argparse

import keras
import numpy as np

import kfx

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true")
parser.add_argument("--weights", default="imagenet", help='"imagenet", a weights file or "none"')
args = parser.parse_args()
keras.utils.set_random_seed(0)

SIZE = 32  # the smallest input keras.applications' ResNets accept
(x_train, y_train), (x_test, y_test) = kfx.datasets.digits()
if args.quick:
    x_train, y_train = x_train[:256], y_train[:256]


def to_rgb(images):
    """8x8 grey digits to SIZE x SIZE x 3 in [0, 255], the range keras.applications expects."""
    scale = SIZE // images.shape[1]
    big = images.repeat(scale, axis=1).repeat(scale, axis=2)
    return keras.applications.resnet.preprocess_input(np.repeat(big, 3, axis=-1) * 255.0)


x_train, x_test = to_rgb(x_train), to_rgb(x_test)
options = {"input_shape": (SIZE, SIZE, 3), "num_classes": 10, "drop_path": 0.1}
weights = None if args.weights == "none" else args.weights
try:
    model = kfx.models.create("resnet50", weights=weights, **options)
except ValueError as err:  # offline and not cached: say where the file goes, start at random
    print(f"{err}\nstarting from random weights")
    model = kfx.models.create("resnet50", **options)

epochs = 1 if args.quick else 3
# Phase 1: only the new head learns; frozen batch norms run in inference mode.
for layer in model.layers:
    layer.trainable = layer.name == "predictions"
model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=32, epochs=epochs, verbose=2)
frozen = model.evaluate(x_test, y_test, verbose=0)[1]
print(f"frozen-backbone accuracy {frozen:.3f}")

# Phase 2: everything learns, ten times slower.
for layer in model.layers:
    layer.trainable = True
model.compile(keras.optimizers.Adam(1e-4), "sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=32, epochs=epochs, verbose=2)
tuned = model.evaluate(x_test, y_test, verbose=0)[1]
print(f"fine-tuned accuracy {tuned:.3f}")
