"""A finished search's HParams dashboard as a person sees it: TensorBoard on 127.0.0.1 over
the search's `log_dir`, its table view read in headless Chromium (tests/_browser.py).

The test also saves the screenshot that docs/tuning.md shows when the file is missing or
``KFX_REDRAW_FIGURES=1`` is set.
"""

import contextlib
import io

import keras
import numpy as np
import pytest

from kfx.tuning import MedianPruner, hparams, search

EPOCHS = 3
#: The dashboard's statuses (its "Status" filter) of a completed and a pruned trial.
COMPLETED, PRUNED = "Success", "Unknown"

#: Every table row, top to bottom, as ``{column header: text shown}``. The table is a
#: vaadin-grid: its cells are slots in its shadow root, filled with light-DOM elements.
_TABLE_ROWS = """
const grid = arguments[0];
const texts = (tr) => [...tr.querySelectorAll("th, td")].map((cell) => {
  const slot = cell.querySelector("slot");
  return (slot ? slot.assignedElements() : []).map((n) => n.innerText.trim()).join(" ");
});
const header = texts(grid.shadowRoot.querySelector("thead tr"));
return [...grid.shadowRoot.querySelectorAll("tbody#items tr")]
  .filter((tr) => !tr.hidden && tr.offsetHeight > 0)
  .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
  .map((tr) => Object.fromEntries(texts(tr).slice(0, header.length).map((t, i) => [header[i], t])));
"""


def _build(hp):
    keras.utils.set_random_seed(0)  # the same weights for the same values
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(hp.Choice("units", [4, 8]), activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    # 1e-7 cannot learn in 3 epochs: those trials lose to the median and are pruned.
    model.compile(
        keras.optimizers.Adam(hp.Choice("learning_rate", [0.05, 1e-7])),
        "mse",
        metrics=["mae"],
        run_eagerly=True,  # a few steps a trial: faster than tracing them
    )
    return model


@pytest.fixture
def finished_search(tmp_path):
    """The HParams sessions of a 4-trial grid search where the two 1e-7 trials are pruned."""
    x = np.random.default_rng(0).random((64, 4)).astype("float32")
    y = x @ np.array([1.0, -2.0, 0.5, 3.0], "float32")
    log_dir = tmp_path / "hparams"
    with contextlib.redirect_stdout(io.StringIO()):
        search(
            _build,
            x,
            y,
            validation_data=(x, y),
            tuner="grid",
            epochs=EPOCHS,
            batch_size=16,
            directory=tmp_path / "project",
            log_dir=log_dir,
            pruner=MedianPruner(warmup_epochs=1, min_trials=1),
        )
    sessions = hparams.read_sessions(log_dir)
    assert sorted(s["status"] for s in sessions.values()) == ["pruned"] * 2 + ["success"] * 2
    return log_dir, sessions


class HParamsTable:
    """The HPARAMS tab's table view and its status filter, read as rendered."""

    def __init__(self, browser, url: str):
        self.browser = browser
        browser.get(url + "/#hparams")
        self.grid = browser.wait(
            lambda: browser.deep("vaadin-grid#sessionGroupsTable"), "the HParams table"
        )[0]

    def rows(self) -> list[dict[str, str]]:
        return self.browser.script(_TABLE_ROWS, self.grid)

    def wait_for_trials(self, names: set[str]) -> list[dict[str, str]]:
        """The rows, once their "Trial ID" cells name exactly the trials `names` (first words)."""

        def shown():
            rows = self.rows()
            return rows if {r["Trial ID"].split()[0] for r in rows} == names else None

        return self.browser.wait(shown, f"the rows of {sorted(names)}")

    def toggle_status(self, status: str) -> None:
        """Click the status's checkbox in the filter pane ("Success", "Unknown", ...)."""
        pane = self.browser.deep("tf-hparams-query-pane")[0]
        boxes = {
            self.browser.script("return arguments[0].innerText", box).strip(): box
            for box in self.browser.deep("paper-checkbox", pane)
        }
        self.browser.click(boxes[status])


def _shown(number: str) -> float:
    return float(number)  # the table shows 5 significant digits: "0.050000", "1.0000e-7"


@pytest.mark.slow
def test_the_table_shows_every_trial_with_its_values_and_status(
    finished_search, tensorboard_server, browser
):
    log_dir, sessions = finished_search
    server = tensorboard_server(log_dir)
    server.poll_json("/data/runs", lambda runs: set(sessions) <= set(runs))
    table = HParamsTable(browser, server.url)

    rows = table.wait_for_trials(set(sessions))
    by_trial = {row["Trial ID"].split()[0]: row for row in rows}
    for run, session in sessions.items():
        row = by_trial[run]
        # The first column is the session group: a pruned trial's says so.
        assert row["Trial ID"] == session["group"]
        assert ("(pruned after epoch 2)" in row["Trial ID"]) == (session["status"] == "pruned")
        for name, value in [*session["hparams"].items(), *session["metrics"].items()]:
            assert _shown(row[name]) == pytest.approx(value, rel=1e-4), (run, name)
    assert set(rows[0]) >= {"learning_rate", "units", "loss", "mae", "val_loss", "val_mae"}
    browser.screenshot("dashboard_hparams_table.png")

    # The status filter: without "Success" only the pruned trials are left, and back.
    pruned = {run for run, s in sessions.items() if s["status"] == "pruned"}
    table.toggle_status(COMPLETED)
    table.wait_for_trials(pruned)
    table.toggle_status(COMPLETED)
    table.toggle_status(PRUNED)
    table.wait_for_trials(set(sessions) - pruned)
