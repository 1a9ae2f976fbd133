"""Every template saves to .keras and reloads, with kfx absent and safe_mode on, predicting the same.

All models go through one fresh interpreter: each costs seconds of TensorFlow import.
"""

import pickle

import keras
import numpy as np

from kfx import blocks
from kfx.templates import (
    Head,
    autoencoder,
    ensemble,
    feature_extractor,
    multi_io,
    siamese,
    time_distributed,
)

RNG = np.random.default_rng(0)


def _data(model):
    def sample(t):
        shape = tuple(3 if d is None else d for d in (3, *tuple(t.shape)[1:]))
        if "int" in str(t.dtype):
            return RNG.integers(0, 10, shape).astype(str(t.dtype))
        return RNG.normal(size=shape).astype("float32")

    if isinstance(model.input, dict):
        return {k: sample(t) for k, t in model.input.items()}
    return keras.tree.map_structure(sample, model.input)


def _encoder(name="enc"):
    x = keras.Input((5,))
    return keras.Model(x, keras.layers.Dense(4, activation="tanh", name="dense")(x), name=name)


def _templates():
    models = {}
    tokens = lambda t: keras.layers.LSTM(3)(keras.layers.Embedding(10, 4)(t))  # noqa: E731
    models["multi_io"] = multi_io(
        {
            "title": keras.Input((6,), dtype="int32", name="title"),
            "tags": keras.Input((2, 3), name="tags"),
        },
        [Head("priority", 1), Head("department", 3, "multiclass"), Head("eta", 2, "regression")],
        encoders={"title": tokens},
        trunk=lambda x: blocks.mlp(x, (8,), norm="layer"),
    )
    for merge in ("abs_diff", "concat", "cosine", "l2"):
        head = Head("same", 1) if merge == "abs_diff" else None
        models[f"siamese_{merge}"] = siamese(_encoder(), (5,), merge=merge, head=head)
    models["ensemble_copies"] = ensemble([_encoder("net"), _encoder("net"), _encoder("net")])
    twice = _encoder("net")
    models["ensemble_same_object"] = ensemble([twice, twice, _encoder("net")], mode="concat")
    z = keras.Input((4,))
    decoder = keras.Model(z, keras.layers.Dense(5)(z), name="enc")  # same name as the encoder
    models["autoencoder"] = autoencoder(_encoder(), decoder)

    inner = _encoder("inner")
    b_in = keras.Input((5,))
    backbone = keras.Model(b_in, keras.layers.Dense(3, name="top")(inner(b_in)), name="backbone")
    x = keras.Input((5,), name="x")
    outer = keras.Model(x, keras.layers.Dense(2, name="head")(backbone(x)), name="outer")
    models["feature_extractor"] = feature_extractor(outer)
    models["feature_extractor_siamese"] = feature_extractor(siamese(_encoder(), (5,)), "enc")

    frame = keras.Input((6, 6, 2))
    vision = keras.Model(
        frame, keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(frame))
    )
    models["video_lstm"] = time_distributed(vision)
    models["video_mean"] = time_distributed(
        vision, frames=3, pool="mean", head=Head("y", 2, "multilabel")
    )
    return models


def _flat(prediction):
    if isinstance(prediction, dict):
        return {k: np.asarray(v) for k, v in prediction.items()}
    if isinstance(prediction, (list, tuple)):
        return {str(i): np.asarray(v) for i, v in enumerate(prediction)}
    return {"": np.asarray(prediction)}


def test_every_template_reloads_without_kfx(tmp_path, fresh_python):
    cases = {}
    for name, model in _templates().items():
        assert all(not isinstance(layer, keras.layers.Lambda) for layer in model.layers)
        path = tmp_path / f"{name}.keras"
        model.save(path)
        data = _data(model)
        cases[name] = (
            str(path),
            data,
            _flat(model.predict(data, verbose=0)),
            list(model.output_names),
        )
    with open(tmp_path / "cases.pkl", "wb") as f:
        pickle.dump({k: v[:2] for k, v in cases.items()}, f)
    fresh_python(
        f"""
        import pickle, keras, numpy as np
        with open({str(tmp_path / "cases.pkl")!r}, "rb") as f:
            cases = pickle.load(f)
        got = {{}}
        for name, (path, data) in cases.items():
            model = keras.saving.load_model(path, safe_mode=True)
            got[name] = (model.predict(data, verbose=0), list(model.output_names))
        with open({str(tmp_path / "got.pkl")!r}, "wb") as f:
            pickle.dump(got, f)
        """,
        without_kfx=True,
    )
    with open(tmp_path / "got.pkl", "rb") as f:
        got = pickle.load(f)
    assert sorted(got) == sorted(cases)
    for name, (_, _, expected, output_names) in cases.items():
        prediction, names = got[name]
        assert names == output_names, name
        actual = _flat(prediction)
        assert sorted(actual) == sorted(expected), name
        for key in expected:
            np.testing.assert_allclose(
                actual[key], expected[key], rtol=1e-5, atol=1e-6, err_msg=f"{name} {key}"
            )
