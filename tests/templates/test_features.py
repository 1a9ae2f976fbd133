"""feature_extractor and feature_info: layer outputs keyed by path, nested models included."""

import keras
import numpy as np
import pytest

from kfx import models, nodes
from kfx.templates import feature_extractor, feature_info, siamese


def _vgg_like():
    """A small VGG-style network (the tutorial extracts every VGG19 layer)."""
    x = keras.Input((16, 16, 3), name="image")
    y = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="block1_conv1")(x)
    y = keras.layers.MaxPooling2D(name="block1_pool")(y)
    y = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="block2_conv1")(y)
    y = keras.layers.GlobalAveragePooling2D(name="gap")(y)
    return keras.Model(x, keras.layers.Dense(3, name="predictions")(y), name="vgg")


def _nested():
    """outer(input) -> backbone(-> deep(-> dense) -> conv) -> head."""
    d_in = keras.Input((4,))
    deep = keras.Model(d_in, keras.layers.Dense(4, name="dense")(d_in), name="deep")
    b_in = keras.Input((4,))
    h = keras.layers.Dense(6, name="hidden")(deep(b_in))
    backbone = keras.Model(b_in, keras.layers.Dense(5, name="features")(h), name="backbone")
    x = keras.Input((4,), name="x")
    y = keras.layers.Dense(2, name="head")(backbone(x))
    return keras.Model(x, y, name="outer"), backbone, deep


def _x(shape=(4,), n=3):
    return np.random.default_rng(0).normal(size=(n, *shape)).astype("float32")


def test_all_layers_of_a_flat_model():
    vgg = _vgg_like()
    extractor = feature_extractor(vgg)
    names = [layer.name for layer in vgg.layers[1:]]
    assert list(extractor.output) == names
    x = _x((16, 16, 3))
    got = extractor.predict(x, verbose=0)
    manual = keras.Model(vgg.input, [vgg.get_layer(n).output for n in names])
    for name, expected in zip(names, manual.predict(x, verbose=0), strict=True):
        np.testing.assert_allclose(got[name], expected, rtol=1e-5, atol=1e-6)


def test_nested_paths_never_carry_the_outer_name():
    outer, backbone, deep = _nested()
    extractor = feature_extractor(outer)
    assert list(extractor.output) == [
        "backbone",
        "backbone/deep",
        "backbone/deep/dense",
        "backbone/hidden",
        "backbone/features",
        "head",
    ]
    assert not any(path.startswith("outer") for path in extractor.output)
    x = _x()
    got = extractor.predict(x, verbose=0)
    inner = keras.Model(backbone.input, backbone.get_layer("hidden").output).predict(x, verbose=0)
    np.testing.assert_allclose(got["backbone/hidden"], inner, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["backbone/deep/dense"], deep.predict(x, verbose=0), rtol=1e-5)
    np.testing.assert_allclose(got["head"], outer.predict(x, verbose=0), rtol=1e-5)


def test_extractor_shares_weights_and_leaves_the_model_alone():
    outer, backbone, _ = _nested()
    x = _x()
    before = outer.predict(x, verbose=0)
    extractor = feature_extractor(outer)
    assert {id(w) for w in extractor.weights} == {id(w) for w in outer.weights}
    assert [layer.name for layer in outer.layers] == ["x", "backbone", "head"]
    assert outer.get_layer("backbone") is backbone
    np.testing.assert_allclose(outer.predict(x, verbose=0), before, rtol=1e-6)
    # Shared weights: the extractor follows the model's training.
    head = outer.get_layer("head")
    head.set_weights([w * 2 for w in head.get_weights()])
    np.testing.assert_allclose(
        extractor.predict(x, verbose=0)["head"], outer.predict(x, verbose=0), rtol=1e-5
    )


def test_top_level_features_add_no_nodes():
    outer, backbone, _ = _nested()
    layers = outer.layers + backbone.layers
    counts = [nodes.num_nodes(layer) for layer in layers]
    feature_extractor(outer, nested=False)
    feature_extractor(outer, ["head", "backbone"])
    assert [nodes.num_nodes(layer) for layer in layers] == counts


def test_replay_respects_shared_layer_order(tmp_path):
    """A shared layer called again after later layers and a raw op, around a nested model."""
    shared = keras.layers.Dense(4, name="shared")
    inner_in = keras.Input((4,))
    inner = keras.Model(inner_in, keras.layers.Dense(4, name="dense")(inner_in), name="inner")
    x = keras.Input((4,), name="x")
    y = shared(keras.layers.Dense(4, name="mid")(inner(shared(x))) * 2.0)  # a raw keras.ops op
    model = keras.Model(x, keras.layers.Dense(1, name="out")(y))
    extractor = feature_extractor(model)
    assert list(extractor.output) == ["shared", "inner", "inner/dense", "mid", "shared:1", "out"]
    data = _x()
    got = extractor.predict(data, verbose=0)
    np.testing.assert_allclose(got["out"], model.predict(data, verbose=0), rtol=1e-5)
    np.testing.assert_allclose(got["inner/dense"], got["inner"], rtol=1e-6)
    extractor.save(tmp_path / "fx.keras")
    again = keras.saving.load_model(tmp_path / "fx.keras").predict(data, verbose=0)
    for path, value in got.items():
        np.testing.assert_allclose(again[path], value, rtol=1e-5, atol=1e-6)


def test_selection_by_list_regex_and_nested_false():
    outer, *_ = _nested()
    assert list(feature_extractor(outer, ["head", "backbone/hidden"]).output) == [
        "backbone/hidden",
        "head",
    ]
    assert list(feature_extractor(outer, r"^backbone/deep").output) == [
        "backbone/deep",
        "backbone/deep/dense",
    ]
    assert list(feature_extractor(outer, "dense").output) == ["backbone/deep/dense"]
    assert list(feature_extractor(outer, nested=False).output) == ["backbone", "head"]


def test_paths_into_a_kfx_resnet():
    backbone = models.resnet18((32, 32, 3), 10)
    x = keras.Input((32, 32, 3))
    outer = keras.Model(x, keras.layers.Dense(2, name="head")(backbone(x)))
    extractor = feature_extractor(outer, "conv2_block1_out$", name="fx")
    assert list(extractor.output) == ["resnet18/conv2_block1_out"]
    info = feature_info(extractor)
    assert info[0]["shape"] == (None, 8, 8, 64) and info[0]["class_name"] == "Activation"
    # Only what the feature needs is computed: stem and first block, not the whole network.
    assert 0 < len(extractor.weights) < len(backbone.weights) / 3


def test_only_the_needed_part_of_a_nested_model_is_computed():
    outer, backbone, deep = _nested()
    extractor = feature_extractor(outer, ["backbone/deep/dense"])
    assert [layer.name for layer in extractor.layers] == ["x", "backbone"]
    assert {id(w) for w in extractor.weights} == {id(w) for w in deep.weights}
    x = _x()
    np.testing.assert_allclose(
        extractor.predict(x, verbose=0)["backbone/deep/dense"],
        deep.predict(x, verbose=0),
        rtol=1e-5,
    )


def test_shared_layer_gives_one_path_per_call():
    shared = keras.layers.Dense(3, name="shared")
    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    ya, yb = shared(a), shared(b)
    model = keras.Model([a, b], keras.layers.Concatenate(name="cat")([ya, yb]))
    extractor = feature_extractor(model)
    assert list(extractor.output) == ["shared", "shared:1", "cat"]
    assert extractor.output["shared:1"] is nodes.output_at(shared, 1)
    xa, xb = _x(), _x() + 1
    got = extractor.predict([xa, xb], verbose=0)
    np.testing.assert_allclose(got["shared:1"], shared(xb), rtol=1e-5, atol=1e-6)


def test_nested_model_called_twice_siamese():
    enc_in = keras.Input((4,))
    encoder = keras.Model(enc_in, keras.layers.Dense(3, name="dense")(enc_in), name="enc")
    model = siamese(encoder, (4,), merge="concat", name="pair")
    extractor = feature_extractor(model, "enc")
    assert list(extractor.output) == ["enc", "enc/dense", "enc:1", "enc:1/dense"]
    xa, xb = _x(), _x() + 1
    got = extractor.predict([xa, xb], verbose=0)
    np.testing.assert_allclose(got["enc/dense"], encoder.predict(xa, verbose=0), rtol=1e-5)
    np.testing.assert_allclose(got["enc:1/dense"], encoder.predict(xb, verbose=0), rtol=1e-5)


def test_layer_with_several_outputs():
    x = keras.Input((5, 2))
    seq, h, c = keras.layers.LSTM(3, return_state=True, name="lstm")(x)
    model = keras.Model(x, keras.layers.Add(name="add")([seq, h, c]))
    assert list(feature_extractor(model).output) == ["lstm[0]", "lstm[1]", "lstm[2]", "add"]


def test_sequential_model():
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, name="d1"), keras.layers.Dense(1, name="d2")]
    )
    extractor = feature_extractor(model)
    assert list(extractor.output) == ["d1", "d2"]
    assert extractor.predict(_x(), verbose=0)["d2"].shape == (3, 1)


def test_feature_info_before_and_after_reload(tmp_path):
    outer, *_ = _nested()
    extractor = feature_extractor(outer, name="fx")
    expected = [
        ("backbone", (None, 5), "Functional"),
        ("backbone/deep", (None, 4), "Functional"),
        ("backbone/deep/dense", (None, 4), "Dense"),
        ("backbone/hidden", (None, 6), "Dense"),
        ("backbone/features", (None, 5), "Dense"),
        ("head", (None, 2), "Dense"),
    ]
    info = feature_info(extractor)
    assert [(i["name"], i["shape"], i["class_name"]) for i in info] == expected
    assert all(i["dtype"] == "float32" for i in info)
    extractor.save(tmp_path / "fx.keras")
    loaded = keras.saving.load_model(tmp_path / "fx.keras")
    assert feature_info(loaded) == info
    x = _x()
    got, again = extractor.predict(x, verbose=0), loaded.predict(x, verbose=0)
    for path in got:
        np.testing.assert_allclose(again[path], got[path], rtol=1e-6, atol=1e-6)


def test_name_matching_nothing_lists_the_paths():
    outer, *_ = _nested()
    with pytest.raises(ValueError, match=r"'hidden', which matches no layer path") as info:
        feature_extractor(outer, ["head", "hidden"])
    assert "'backbone/hidden'" in str(info.value) and "'head'" in str(info.value)
    with pytest.raises(ValueError, match=r"nested=False"):
        feature_extractor(outer, ["backbone/hidden"], nested=False)


def test_regex_matching_nothing_and_bad_regex():
    outer, *_ = _nested()
    with pytest.raises(ValueError, match=r"`layers` got 'conv'.*'backbone/deep/dense'"):
        feature_extractor(outer, "conv")
    with pytest.raises(ValueError, match=r"valid regex"):
        feature_extractor(outer, "(unclosed")


@pytest.mark.parametrize("layers", [[], [3], None])
def test_bad_layers_argument(layers):
    with pytest.raises(ValueError, match="feature_extractor: argument `layers`"):
        feature_extractor(_vgg_like(), layers)


def test_model_without_graph_and_feature_info_of_other_models():
    with pytest.raises(ValueError, match="feature_extractor: argument `model`"):
        feature_extractor(keras.layers.Dense(2))
    with pytest.raises(ValueError, match="feature_info: argument `extractor`"):
        feature_info(_vgg_like())
