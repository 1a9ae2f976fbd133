"""ActivationLogger's logs as a person sees them: TensorBoard's scalar and histogram
dashboards in headless Chromium (tests/_browser.py), over a real server on 127.0.0.1.

Each test also saves its screenshot for docs/monitoring.md when the file is missing or
``KFX_REDRAW_FIGURES=1`` is set.
"""

import pytest

from kfx.callbacks import ActivationLogger

LAYERS = ("conv1", "conv2", "gap", "pool", "probs")
STATS = ("activation_mean", "activation_std", "activation_zero_fraction")
EPOCHS = 4


@pytest.fixture
def activation_logs(tmp_path, small_cnn, image_data, tensorboard_server):
    """The TensorBoard server over the logs of a short training with an ActivationLogger."""
    x, y = image_data(n=64)
    logs = tmp_path / "runs" / "monitoring"  # the folder docs/monitoring.md uses
    logger = ActivationLogger(x, log_dir=logs, max_samples=16)
    small_cnn().fit(x, y, epochs=EPOCHS, batch_size=16, verbose=0, callbacks=[logger])
    server = tensorboard_server(logs)
    # Every epoch is a file of its own: open the page once the server has read the last.
    last = f"/data/plugin/scalars/scalars?run=activations&tag={LAYERS[-1]}/{STATS[-1]}"
    server.poll_json(last, lambda series: len(series) == EPOCHS)
    return server


def _open_every_layer(browser, url: str) -> None:
    """Open the dashboard at `url` and expand every layer's pane (TensorBoard opens two)."""
    browser.get(url)
    names = browser.wait(lambda: browser.texts("span.category-name"), "the layers' panes")
    assert sorted(names) == sorted(LAYERS)
    panes = browser.deep("tf-category-paginated-view")
    for pane in panes:
        if not browser.script("return arguments[0].opened", pane):
            browser.click(browser.deep("button.heading", pane)[0])
    browser.script("arguments[0].scrollIntoView({block: 'start'})", panes[0])


def _tag(browser, card) -> str:
    """The tag a card's heading shows: its ``tag: <tag>`` line, else its first line."""
    lines = browser.texts("figcaption", card)[0].splitlines()
    return next(
        (line.removeprefix("tag: ") for line in lines if line.startswith("tag: ")), lines[0]
    )


@pytest.mark.slow
def test_the_scalars_dashboard_charts_every_layers_statistics(activation_logs, browser):
    _open_every_layer(browser, activation_logs.url + "/#scalars")

    tags = [f"{layer}/{stat}" for layer in LAYERS for stat in STATS]
    for tag in tags:  # the data behind each chart: every epoch
        activation_logs.poll_json(
            f"/data/plugin/scalars/scalars?run=activations&tag={tag}",
            lambda series: len(series) == EPOCHS,
        )
    seen = {}

    def charted() -> bool:
        """Whether every card shows a line (each card's tag and its line's vertices go in
        `seen`). TensorBoard 2.16 can draw a line with fewer vertices than points (3 of 4
        on two series on the oldest row), so a line counts from 2 vertices up to EPOCHS."""
        seen.clear()
        for card in browser.deep("tf-scalar-card"):
            lines = [
                browser.script("return arguments[0].getAttribute('d') || ''", path)
                for path in browser.deep("path.line", card)
            ]
            points = max((d.count("L") + 1 for d in lines if d.startswith("M")), default=0)
            seen[_tag(browser, card)] = points
        return sorted(seen) == sorted(tags) and all(2 <= n <= EPOCHS for n in seen.values())

    try:
        browser.wait(charted, "a line in the chart of every layer's statistics")
    except AssertionError as error:
        raise AssertionError(f"{error}; charted (tag: vertices): {seen}") from None
    assert max(seen.values()) == EPOCHS
    # Four points a line: scale the charts to all of them, as a person would here.
    line = browser.deep("path.line", browser.deep("tf-scalar-card")[0])[0]
    before = browser.script("return arguments[0].getAttribute('d')", line)
    outliers = {
        text: box
        for box in browser.deep("paper-checkbox")
        if (text := browser.script("return arguments[0].innerText", box).strip())
    }
    browser.click(outliers["Ignore outliers in chart scaling"])
    browser.wait(
        lambda: browser.script("return arguments[0].getAttribute('d')", line) != before,
        "the charts rescaled",
    )
    browser.script(
        "arguments[0].scrollIntoView({block: 'start'})",
        browser.deep("tf-category-paginated-view")[0],
    )
    browser.screenshot("dashboard_activation_scalars.png")


@pytest.mark.slow
def test_the_histograms_dashboard_shows_every_layers_activations(activation_logs, browser):
    _open_every_layer(browser, activation_logs.url + "/#histograms")

    def drawn() -> dict[str, int]:
        """Each histogram card's tag and the epochs drawn in it, once all are drawn."""
        cards = {
            _tag(browser, card): len(browser.deep("g.histogram", card))
            for card in browser.deep("tf-histogram-loader")
        }
        return cards if len(cards) == len(LAYERS) and all(cards.values()) else None

    cards = browser.wait(drawn, "a drawn histogram for every layer")
    assert cards == {f"{layer}/activations": EPOCHS for layer in LAYERS}
    browser.screenshot("dashboard_activation_histograms.png")
