"""Every registered network builds, trains a step, counts FLOPs and reloads (timm-style)."""

import keras
import numpy as np
import pytest

from kfx import models
from kfx.datasets import synthetic_images

SHAPE = (32, 32, 3)
#: Over 30 residual blocks: same blocks as resnet50 / resnet50v2, only more of them.
DEEP = {"resnet101", "resnet152", "resnet101v2", "resnet152v2"}
#: Eager calls and steps: tracing a 150-layer graph costs more than running it on 4 images.
NAMES = [pytest.param(n, marks=pytest.mark.slow) if n in DEEP else n for n in models.list_models()]


@pytest.mark.parametrize("name", NAMES)
def test_registered_model_trains_a_step_and_counts_flops(name):
    model = models.create(name, input_shape=SHAPE, num_classes=5)
    assert model.name == name
    x, y = synthetic_images(4, SHAPE, 5)
    out = keras.ops.convert_to_numpy(model(x))
    assert out.shape == (4, 5)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    model.compile(keras.optimizers.SGD(0.01), "sparse_categorical_crossentropy", run_eagerly=True)
    assert np.isfinite(float(model.train_on_batch(x, y)))
    report = models.flops(model)
    assert report.macs > 0 and report.flops > 2 * report.macs
    assert report.params == model.count_params() and not report.not_counted


def test_registry_lists_the_issue_networks():
    expected = {"resnet18", "resnet34", "resnet50", "resnet101", "resnet152"}
    expected |= {"resnet50v2", "resnet101v2", "resnet152v2", "inception_net", "xception_net"}
    assert expected <= set(models.list_models())
    assert models.list_models() == sorted(models.list_models())


def test_unknown_model_lists_known_ones():
    with pytest.raises(ValueError, match="create_model: argument `name` got 'resnet9'.*resnet18"):
        models.create_model("resnet9", (32, 32, 3), 10)
    with pytest.raises(ValueError, match="create: argument `name` got 'resnet9'.*resnet152v2"):
        models.create("resnet9")


def test_create_options_reach_the_network():
    model = models.create(
        "resnet18", input_shape=SHAPE, num_classes=3, drop_path=0.2, se_ratio=0.25, stem="small"
    )
    rates = [layer.rate for layer in model.layers if layer.name.endswith("_drop_path")]
    assert rates and max(rates) == pytest.approx(0.2)
    assert any(layer.name.endswith("_se_excite") for layer in model.layers)
    assert model.get_layer("conv1_conv").kernel.shape == (3, 3, 3, 64)  # the small stem
    pooled = models.create("resnet50v2", input_shape=SHAPE, include_top=False, pooling="max")
    assert pooled.output_shape == (None, 2048) and pooled.layers[-1].name == "max_pool"
    assert models.create("resnet18", include_top=False).output_shape == (None, 7, 7, 512)


def test_create_refuses_options_a_network_lacks():
    with pytest.raises(ValueError, match="create: argument `se_ratio` got 0.25.*no residual"):
        models.create("inception_net", input_shape=SHAPE, se_ratio=0.25)
    with pytest.raises(ValueError, match="argument `pooling` got 'sum'"):
        models.create("resnet18", input_shape=SHAPE, include_top=False, pooling="sum")


def test_register_model_adds_a_tested_network():
    @models.register_model(name="tiny_test_net")
    def tiny(input_shape, num_classes, **kwargs):
        x = keras.Input(input_shape)
        y = keras.layers.GlobalAveragePooling2D()(x)
        return keras.Model(x, keras.layers.Dense(num_classes, activation="softmax")(y))

    try:
        assert "tiny_test_net" in models.list_models()
        assert models.create("tiny_test_net", input_shape=SHAPE, num_classes=2).output_shape == (
            None,
            2,
        )
    finally:
        models.unregister_model("tiny_test_net")
    assert "tiny_test_net" not in models.list_models()
    assert tiny.__name__ == "tiny"  # the decorator returns the builder itself


@pytest.mark.parametrize(
    "deep", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["shallow", "deep"]
)
def test_every_model_reloads_in_one_fresh_process_without_kfx(tmp_path, fresh_python, deep):
    if keras.backend.backend() == "jax":
        pytest.skip(
            "eager calls of whole networks take minutes under JAX; the JAX rerun reloads every "
            "layer kind in tests/layers, and this test runs under TensorFlow"
        )
    data = np.random.default_rng(1).random((2, *SHAPE), "float32")
    np.save(tmp_path / "x.npy", data)
    names = [name for name in models.list_models() if (name in DEEP) == deep]
    for name in names:
        model = models.create(name, input_shape=SHAPE, num_classes=4)
        model.save(tmp_path / f"{name}.keras")
        np.save(tmp_path / f"{name}.npy", keras.ops.convert_to_numpy(model(data)))
        keras.backend.clear_session()
    out = fresh_python(
        f"""
        import glob, keras, numpy as np
        x = np.load({str(tmp_path / "x.npy")!r})
        for path in sorted(glob.glob({str(tmp_path)!r} + "/*.keras")):
            got = keras.ops.convert_to_numpy(keras.saving.load_model(path, safe_mode=True)(x))
            np.testing.assert_allclose(got, np.load(path[:-6] + ".npy"), rtol=1e-5, atol=1e-6)
            print("ok", path)
        """,
        without_kfx=True,
    )
    assert out.count("ok ") == len(names)
