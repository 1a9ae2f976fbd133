"""kfx.models.load_weights / create(weights=...): keras.applications' weights by layer role."""

import h5py
import keras
import numpy as np
import pytest

from kfx import models

SIZE = 64
APPLICATIONS = {
    "resnet50": keras.applications.ResNet50,
    "resnet101": keras.applications.ResNet101,
    "resnet152": keras.applications.ResNet152,
    "resnet50v2": keras.applications.ResNet50V2,
    "resnet101v2": keras.applications.ResNet101V2,
    "resnet152v2": keras.applications.ResNet152V2,
}
SLOW = {"resnet101", "resnet152", "resnet101v2", "resnet152v2"}


def _randomized(build, **kwargs) -> keras.Model:
    """A keras.applications network with random weights, biases and batch-norm statistics."""
    model = build(weights=None, input_shape=(SIZE, SIZE, 3), **kwargs)
    rng = np.random.default_rng(0)
    for w in model.weights:
        if w.path.endswith("moving_variance"):
            w.assign(rng.uniform(0.5, 1.5, w.shape))
        elif w.path.endswith("kernel"):
            w.assign(rng.normal(0, 1 / np.sqrt(np.prod(w.shape[:-1])), w.shape))
        else:
            w.assign(rng.normal(0, 0.1, w.shape))
    return model


def write_legacy_h5(model: keras.Model, path) -> None:
    """The layout of keras.applications' ``*_weights_tf_dim_ordering_tf_kernels.h5``."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [layer.name.encode() for layer in model.layers]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.2.4"
        for layer in model.layers:
            group = f.create_group(layer.name)
            names = [f"{layer.name}/{w.name}:0".encode() for w in layer.weights]
            group.attrs["weight_names"] = names
            for name, w in zip(names, layer.weights, strict=True):
                group.create_dataset(name.decode(), data=keras.ops.convert_to_numpy(w))


#: Layers whose outputs must match: after the stem, before the head, and the prediction.
#: The softmax alone hides a misplaced stem padding (its outputs stay within 1e-6).
FEATURES = ("pool1_pool", "avg_pool", "predictions")


def _features(model: keras.Model, x) -> list[np.ndarray]:
    probe = keras.Model(model.input, [model.get_layer(n).output for n in FEATURES])
    return [keras.ops.convert_to_numpy(y) for y in probe(x)]


def _zero(model):
    for w in model.weights:
        w.assign(np.zeros(w.shape))


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in APPLICATIONS]
)
def test_kfx_network_predicts_as_keras_applications_from_model_and_both_files(name, tmp_path):
    reference = _randomized(APPLICATIONS[name], classes=7)
    x = np.random.default_rng(1).random((2, SIZE, SIZE, 3), "float32")
    expected = _features(reference, x)
    write_legacy_h5(reference, tmp_path / f"{name}_weights_tf_dim_ordering_tf_kernels.h5")
    reference.save_weights(tmp_path / "ref.weights.h5")
    model = models.create(name, input_shape=(SIZE, SIZE, 3), num_classes=7, weights=reference)
    assert model.kfx_transfer_report.not_loaded == []
    sources = [tmp_path / f"{name}_weights_tf_dim_ordering_tf_kernels.h5"]
    sources.append(tmp_path / "ref.weights.h5")
    for source in [reference, *sources]:
        _zero(model)
        report = models.load_weights(model, source)
        assert report.loaded == report.total and not report.not_loaded, report
        for layer, got, want in zip(FEATURES, _features(model, x), expected, strict=True):
            np.testing.assert_allclose(got, want, atol=1e-4, rtol=0, err_msg=layer)


def test_partial_transfer_loads_what_fits_and_names_the_rest(capsys):
    reference = _randomized(keras.applications.ResNet50, classes=7)
    model = models.create(
        "resnet50",
        input_shape=(96, 96, 3),  # another input size: every tensor still fits
        num_classes=3,
        se_ratio=0.25,
        drop_path=0.1,
        weights=reference,
    )
    report = model.kfx_transfer_report
    assert {"predictions/kernel", "predictions/bias"} <= set(report.not_loaded)
    assert any("_se_reduce" in name for name in report.not_loaded)
    assert report.loaded == 265 and report.loaded + len(report.not_loaded) == report.total
    assert set(report.unused) == {"predictions/kernel", "predictions/bias"}
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("kfx: loaded 265 of ") and "not loaded: " in line and "more" in line
    stem = model.get_layer("conv1_conv").kernel
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(stem),
        keras.ops.convert_to_numpy(reference.get_layer("conv1_conv").kernel),
    )
    headless = models.create("resnet50", input_shape=(SIZE, SIZE, 3), include_top=False)
    report = models.load_weights(headless, reference)
    assert report.loaded == report.total == 265 and not report.not_loaded


def test_bias_is_folded_into_the_moving_mean():
    reference = _randomized(keras.applications.ResNet50, classes=7)
    model = models.create("resnet50", input_shape=(SIZE, SIZE, 3), num_classes=7)
    models.load_weights(model, reference)
    assert not model.get_layer("conv1_conv").use_bias
    bias = keras.ops.convert_to_numpy(reference.get_layer("conv1_conv").bias)
    mean = keras.ops.convert_to_numpy(reference.get_layer("conv1_bn").moving_mean)
    got = keras.ops.convert_to_numpy(model.get_layer("conv1_bn").moving_mean)
    np.testing.assert_allclose(got, mean - bias, rtol=1e-6)


def test_weights_for_another_architecture_name_both(tmp_path):
    reference = _randomized(keras.applications.ResNet50V2, classes=7)
    model = models.create("resnet50", input_shape=(SIZE, SIZE, 3), num_classes=7)
    with pytest.raises(ValueError, match="holds weights for resnet50v2, not for resnet50"):
        models.load_weights(model, reference)
    write_legacy_h5(reference, tmp_path / "v2.h5")
    small = models.create("resnet18", input_shape=(SIZE, SIZE, 3), num_classes=7)
    with pytest.raises(ValueError, match=r"v2.h5 holds weights for resnet50v2, not for resnet18"):
        models.load_weights(small, tmp_path / "v2.h5")


def test_bad_weights_argument(tmp_path):
    model = models.create("resnet18", input_shape=(32, 32, 3), num_classes=2)
    with pytest.raises(ValueError, match="load_weights: argument `weights` got .*missing.h5"):
        models.load_weights(model, tmp_path / "missing.h5")
    with pytest.raises(ValueError, match="ImageNet weights only for resnet101, resnet101v2"):
        models.create("resnet18", input_shape=(32, 32, 3), weights="imagenet")


def test_imagenet_offline_without_cache_names_the_file_and_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    name = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    with pytest.raises(ValueError, match=name) as info:
        models.create(
            "resnet50", input_shape=(SIZE, SIZE, 3), include_top=False, weights="imagenet"
        )
    assert str(tmp_path / "keras_home" / "models" / name) in str(info.value)
