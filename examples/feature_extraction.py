"""VGG19-style feature extraction: every layer's output from one call.

`kfx.templates.feature_extractor` returns a model whose outputs are a dict keyed by layer
path; layers inside nested models get "outer/inner" paths. No ImageNet weights here
(`weights=None`): nothing is downloaded.

Expect: \\d+ feature maps; block5_pool \\(1, 1, 1, 512\\)
Run: python examples/feature_extraction.py --quick
"""

import argparse

import keras
import numpy as np

import kfx

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true")
args = parser.parse_args()

vgg19 = keras.applications.VGG19(weights=None, include_top=False, input_shape=(32, 32, 3))
extractor = kfx.templates.feature_extractor(vgg19, "all")
features = extractor.predict(np.random.default_rng(0).random((1, 32, 32, 3)), verbose=0)
for info in kfx.templates.feature_info(extractor)[:4]:
    print(info)

# Selected layers only, by a regex over paths; and a nested model reached by its path.
pools = kfx.templates.feature_extractor(vgg19, r"block\d_pool")
inputs = keras.Input((32, 32, 3))
wrapped = keras.Model(
    inputs, keras.layers.Dense(10)(keras.layers.Flatten()(vgg19(inputs))), name="classifier"
)
nested = kfx.templates.feature_extractor(wrapped, ["vgg19/block3_conv1"])
print(f"pools: {sorted(pools.output)}; nested: {sorted(nested.output)}")
print(f"{len(features)} feature maps; block5_pool {features['block5_pool'].shape}")
