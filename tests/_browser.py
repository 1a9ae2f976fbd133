"""Headless Chromium, driven with selenium, for the tests of the dashboards as a person sees them.

The `browser` fixture of tests/conftest.py gives a :class:`Browser`; it skips the test with
the reason where Chromium, chromedriver or selenium is missing (``make browser`` installs
Debian's ``chromium`` and ``chromium-driver`` as root) and always quits the browser after.

TensorBoard's dashboards are web components whose content sits in shadow roots, out of reach
of ``find_element``; :meth:`Browser.deep` finds elements through every shadow root, and
:meth:`Browser.wait` polls a condition instead of sleeping.

Screenshots for the docs go to docs/img/ only when the file is missing or
``KFX_REDRAW_FIGURES=1`` is set, so running the tests changes no committed file.

Example (by hand; the tests use the fixture):
    >>> with open_browser() as browser:  # doctest: +SKIP
    ...     browser.get("http://127.0.0.1:6006/#hparams")
    ...     browser.wait(lambda: browser.texts("vaadin-grid-cell-content"), "the table")
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from kfx import _io

#: Where each program is looked for, first hit wins (Debian's paths, then PATH).
CHROMIUM = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
CHROMEDRIVER = ("/usr/bin/chromedriver", "chromedriver")
#: Seconds a page gets to load, and a :meth:`Browser.wait` to come true by default.
PAGE_LOAD_SECONDS = 30
WAIT_SECONDS = 45
#: The window, in CSS pixels: wide enough for the HParams table's columns.
WINDOW = (1600, 900)
#: The docs' figures, and the variable that asks for the screenshots to be taken again.
IMG = Path(__file__).parent.parent / "docs" / "img"
REDRAW = "KFX_REDRAW_FIGURES"

T = TypeVar("T")

#: Every element matching a CSS selector in the document and in every shadow root below it.
_DEEP_QUERY = """
const found = [];
const visit = (root) => {
  found.push(...root.querySelectorAll(arguments[0]));
  for (const el of root.querySelectorAll("*")) if (el.shadowRoot) visit(el.shadowRoot);
};
visit(arguments[1] ? arguments[1].shadowRoot || arguments[1] : document);
return found;
"""


class Unavailable(Exception):
    """No headless Chromium here; the message says what is missing."""


def find_programs() -> tuple[str, str]:
    """``(chromium, chromedriver)`` paths, or Unavailable naming the missing piece."""
    try:
        import selenium  # noqa: F401
    except ImportError as err:
        raise Unavailable("selenium is not installed (pip install selenium)") from err
    found = []
    for names, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        path = next(filter(None, map(shutil.which, names)), None)
        if path is None:
            raise Unavailable(
                f"none of {', '.join(names)} is installed (make browser, or apt-get install "
                f"{package})"
            )
        found.append(path)
    return found[0], found[1]


class Browser:
    """A headless Chromium window with shadow-piercing queries and waits."""

    def __init__(self, driver):
        self.driver = driver

    def get(self, url: str) -> None:
        self.driver.get(url)

    def deep(self, css: str, within=None) -> list:
        """Elements matching `css` anywhere, shadow roots included (below `within` if given)."""
        return self.driver.execute_script(_DEEP_QUERY, css, within)

    def texts(self, css: str, within=None) -> list[str]:
        """The rendered text (``innerText``, stripped) of each element :meth:`deep` finds."""
        return [
            self.driver.execute_script("return arguments[0].innerText", el).strip()
            for el in self.deep(css, within)
        ]

    def click(self, element) -> None:
        """Scroll `element` to the middle of its scroll container, then click it."""
        self.script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def script(self, code: str, *args) -> Any:
        return self.driver.execute_script(code, *args)

    def wait(self, condition: Callable[[], T], what: str, timeout: float = WAIT_SECONDS) -> T:
        """Poll `condition` until it returns something true and return that; after `timeout`
        seconds fail, naming `what` was awaited, the page and what `condition` returned last."""
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        seen = []

        def check(_):
            seen[:] = [condition()]
            return seen[0]

        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.25).until(check)
        except TimeoutException:
            raise AssertionError(
                f"{what}: not seen within {timeout} s on {self.driver.current_url} "
                f"(last seen: {seen[0] if seen else None!r:.1000})"
            ) from None

    def screenshot(self, name: str) -> Path | None:
        """Save the window as docs/img/`name` when the file is missing or ``REDRAW=1``.

        Returns:
            The file written, or None when it was kept.
        """
        path = IMG / name
        if path.exists() and os.environ.get(REDRAW) != "1":
            return None
        return _io.write_bytes(path, self.driver.get_screenshot_as_png())


@contextlib.contextmanager
def open_browser(window: tuple[int, int] = WINDOW) -> Iterator[Browser]:
    """A headless Chromium, quit on leaving the block whatever happened in it."""
    chromium, chromedriver = find_programs()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",  # root in a container has no user namespace for the sandbox
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={window[0]},{window[1]}",
        "--hide-scrollbars",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    try:
        driver.set_page_load_timeout(PAGE_LOAD_SECONDS)
        yield Browser(driver)
    finally:
        driver.quit()
