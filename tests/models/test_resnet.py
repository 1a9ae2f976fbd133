import inspect

import keras
import numpy as np
import pytest

from kfx import models
from kfx.models.resnet import PRESETS, STANDARD_WIDTHS

#: keras.applications.ResNet50(weights=None).count_params() on Keras 3.
KERAS_RESNET50_PARAMS = 25_636_712


def test_resnet50_matches_keras_applications_layout():
    ours = models.ResNet50()
    assert abs(ours.count_params() / KERAS_RESNET50_PARAMS - 1) < 0.002
    assert ours.output_shape == (None, 1000)
    assert ours.get_layer("predictions").activation is keras.activations.softmax
    reference = keras.applications.ResNet50(weights=None)
    ours_names = {layer.name for layer in ours.layers}
    for stage, blocks in [(2, 3), (3, 4), (4, 6), (5, 3)]:
        for block in range(1, blocks + 1):
            name = f"conv{stage}_block{block}_out"
            assert name in ours_names
            assert ours.get_layer(name).output.shape == reference.get_layer(name).output.shape


@pytest.mark.parametrize(
    "preset,kind,depths",
    [
        ("resnet18", "basic", 8),
        ("resnet34", "basic", 16),
        ("resnet50", "bottleneck", 16),
        ("resnet101", "bottleneck", 33),
    ],
)
def test_presets(preset, kind, depths):
    model = getattr(models, preset)((64, 64, 3), 7)
    blocks = [layer.name for layer in model.layers if layer.name.endswith("_add")]
    assert len(blocks) == depths
    assert model.name == preset
    width = 2048 if kind == "bottleneck" else 512
    assert model.get_layer("predictions").kernel.shape == (width, 7)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_are_real_functions_documenting_their_depths(preset):
    build = getattr(models, preset)
    assert build.__name__ == preset and build.__module__ == "kfx.models.resnet"
    assert list(inspect.signature(build).parameters) == ["input_shape", "num_classes", "kwargs"]
    depths, kind = PRESETS[preset]
    first_line = build.__doc__.splitlines()[0]
    assert f"{kind} blocks, depths {depths}, widths {STANDARD_WIDTHS}" in first_line
    assert "Example:" in build.__doc__


def test_presets_pass_keyword_arguments_on():
    model = models.resnet18((32, 32, 3), 3, widths=(8, 8, 16, 16), stem="small", name="mine")
    assert model.name == "mine"
    assert model.get_layer("conv5_block2_out").output.shape == (None, 4, 4, 16)
    with pytest.raises(TypeError, match="depths"):
        models.resnet50((32, 32, 3), 3, depths=(1,))


def test_resnet_1d_and_3d_and_headless():
    assert models.resnet((64, 2), 3, depths=(1, 1), widths=(8, 16), kind="basic").output_shape == (
        None,
        3,
    )
    headless = models.resnet(
        (8, 8, 8, 1), 3, depths=(1,), widths=(4,), stem="small", include_top=False
    )
    assert headless.output_shape == (None, 8, 8, 8, 16)


def test_resnet_preact_drop_path_schedule_and_se():
    model = models.resnet(
        (16, 16, 3),
        4,
        depths=(2, 2),
        widths=(8, 16),
        kind="preact",
        stem="small",
        drop_path=0.3,
        se_ratio=0.25,
    )
    rates = [layer.rate for layer in model.layers if layer.name.endswith("_drop_path")]
    np.testing.assert_allclose(rates, [0.1, 0.2, 0.3])  # linear from 0 (first block has none)
    assert "post_relu" in {layer.name for layer in model.layers}


def test_small_resnet_learns():
    keras.utils.set_random_seed(0)
    from kfx.datasets import synthetic_images

    x, y = synthetic_images(128, (16, 16, 3), 4)
    model = models.resnet18((16, 16, 3), 4, stem="small", widths=(8, 8, 16, 16))
    model.compile(
        keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    history = model.fit(x, y, epochs=6, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.5


@pytest.mark.parametrize(
    "kwargs,arg",
    [
        ({"depths": (2, 2), "widths": (8,)}, "depths/widths"),
        ({"depths": ()}, "depths"),
        ({"depths": (1, 0)}, "depths"),
        ({"depths": (1,), "kind": "wide"}, "kind"),
        ({"depths": (1,), "stem": "huge"}, "stem"),
    ],
)
def test_resnet_bad_input(kwargs, arg):
    with pytest.raises(ValueError, match=f"resnet: argument `{arg}`"):
        models.resnet((32, 32, 3), 10, **kwargs)


@pytest.mark.parametrize("shape", [(32,), (1, 2, 3, 4, 5), "32x32", (32, 0, 3)])
def test_resnet_bad_input_shape(shape):
    with pytest.raises(ValueError, match="resnet: argument `input_shape`.*2, 3 or 4 positive ints"):
        models.resnet(shape, 10, depths=(1,), widths=(8,))
