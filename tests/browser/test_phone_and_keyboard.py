"""On a 360 px phone: the report-in queue's tick boxes leave the names clickable, the tally charts fit the
screen whole; on every page visited, a box that scrolls sideways can take keyboard focus."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from playwright.sync_api import Page

from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.tallies import rollup
from kmvolunteer.years.models import YearRule
from tests.browser.conftest import DESKTOP, PHONE, js_enabled, log_in
from tests.conftest import PASSWORD
from tests.factories import (
    add_members,
    make_record,
    make_report_in,
    make_rule,
    report_in_at,
)

SHOTS = Path("/tmp/forms-shots")
LAST_YEAR = local_today().year - 1


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _scroll_boxes_take_focus(page: Page) -> int:
    """Every box that scrolls sideways is focusable (or holds something focusable), with a name; returns
    how many table boxes the page has."""
    problems = page.evaluate("""() => {
        const bad = [];
        for (const box of document.querySelectorAll('.table-wrap')) {
            if (box.tabIndex !== 0 || box.getAttribute('role') !== 'region' || !box.getAttribute('aria-label'))
                bad.push('table box without focus or name: ' + box.outerHTML.slice(0, 80));
        }
        for (const el of document.querySelectorAll('body *')) {
            const style = getComputedStyle(el);
            if (!['auto', 'scroll'].includes(style.overflowX) || el.scrollWidth <= el.clientWidth + 1) continue;
            const focusable = el.tabIndex >= 0 && el.hasAttribute('tabindex')
                || el.querySelector('a[href], button, input, select, textarea, [tabindex]');
            if (!focusable) bad.push('scrolls but cannot take focus: ' + el.outerHTML.slice(0, 80));
        }
        return bad;
    }""")
    assert problems == []
    return page.locator(".table-wrap").count()


def test_report_in_queue_names_are_clickable_on_a_phone(page: Page, world):
    members = [world.members["member"], *add_members(world.branch, 3, PASSWORD, world.district)]
    for member in members:
        make_report_in(member, world.community)
    db.session.commit()
    log_in(page, "community_secretary", PASSWORD)
    page.goto(f"/communities/{world.community.id}/queue")
    links = page.locator("tr.queue-row td:nth-child(2) a")
    assert links.count() == len(members)
    for index in range(links.count()):
        link = links.nth(index)
        link.scroll_into_view_if_needed()
        box = link.bounding_box()
        hit = page.evaluate(
            "([x, y]) => { const e = document.elementFromPoint(x, y); return e && e.closest('a') "
            "? e.closest('a').getAttribute('href') : (e ? e.outerHTML.slice(0, 80) : null); }",
            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
        )
        assert hit == link.get_attribute("href")
        tick = page.locator("tr.queue-row input[type=checkbox]").nth(index).bounding_box()
        assert tick["x"] >= box["x"] + box["width"] or tick["y"] >= box["y"] + box["height"]
    assert _scroll_boxes_take_focus(page) == 1
    if js_enabled(page):
        _shot(page, "reportin-queue-360")


def _tallied_district(world) -> None:
    """Last year: members serving in two communities, with approved hours in several months."""
    db.session.add(YearRule(year=LAST_YEAR, area_id=world.city.id, min_half_hours=8, min_activities=2))
    for index, member in enumerate(add_members(world.branch, 6, PASSWORD, world.district)):
        community = world.community if index % 2 else world.community2
        report_in_at(community, member=member, decided_at=datetime(LAST_YEAR, 1, 10))
        for activity in range(index % 4 + 1):
            make_record(member, community, date(LAST_YEAR, 1 + (index + activity * 3) % 12, 5), 4)
    rollup.refresh_year(LAST_YEAR)
    db.session.commit()


def test_tally_charts_fit_a_phone_whole(page: Page, world):
    _tallied_district(world)
    log_in(page, "city_org", PASSWORD)
    page.goto(f"/tallies/areas/{world.district.id}?year={LAST_YEAR}")
    charts = page.locator("svg.chart")
    visible = [charts.nth(i) for i in range(charts.count()) if charts.nth(i).is_visible()]
    assert len(visible) == 2
    width = PHONE["width"]
    for chart in visible:
        box = chart.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
        # Every word of the chart is on the screen, at a readable size.
        texts = chart.locator("text")
        for i in range(texts.count()):
            t = texts.nth(i).bounding_box()
            assert t["x"] >= 0 and t["x"] + t["width"] <= width, texts.nth(i).text_content()
            assert t["height"] >= 10
    months = visible[1].locator("circle")
    assert months.count() == 12
    assert all(0 <= months.nth(i).bounding_box()["x"] <= width for i in range(12))
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    _scroll_boxes_take_focus(page)
    if js_enabled(page):
        _shot(page, "tallies-district-360")


def test_tally_charts_on_a_desktop(new_page, world):
    _tallied_district(world)
    page = new_page(viewport=DESKTOP)
    log_in(page, "city_org", PASSWORD)
    page.goto(f"/tallies/areas/{world.district.id}?year={LAST_YEAR}")
    charts = page.locator("svg.chart--wide")
    assert charts.count() == 2 and all(charts.nth(i).is_visible() for i in range(2))
    assert page.locator("svg.chart--narrow").first.is_hidden()
    _shot(page, "tallies-district-desktop")


def test_scrolling_tables_take_keyboard_focus_on_every_page_visited(page: Page, world):
    make_rule(world.city, LAST_YEAR)
    report_in_at(world.community, member=world.members["member"], decided_at=datetime(LAST_YEAR, 1, 10))
    make_record(world.members["member"], world.community, date(LAST_YEAR, 5, 4), 4)
    make_report_in(world.members["member2"], world.community)
    db.session.commit()
    visits = {
        "community_secretary": [
            "/service/queue",
            f"/communities/{world.community.id}/queue",
            f"/reports/evaluations/{world.community.id}/{LAST_YEAR}",
            f"/reports/feedback/{world.community.id}?year={LAST_YEAR}",
            "/reports/inbox",
        ],
        "branch_secretary": [
            f"/reports/branches/{world.branch.id}/year/{LAST_YEAR}",
            f"/tallies/branches/{world.branch.id}?year={LAST_YEAR}",
        ],
        "city_org": ["/accounts/", "/audit/", f"/tallies/areas/{world.district.id}?year={LAST_YEAR}", "/reports/rules"],
    }
    boxes = 0
    for username, paths in visits.items():
        log_in(page, username, PASSWORD)
        for path in paths:
            response = page.goto(path)
            assert response.status == 200, path
            boxes += _scroll_boxes_take_focus(page)
        page.context.clear_cookies()
    assert boxes >= 10
    # The box is in the tab order: Tab from the element before it lands on it.
    log_in(page, "branch_secretary", PASSWORD)
    page.goto(f"/reports/branches/{world.branch.id}/year/{LAST_YEAR}")
    page.locator(".table-wrap").first.focus()
    assert page.evaluate("document.activeElement.classList.contains('table-wrap')")
    if js_enabled(page):
        _shot(page, "reports-year-360")
