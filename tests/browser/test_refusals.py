"""Refused changes in a browser, with JavaScript and without: a queue row refused in place (htmx 4 swaps
the 422 row), a form refused with its message in the summary and under the field, a button refused
and answered by errors.py on the page it was pressed on."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from playwright.sync_api import Page, expect

from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.service import services
from kmvolunteer.service.models import ServiceRecord
from kmvolunteer.service.services import EntryData
from tests.browser.conftest import js_enabled, log_in
from tests.conftest import PASSWORD
from tests.factories import service_report_in

NOTHING_CHANGED = "未作任何更改"  # "This %(noun)s is already %(state)s; nothing was changed."


def _entry(world) -> ServiceRecord:
    service_report_in(world.members["member"], world.community)
    record = services.log_entry(
        world.members["member"],
        world.users["member"],
        EntryData(
            service_date=local_today() - timedelta(days=1),
            content="拒绝后的提示",
            hours=Decimal("2"),
            community_id=world.community.id,
        ),
    )
    db.session.commit()
    return record


def _approve_meanwhile(world, record: ServiceRecord) -> None:
    """Another secretary decides the entry while the page is open."""
    services.approve(db.session.get(ServiceRecord, record.id), world.users["community_secretary"])
    db.session.commit()


def test_a_queue_row_decided_meanwhile_says_so(page: Page, world):
    record = _entry(world)
    log_in(page, "community_secretary", PASSWORD)
    page.goto("/service/queue")
    row = page.locator(f"#record-{record.id}")
    expect(row).to_contain_text("拒绝后的提示")
    _approve_meanwhile(world, record)
    row.locator(".row-approve").click()
    if js_enabled(page):
        # The 422 row is swapped in place: its state as it is now, and why nothing happened.
        expect(page.locator(f"#record-{record.id} .row-message")).to_contain_text(NOTHING_CHANGED)
        expect(page.locator(f"#record-{record.id} .tag--approved")).to_be_visible()
        expect(page.locator(f"#record-{record.id} .row-approve")).to_have_count(0)
    else:
        expect(page.locator(".notice--error")).to_contain_text(NOTHING_CHANGED)
    expect(page).to_have_url(re.compile(r"/service/queue$"))


def test_a_refused_form_keeps_the_input_and_says_why(page: Page, world):
    log_in(page, "city_org", PASSWORD)
    page.goto("/categories")
    page.fill("#name", "政策宣传")  # one of the default categories
    page.locator("form", has=page.locator("#name")).locator("button[type=submit]").click()
    expect(page.locator(".error-summary")).to_contain_text("已有名为政策宣传的类别。")
    expect(page.locator(".field-error")).to_contain_text("已有名为政策宣传的类别。")
    expect(page.locator("#name")).to_have_value("政策宣传")
    if js_enabled(page):
        expect(page.locator(".error-summary")).to_be_focused()  # site.js, after htmx swapped the 422 page


def test_a_refused_button_comes_back_to_its_page_with_the_message(page: Page, world):
    record = _entry(world)
    log_in(page, "13800000001", PASSWORD)
    page.goto(f"/service/records/{record.id}")
    _approve_meanwhile(world, record)
    page.get_by_role("button", name="撤回").click()
    expect(page.locator(".notice--error")).to_contain_text(NOTHING_CHANGED)
    expect(page).to_have_url(re.compile(rf"/service/records/{record.id}$"))
    expect(page.locator("main")).to_contain_text("审核通过")
    db.session.expire_all()
    assert db.session.get(ServiceRecord, record.id).status == "approved"
