"""Browser tests: Playwright driving Debian's Chromium against a live server.

They are mandatory: if Chromium is missing the tests fail (``make test``
installs it), they are never skipped.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1280, "height": 860}


class _Answering:
    """The live server's requests not yet answered to the last byte, so that a test can wait for them.

    A request counts until its body has been sent: werkzeug then waits, before closing the response,
    for whatever the client still sends, which may be until the client goes away."""

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    def counting(self, app):
        def wsgi(environ, start_response):
            self._add(1)
            try:
                body = app(environ, start_response)
            except BaseException:
                self._add(-1)
                raise
            return self._sent(body)

        return wsgi

    def _sent(self, body):
        try:
            yield from body
        finally:
            self._add(-1)
            if hasattr(body, "close"):
                body.close()

    def _add(self, step: int) -> None:
        with self._changed:
            self._count += step
            self._changed.notify_all()

    def wait(self) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: self._count == 0, timeout=10), "the live server is still busy"


ANSWERING = _Answering()


@pytest.fixture(scope="session")
def live_server(app):
    server = make_server("127.0.0.1", 0, ANSWERING.counting(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def chromium() -> Browser:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium is required for the browser tests and was not found at {CHROMIUM}; "
            "run `make browser` (Debian package chromium)."
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ],
        )
        yield browser
        browser.close()


def _is_real_console_error(message) -> bool:
    """Console errors fail a test, except the browser's note on an intended 4xx or 503 answer (e.g. 422)."""
    if message.type != "error":
        return False
    return not re.search(r"the server responded with a status of (4\d\d|503)", message.text)


def _context(chromium: Browser, live_server: str, javascript: bool, viewport: dict) -> BrowserContext:
    context = chromium.new_context(
        base_url=live_server, java_script_enabled=javascript, viewport=viewport, locale="zh-CN"
    )
    context.set_default_timeout(10_000)
    under_way: set = set()
    context.on("request", lambda request: under_way.add(request))
    context.on("requestfinished", lambda request: under_way.discard(request))
    context.on("requestfailed", lambda request: under_way.discard(request))
    _UNDER_WAY[context] = under_way
    return context


# Each open context's requests under way: sent, and not yet answered to the last byte nor failed.
_UNDER_WAY: dict[BrowserContext, set] = {}


def close(context: BrowserContext) -> None:
    """Let the requests the test started finish, close the context, and wait until the server has answered
    whatever reached it: only then may the database be emptied under them. (Waiting for an idle network
    would cost half a second a page.)"""
    under_way = _UNDER_WAY.pop(context)
    with contextlib.suppress(Exception):
        for _ in range(500):
            if not under_way or not context.pages:
                break
            context.pages[0].wait_for_timeout(10)
    context.close()
    ANSWERING.wait()


@pytest.fixture(params=["js", "nojs"])
def page(request, chromium, live_server) -> Page:
    """A phone-sized page, once with JavaScript and once without."""
    context = _context(chromium, live_server, request.param == "js", PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if _is_real_console_error(msg) else None)
    yield page
    close(context)
    assert not errors, f"browser errors: {errors}"


@pytest.fixture
def new_page(chromium, live_server):
    """new_page(javascript=True, viewport=PHONE) → another page, e.g. a second user."""
    contexts: list[BrowserContext] = []

    def _make(javascript: bool = True, viewport: dict | None = None) -> Page:
        context = _context(chromium, live_server, javascript, viewport or PHONE)
        contexts.append(context)
        return context.new_page()

    yield _make
    for context in contexts:
        close(context)


def js_enabled(page: Page) -> bool:
    return page.context._impl_obj._options.get("javaScriptEnabled", True) is not False


def log_in(page: Page, username: str, password: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
