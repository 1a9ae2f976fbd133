import copy
import os
import warnings

import keras
import numpy as np
import pytest
from tensorboard.backend.event_processing.plugin_event_accumulator import EventAccumulator
from tensorboard.util import tensor_util

from kfx.callbacks import ActivationLogger
from kfx.templates import NotAGraphModelError, feature_extractor

PATHS = ["conv1", "pool", "conv2", "gap", "probs"]


def read_run(folder):
    acc = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    acc.Reload()
    return {
        tag: {e.step: tensor_util.make_ndarray(e.tensor_proto) for e in acc.Tensors(tag)}
        for tag in acc.Tags()["tensors"]
    }


def test_tensorboard_and_npz_agree_with_a_direct_predict(tmp_path, small_cnn, image_data):
    x, y = image_data()
    model = small_cnn()
    logger = ActivationLogger(
        x, log_dir=tmp_path / "tb", npz_dir=tmp_path / "npz", max_samples=3, images=True
    )
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[logger])

    files = sorted(os.listdir(tmp_path / "npz"))
    assert files == ["activations_epoch_0001.npz", "activations_epoch_0002.npz"]
    saved = np.load(tmp_path / "npz" / files[-1])
    assert list(saved) == PATHS
    expected = feature_extractor(model).predict(x[:3], verbose=0)
    for path in PATHS:
        assert saved[path].shape == (3, *model.get_layer(path).output.shape[1:])
        np.testing.assert_allclose(saved[path], expected[path], rtol=1e-5, atol=1e-6)

    run = read_run(tmp_path / "tb" / "activations")
    for path in PATHS:
        histogram = run[f"{path}/activations"]
        assert sorted(histogram) == [0, 1]  # one per logged epoch, step = 0-based epoch
        buckets = histogram[1]
        assert buckets.shape == (30, 3)
        assert buckets[:, 2].sum() == saved[path].size
        assert buckets[0, 0] == pytest.approx(saved[path].min(), abs=1e-5)
        assert buckets[-1, 1] == pytest.approx(saved[path].max(), abs=1e-5)
        assert float(run[f"{path}/activation_mean"][1]) == pytest.approx(
            saved[path].mean(), rel=1e-4, abs=1e-6
        )
        assert float(run[f"{path}/activation_std"][1]) == pytest.approx(
            saved[path].std(), rel=1e-3, abs=1e-6
        )
        zeros = float(run[f"{path}/activation_zero_fraction"][1])
        assert zeros == pytest.approx(np.mean(saved[path] == 0))
    image = run["conv1/feature_maps"][1]
    assert image[2][:8] == b"\x89PNG\r\n\x1a\n"
    assert "gap/feature_maps" not in run  # only 2D feature maps become images


def test_every_n_epochs_and_nothing_in_between(tmp_path, small_cnn, image_data):
    x, y = image_data()
    logger = ActivationLogger(x, npz_dir=tmp_path, every_n_epochs=2)
    small_cnn().fit(x, y, epochs=3, verbose=0, callbacks=[logger])
    assert sorted(os.listdir(tmp_path)) == ["activations_epoch_0002.npz"]


def test_layer_selection_by_list_and_regex(tmp_path, small_cnn, image_data):
    x, y = image_data()
    for layers, expected in (
        (["conv2", "probs"], ["conv2", "probs"]),
        ("^conv", ["conv1", "conv2"]),
    ):
        logger = ActivationLogger(
            x, npz_dir=tmp_path / str(len(expected)) / layers[0], layers=layers
        )
        small_cnn().fit(x, y, epochs=1, verbose=0, callbacks=[logger])
        assert list(np.load(logger.npz_files[0])) == expected


def test_unknown_layer_is_named_at_train_begin(tmp_path, small_cnn, image_data):
    x, y = image_data()
    logger = ActivationLogger(x, npz_dir=tmp_path, layers=["conv9"])
    with pytest.raises(ValueError, match=r"ActivationLogger.*'conv9'.*'conv1'"):
        small_cnn().fit(x, y, epochs=1, verbose=0, callbacks=[logger])


def test_multi_io_nested_and_shared_layers(tmp_path):
    inner_in = keras.Input((4,))
    encoder = keras.Model(inner_in, keras.layers.Dense(3, name="dense")(inner_in), name="encoder")
    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    shared = keras.layers.Dense(4, activation="relu", name="shared")
    merged = keras.layers.Concatenate(name="merge")([encoder(shared(a)), shared(b)])
    model = keras.Model(
        {"a": a, "b": b},
        {
            "score": keras.layers.Dense(1, name="score")(merged),
            "kind": keras.layers.Dense(2, name="kind")(merged),
        },
    )
    model.compile("adam", {"score": "mse", "kind": "mse"})
    rng = np.random.default_rng(0)
    x = {"a": rng.random((16, 4), dtype=np.float32), "b": rng.random((16, 4), dtype=np.float32)}
    y = {"score": np.zeros((16, 1)), "kind": np.zeros((16, 2))}
    logger = ActivationLogger((x, y), npz_dir=tmp_path, max_samples=2)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[logger])
    saved = np.load(logger.npz_files[0])
    assert set(saved) == {
        "shared",
        "shared:1",
        "encoder",
        "encoder/dense",
        "merge",
        "score",
        "kind",
    }
    np.testing.assert_allclose(saved["shared:1"], model.get_layer("shared")(x["b"][:2]), rtol=1e-5)
    np.testing.assert_allclose(
        saved["encoder/dense"], encoder(model.get_layer("shared")(x["a"][:2])), rtol=1e-5
    )


def test_sequential_and_dataset_read_once(tmp_path, image_data):
    tf = pytest.importorskip("tensorflow")
    x, y = image_data(10)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Flatten(name="flat"),
            keras.layers.Dense(2, name="out"),
        ]
    )
    model.compile("sgd", "mse")
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(2)
    logger = ActivationLogger(dataset, npz_dir=tmp_path, max_samples=5)
    assert isinstance(logger.x, np.ndarray) and logger.x.shape == (5, 8, 8, 1)
    np.testing.assert_array_equal(logger.x, x[:5])
    model.fit(x, np.zeros((10, 2)), epochs=1, verbose=0, callbacks=[logger])
    assert list(np.load(logger.npz_files[0])) == ["flat", "out"]


def test_subclassed_model_gets_a_clear_error(tmp_path):
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

    model = Net()
    model.compile("sgd", "mse")
    logger = ActivationLogger(np.zeros((4, 2)), npz_dir=tmp_path)
    with pytest.raises(
        ValueError, match="ActivationLogger.*without a functional graph.*Sequential"
    ) as info:
        model.fit(np.zeros((4, 2)), np.zeros(4), epochs=1, verbose=0, callbacks=[logger])
    assert isinstance(info.value, NotAGraphModelError)  # a type to catch, not words to match


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_samples": 0}, "max_samples"),
        ({"every_n_epochs": -1}, "every_n_epochs"),
        ({"max_npz_mb": 0}, "max_npz_mb"),
        ({"npz_dir": None}, "at least one folder"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=f"ActivationLogger.*{match}"):
        ActivationLogger(np.zeros((2, 3)), **{"npz_dir": tmp_path, **kwargs})


def test_bad_data():
    with pytest.raises(ValueError, match="ActivationLogger.*data.*tuple of 4"):
        ActivationLogger((1, 2, 3, 4), npz_dir="x")
    with pytest.raises(ValueError, match="ActivationLogger.*data.*shape"):
        ActivationLogger(np.float32(3.0), npz_dir="x")


def test_unwritable_log_dir_warns_and_training_goes_on(tmp_path, small_cnn, image_data):
    x, y = image_data()
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    logger = ActivationLogger(x, log_dir=blocker / "tb", npz_dir=tmp_path / "npz")
    with pytest.warns(RuntimeWarning, match="cannot create TensorBoard folder.*training goes on"):
        history = small_cnn().fit(x, y, epochs=2, verbose=0, callbacks=[logger])
    assert len(history.history["loss"]) == 2
    assert len(logger.npz_files) == 2


def test_vanished_folder_warns_once_and_is_not_recreated(tmp_path, small_cnn, image_data):
    x, y = image_data()
    npz_dir = tmp_path / "npz"
    logger = ActivationLogger(x, npz_dir=npz_dir)

    class Remove(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                for f in npz_dir.iterdir():
                    f.unlink()
                npz_dir.rmdir()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = small_cnn().fit(x, y, epochs=3, verbose=0, callbacks=[Remove(), logger])
    messages = [str(w.message) for w in caught if "vanished" in str(w.message)]
    assert len(messages) == 1 and len(history.history["loss"]) == 3
    assert not npz_dir.exists()


def test_size_cap_stops_npz_with_one_warning(tmp_path, small_cnn, image_data):
    x, y = image_data()
    logger = ActivationLogger(x, npz_dir=tmp_path, max_samples=4, max_npz_mb=0.01)  # 6.8 kB a file
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        small_cnn().fit(x, y, epochs=4, verbose=0, callbacks=[logger])
    assert [str(w.message) for w in caught if "max_npz_mb" in str(w.message)] != []
    assert len([w for w in caught if "max_npz_mb" in str(w.message)]) == 1
    assert sorted(os.listdir(tmp_path)) == ["activations_epoch_0001.npz"]
    assert logger.npz_bytes <= 0.01 * 2**20


def test_full_disk_leaves_no_partial_file(fresh_python, tmp_path):
    # A file-size limit makes every write past 4 kB fail as on a full disk (EFBIG).
    out = fresh_python(
        f"""
        import os, resource, signal, warnings
        import numpy as np, keras
        from kfx.callbacks import ActivationLogger
        x = np.random.default_rng(0).random((4, 64), dtype="float32")
        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(256, name="wide")])
        model.compile("sgd", "mse")
        logger = ActivationLogger(x, npz_dir={str(tmp_path)!r}, max_samples=4)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = model.fit(x, np.zeros((4, 256)), epochs=2, verbose=0, callbacks=[logger])
        print(len(history.history["loss"]), sorted(os.listdir({str(tmp_path)!r})))
        print([str(w.message) for w in caught if "could not write" in str(w.message)])
        """
    )
    epochs, files = out.splitlines()[0].split(" ", 1)
    assert epochs == "2" and files == "[]"
    assert "could not write" in out and "training goes on" in out


def test_deep_copy_keeps_settings_and_data_not_the_model(tmp_path, small_cnn, image_data):
    x, y = image_data()
    logger = ActivationLogger(x, npz_dir=tmp_path / "a", max_samples=2)
    small_cnn().fit(x, y, epochs=1, verbose=0, callbacks=[logger])
    clone = copy.deepcopy(logger)
    assert clone.model is None and clone.max_samples == 2
    np.testing.assert_array_equal(clone.x, logger.x)
    clone.npz_dir = tmp_path / "b"
    clone.npz_files = []
    small_cnn("other").fit(x, y, epochs=1, verbose=0, callbacks=[clone])
    assert [p.name for p in clone.npz_files] == ["activations_epoch_0001.npz"]


def test_only_the_chief_writes(tmp_path, monkeypatch, small_cnn, image_data):
    x, y = image_data()
    monkeypatch.setenv(
        "TF_CONFIG",
        '{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}',
    )
    logger = ActivationLogger(x, npz_dir=tmp_path)
    small_cnn().fit(x, y, epochs=1, verbose=0, callbacks=[logger])
    assert os.listdir(tmp_path) == []
    monkeypatch.setenv(
        "TF_CONFIG",
        '{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 0}}',
    )
    small_cnn().fit(x, y, epochs=1, verbose=0, callbacks=[logger])
    assert os.listdir(tmp_path) == ["activations_epoch_0001.npz"]


def test_loggers_need_no_tensorflow_on_jax(fresh_python, tmp_path):
    if keras.backend.backend() != "jax":
        pytest.skip("TensorFlow is the backend itself here")
    out = fresh_python(
        f"""
        import sys
        sys.modules["tensorflow"] = None  # any import of TensorFlow fails
        import numpy as np, keras
        from kfx.callbacks import ActivationLogger, GradientLogger
        x = np.random.default_rng(0).random((16, 4), dtype="float32")
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="hidden")])
        model.compile("sgd", "mse")
        logs = {str(tmp_path)!r}
        model.fit(x, x[:, :3], epochs=2, verbose=0,
                  callbacks=[ActivationLogger(x, log_dir=logs), GradientLogger((x, x[:, :3]), log_dir=logs)])
        import os
        print(sorted(os.listdir(logs)), len(os.listdir(logs + "/activations")))
        """
    )
    assert out.strip() == "['activations', 'gradients'] 2"
