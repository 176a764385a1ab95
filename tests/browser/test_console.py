"""A bounded crawl of the demo city as every demo account, with the Content-Security-Policy enforced:
every page reachable from the menu and the links on those pages, and the htmx interactions on them
(boosted links, filter forms, search boxes, cascading selects, badges that refresh on events).
Any console error, uncaught page error or CSP violation fails the test.

Not followed: logging out (a POST), downloads (XLSX/CSV, ``download`` links) and anything that changes
data (hx-post buttons and forms): the crawl only reads, so every account crawls the same demo city, seeded
once for the module.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from playwright.sync_api import Page

from kmvolunteer import demo
from tests.browser.conftest import DESKTOP, _context, _is_real_console_error, close

ACCOUNTS = [username for username, *_ in demo.DEMO_ACCOUNTS] + [demo.DEMO_MEMBER[0]]
PAGES_PER_ACCOUNT = 24
PAGES_PER_SHAPE = 2  # /org/areas/1 and /org/areas/2 are the same page with other rows
SKIPPED_QUERY = {"format": {"xlsx", "csv"}, "export": {"xlsx", "csv"}}

# Records CSP violations (the console shows them too, but an event cannot be missed), and counts the
# htmx requests under way so that the crawl waits for exactly those instead of for an idle network.
RECORD_VIOLATIONS = """
window.__violations = [];
window.__htmxBusy = 0;
document.addEventListener("htmx:before:request", function () { window.__htmxBusy += 1; });
document.addEventListener("htmx:finally:request", function () { window.__htmxBusy -= 1; });
document.addEventListener("securitypolicyviolation", function (event) {
  window.__violations.push(event.violatedDirective + " " + (event.blockedURI || "inline") + " at "
                           + event.sourceFile + ":" + event.lineNumber);
});
"""


def _followable(url: str, origin: str) -> str | None:
    """The address to visit for a link, or None for links the crawl leaves alone."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != origin or parts.path.startswith("/static/"):
        return None
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(value in SKIPPED_QUERY.get(key, ()) for key, value in query):
        return None
    return parts.path + (f"?{urlencode(query)}" if query else "")


def _shape(url: str) -> str:
    parts = urlsplit(url)
    keys = sorted({key for key, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return re.sub(r"\d+", "N", parts.path) + "?" + "&".join(keys)


def _settle(page: Page, delay_ms: int = 0) -> None:
    """Wait for the htmx requests an action started (after the trigger's own delay), and their swaps."""
    page.wait_for_timeout(delay_ms + 30)
    for _ in range(500):  # wait_for_function would need 'unsafe-eval', which the CSP refuses
        if page.evaluate("window.__htmxBusy") <= 0:
            break
        page.wait_for_timeout(20)
    page.wait_for_timeout(20)  # htmx settles swapped content a moment after the answer


def _first_time(element, kind: str, done: set) -> bool:
    """Each control (kind, address, trigger) is exercised once per account, not on every page it is on."""
    address = element.evaluate("e => e.getAttribute('href') || e.closest('[hx-get]').getAttribute('hx-get')")
    key = (kind, _shape(address), element.get_attribute("hx-trigger"))
    if key in done:
        return False
    done.add(key)
    return True


def _exercise_htmx(page: Page, kinds: Counter, done: set) -> None:
    """Trigger each kind of htmx interaction the page offers (read-only ones)."""
    for trigger in page.locator("[hx-trigger*='from:document'], [hx-trigger*='from:body']").all():
        if not _first_time(trigger, "event", done):
            continue
        event = trigger.get_attribute("hx-trigger").split()[0]
        target = "document" if "from:document" in trigger.get_attribute("hx-trigger") else "document.body"
        page.evaluate(f"{target}.dispatchEvent(new Event({event!r}, {{bubbles: true}}))")
        kinds["event-refresh"] += 1
        _settle(page)
    for select in page.locator("select[hx-get]:visible, form[hx-get] select:visible").all()[:2]:
        if len(select.locator("option").all()) > 1 and _first_time(select, "select", done):
            select.select_option(index=1)
            kinds["select"] += 1
            _settle(page)
    for box in page.locator(
        "input[hx-get]:visible, form[hx-get] input[type=search]:visible, form[hx-get] input[type=text]:visible"
    ).all()[:1]:
        if _first_time(box, "search", done):
            box.fill("华")
            kinds["search"] += 1
            _settle(page, delay_ms=450)  # the boxes wait 300-400 ms after the last key
    for form in page.locator("form[hx-get]").all()[:1]:
        if _first_time(form, "form", done):
            form.evaluate("form => form.requestSubmit()")
            kinds["filter-form"] += 1
            _settle(page)


def _crawl(page: Page, origin: str, kinds: Counter, collect_violations) -> list[str]:
    visited: list[str] = []
    shapes: Counter = Counter()
    queue = deque(["/"])
    queued = {"/"}
    done: set = set()
    while queue and len(visited) < PAGES_PER_ACCOUNT:
        url = queue.popleft()
        if shapes[_shape(url)] >= PAGES_PER_SHAPE:
            continue
        shapes[_shape(url)] += 1
        collect_violations()  # a page load starts a new record
        response = page.goto(url)
        assert response is not None and response.status < 500, f"{url} answered {response and response.status}"
        _settle(page)
        visited.append(url)
        for link in page.eval_on_selector_all("a[href]:not([download])", "links => links.map(a => a.href)"):
            target = _followable(link, origin)
            if target and target not in queued:
                queued.add(target)
                queue.append(target)
        if shapes[_shape(url)] == 1:  # the second page of a shape has other rows, not other controls
            _exercise_htmx(page, kinds, done)
        # One boosted click per page: htmx fetches another page and swaps the body.
        for link in page.locator(".site-nav a:not([aria-current])").all():
            if _first_time(link, "boosted", done):
                link.click()
                kinds["boosted-link"] += 1
                _settle(page)
                break
    collect_violations()
    return visited


@pytest.mark.parametrize("username", ACCOUNTS)
def test_every_page_of_a_demo_account_keeps_the_console_clean(username, demo_city, chromium, live_server):
    context = _context(chromium, live_server, True, DESKTOP)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    errors: list[str] = []
    violations: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    page.on("console", lambda msg: errors.append(f"{page.url}: {msg.text}") if _is_real_console_error(msg) else None)

    def collect_violations() -> None:
        violations.extend(f"{page.url}: {v}" for v in page.evaluate("window.__violations || []"))

    kinds: Counter = Counter()
    try:
        page.goto("/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", demo.DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        visited = _crawl(page, live_server, kinds, collect_violations)
    finally:
        close(context)
    print(username, len(visited), dict(kinds))
    assert len(visited) >= 2 and kinds["boosted-link"], (visited, kinds)
    assert not violations, f"CSP violations: {violations}"
    assert not errors, f"browser errors: {errors}"


def test_a_swap_never_writes_a_style_attribute(demo_city, chromium, live_server):
    """htmx 4 copies the old element's class and style attributes onto its replacement while the
    swap settles (for CSS transitions); writing a style attribute is an inline style that the CSP
    refuses. A style set from script (allowed) must not turn into one when the queue is filtered."""
    context = _context(chromium, live_server, True, DESKTOP)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if _is_real_console_error(msg) else None)
    try:
        page.goto("/login")
        page.fill("input[name=username]", "cuihu_secretary")
        page.fill("input[name=password]", demo.DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        page.goto("/service/queue")
        page.evaluate("document.querySelector('#queue [id^=record-]').style.outlineWidth = '1px'")
        page.locator("form[hx-get]").first.evaluate("form => form.requestSubmit()")
        _settle(page)
        page.wait_for_timeout(200)
        violations = page.evaluate("window.__violations")
    finally:
        close(context)
    assert not violations and not errors, (violations, errors)
