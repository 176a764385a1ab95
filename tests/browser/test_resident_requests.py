"""居民点单 in a browser: a resident leaves a request on the community's public page (no login) and gets a
code; the secretary is told in their notices and makes it a need on the lists; a member reported in there
claims it on a phone, serves and logs it, the secretary approves; the resident's status page follows each
step. Once with JavaScript (boosted forms), once without."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from kmvolunteer.extensions import db
from tests.browser.conftest import DESKTOP, PHONE, js_enabled, log_in, screenshot
from tests.conftest import PASSWORD
from tests.factories import service_report_in


@pytest.fixture
def no_reading_time(app, monkeypatch):
    """The form's minimum time open (tested over HTTP) would only slow the browser down."""
    monkeypatch.setitem(app.config, "RESIDENT_FORM_MIN_SECONDS", 0)


def test_a_residents_request_becomes_a_need_and_the_resident_sees_it(page: Page, new_page, world, no_reading_time):
    variant = "js" if js_enabled(page) else "nojs"
    service_report_in(world.members["member"], world.community)
    db.session.commit()
    page.goto(f"/ask/{world.community.id}")
    expect(page.locator("h1")).to_contain_text("翠湖社区")
    expect(page.locator("#website")).not_to_be_in_viewport()  # the honeypot is not for people
    page.fill("#what", "楼下独居的王奶奶腿脚不便，想请志愿者每周帮她买一次菜。")
    page.fill("#place", "翠湖南路 52 号")
    page.fill("#phone", "139 8765 0002")
    screenshot(page, f"resident-ask-{variant}")
    page.click("#ask-submit")
    expect(page).to_have_url(re.compile(r"/ask/status/[2-9A-Z]{8}$"))
    expect(page.locator(".notice--success")).to_contain_text("查询码")
    expect(page.locator("#status-state")).to_contain_text("已受理")
    code = page.locator("#status-code").inner_text()
    expect(page.locator("main")).not_to_contain_text("13987650002")
    expect(page.locator("main")).not_to_contain_text("王奶奶")

    secretary = new_page(javascript=js_enabled(page), viewport=DESKTOP)
    log_in(secretary, "community_secretary", PASSWORD)
    expect(secretary.locator(f"#resident-waiting-{world.community.id}")).to_have_text("1")
    expect(secretary.locator("#notices-unread")).to_have_text("1")
    secretary.locator(".site-nav a", has_text="我的提醒").click()
    secretary.locator(".notice-list a", has_text="有居民向翠湖社区点单").click()
    expect(secretary.locator("#request-phone")).to_have_text("13987650002")
    secretary.locator("#triage-need summary").click()
    expect(secretary.locator("#need-description")).to_have_value(re.compile("王奶奶"))
    secretary.fill("#need-title", "为独居老人每周代买一次菜")
    secretary.fill("#need-recurrence", "每周六上午")
    secretary.fill("#need-reply", "已发布为志愿服务需求，会有党员志愿者与您联系。")
    screenshot(secretary, f"resident-triage-{variant}")
    secretary.click("#need-submit")
    expect(secretary).to_have_url(re.compile(r"/needs/\d+$"))
    expect(secretary.locator("main")).to_contain_text("为独居老人每周代买一次菜")

    page.goto(f"/ask/status?code={code.lower()}")
    expect(page).to_have_url(re.compile(f"/ask/status/{code}$"))
    expect(page.locator("#status-state")).to_contain_text("已转为需求")
    expect(page.locator("#status-reply")).to_contain_text("党员志愿者")
    expect(page.locator("#status-progress")).to_contain_text("志愿者认领：0／1 人")
    expect(page.locator("#status-progress")).to_contain_text("尚未开展服务")
    expect(secretary.locator("#notices-unread")).to_have_count(0)  # triaged: the notice is read

    member = new_page(javascript=js_enabled(page), viewport=PHONE)
    log_in(member, "13800000001", PASSWORD)
    member.goto(secretary.url)
    member.locator(".claim-button").click()
    expect(member.locator(".need-card")).to_contain_text("撤回我的认领")
    member.goto("/service/new")
    need_option = member.locator("#need_id option", has_text="为独居老人每周代买一次菜")
    member.locator("#need_id").select_option(need_option.get_attribute("value"))
    member.fill("#hours", "1.5")
    member.fill("#content", "为王奶奶代买蔬菜并送到家")
    member.click("#entry-submit")
    expect(member.locator("#entries-submitted")).to_contain_text("代买蔬菜")
    secretary.goto("/service/queue")
    secretary.locator("tr.queue-row", has_text="代买蔬菜").locator(".row-approve").click()
    expect(secretary.locator("#queue-summary")).to_contain_text("共0条记录")

    page.reload()
    expect(page.locator("#status-progress")).to_contain_text("志愿者认领：1／1 人")
    expect(page.locator("#status-progress")).to_contain_text("已服务 1 次")
    expect(page.locator("main")).not_to_contain_text("张明")  # no volunteer's name on the public page
    screenshot(page, f"resident-status-{variant}")


def test_the_poster_prints_the_qr_code(page: Page, world):
    """The poster and the inbox, with the CSP enforced (the page fixture fails on any violation): the QR code
    is inline SVG with no style attribute."""
    log_in(page, "community_secretary", PASSWORD)
    page.goto(f"/communities/{world.community.id}/requests")
    page.click("#poster-link")
    expect(page.locator("#poster-community")).to_have_text("翠湖社区")
    expect(page.locator("#poster-qr svg")).to_be_visible()
    assert page.locator("#poster-qr svg").bounding_box()["width"] > 300
    expect(page.locator("#poster-address")).to_contain_text(f"/ask/{world.community.id}")
    screenshot(page, "resident-poster")
