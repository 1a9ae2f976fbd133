"""kfx.callbacks.TimeStopping: real training stops once the time budget is spent."""

import time

import keras
import pytest

from kfx.callbacks import TimeStopping


def test_time_stopping_ends_training_within_the_epoch(linear_data, linear_model):
    x, y = linear_data()
    stopper = TimeStopping(0)
    history = linear_model().fit(x, y, batch_size=8, epochs=30, verbose=0, callbacks=[stopper])
    assert len(history.history["loss"]) == 1 and stopper.stopped_epoch == 0
    generous = TimeStopping(600)
    history = linear_model().fit(x, y, epochs=3, verbose=0, callbacks=[generous])
    assert len(history.history["loss"]) == 3 and generous.stopped_epoch == -1
    with pytest.raises(ValueError, match="TimeStopping.*seconds.*-1"):
        TimeStopping(-1)


class SlowEpoch(keras.callbacks.Callback):
    """Makes epoch `epoch` last `seconds` longer, so a budget is crossed in a known epoch."""

    def __init__(self, epoch, seconds):
        super().__init__()
        self.epoch, self.seconds = epoch, seconds

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            time.sleep(self.seconds)


def test_budget_crossed_in_a_later_epoch_stops_there_and_the_next_fit_starts_afresh(
    capsys, linear_data, linear_model
):
    x, y = linear_data()
    # 4 s is far more than two epochs of this model take (compilation included); the pause
    # after the second epoch crosses it.
    stopper = TimeStopping(4, verbose=1)
    trained = linear_model()
    history = trained.fit(x, y, epochs=50, verbose=0, callbacks=[SlowEpoch(1, 4.2), stopper])
    assert len(history.history["loss"]) == 2 and stopper.stopped_epoch == 1
    assert "4 s budget spent, training stopped in epoch 2" in capsys.readouterr().out
    # The budget counts from the start of each fit.
    history = trained.fit(x, y, epochs=2, verbose=0, callbacks=[stopper])
    assert len(history.history["loss"]) == 2 and stopper.stopped_epoch == -1


@pytest.mark.parametrize("seconds", [-1, -0.5, True, "60", None, [1]])
def test_bad_seconds(seconds):
    with pytest.raises(
        ValueError,
        match=r"TimeStopping: argument `seconds` got .*; expected a number of seconds >= 0",
    ):
        TimeStopping(seconds)


def test_config_round_trip():
    stopper = TimeStopping(12.5, verbose=1)
    assert TimeStopping(**stopper.get_config()).get_config() == {"seconds": 12.5, "verbose": 1}
