"""Every registered network builds, predicts probabilities and reloads (timm-style)."""

import numpy as np
import pytest

from kfx import models


@pytest.mark.parametrize("name", models.list_models())
def test_registered_model_predicts_probabilities(name):
    model = models.create_model(name, input_shape=(32, 32, 3), num_classes=5)
    out = model.predict(np.random.default_rng(0).random((2, 32, 32, 3), "float32"), verbose=0)
    assert out.shape == (2, 5)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_unknown_model_lists_known_ones():
    with pytest.raises(ValueError, match="create_model: argument `name` got 'resnet9'.*resnet18"):
        models.create_model("resnet9", (32, 32, 3), 10)


def test_models_reload_in_fresh_process_without_kfx(tmp_path, fresh_python):
    data = np.random.default_rng(1).random((2, 32, 32, 3), "float32")
    np.save(tmp_path / "x.npy", data)
    for name in models.list_models():
        if name in ("resnet50", "resnet101", "resnet34"):
            continue  # same blocks as resnet18/inception/xception; keeps the test fast
        model = models.create_model(name, (32, 32, 3), 4)
        model.save(tmp_path / f"{name}.keras")
        np.save(tmp_path / f"{name}.npy", model.predict(data, verbose=0))
    fresh_python(
        f"""
        import glob, keras, numpy as np
        x = np.load({str(tmp_path / "x.npy")!r})
        for path in glob.glob({str(tmp_path)!r} + "/*.keras"):
            got = keras.saving.load_model(path, safe_mode=True).predict(x, verbose=0)
            np.testing.assert_allclose(got, np.load(path[:-6] + ".npy"), rtol=1e-5, atol=1e-6)
            print("ok", path)
        """,
        without_kfx=True,
    )
