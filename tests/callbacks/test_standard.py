import csv

import keras
import pytest

from kfx.callbacks import standard


def test_standard_writes_checkpoint_history_and_tensorboard(tmp_path, linear_data, linear_model):
    x, y = linear_data()
    callbacks = standard(tmp_path, patience=3)
    names = [type(c).__name__ for c in callbacks]
    assert names[:4] == ["ModelCheckpoint", "EarlyStopping", "ReduceLROnPlateau", "CSVLogger"]
    trained = linear_model()
    trained.fit(x, y, validation_split=0.25, epochs=4, verbose=0, callbacks=callbacks)
    best = keras.saving.load_model(tmp_path / "best.keras")
    assert best.evaluate(x, y, verbose=0) == pytest.approx(
        trained.evaluate(x, y, verbose=0), rel=1e-5
    )
    with open(tmp_path / "history.csv") as file:
        rows = list(csv.DictReader(file))
    assert [r["epoch"] for r in rows] == ["0", "1", "2", "3"] and "val_loss" in rows[0]
    if "TensorBoard" in names:
        assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["train", "validation"]


def test_early_stopping_and_lr_reduction_act(tmp_path, linear_data, linear_model):
    x, y = linear_data()
    trained = linear_model(learning_rate=0.01)
    callbacks = standard(tmp_path, patience=2, min_delta=10.0, tensorboard=False)  # no gain counts
    history = trained.fit(x, y, validation_split=0.25, epochs=20, verbose=0, callbacks=callbacks)
    assert len(history.history["loss"]) == 3  # the first epoch, then `patience` without gain
    rates = [float(r) for r in history.history["learning_rate"]]
    assert rates[0] == pytest.approx(0.01, rel=1e-6) and rates[-1] == pytest.approx(0.005, rel=1e-6)


def test_standard_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="standard.*mode.*'up'"):
        standard(tmp_path, mode="up")
    with pytest.raises(ValueError, match="standard.*patience"):
        standard(tmp_path, patience=0)
    with pytest.raises(ValueError, match="standard.*lr_factor"):
        standard(tmp_path, lr_factor=2)
    with pytest.raises(ValueError, match="standard.*monitor"):
        standard(tmp_path, monitor="")
