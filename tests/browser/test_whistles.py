"""吹哨报到 in a browser: a community blows a whistle (with a photo), the department signs (in place, with
htmx), records contact and handles it, the community rates it and closes it; and signing once with JavaScript
off."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from kmvolunteer.auth.models import Role, RoleGrant
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Department
from kmvolunteer.whistles import services
from tests.browser.conftest import DESKTOP, PHONE, log_in, screenshot
from tests.conftest import PASSWORD
from tests.factories import make_user
from tests.images import jpeg


def _street(world) -> Department:
    street = Department(name="华山街道城管中队", area=world.subdistrict)
    db.session.add(street)
    db.session.flush()
    make_user(
        "street_officer", PASSWORD, world.subdistrict, RoleGrant(role=Role.department_officer.value, department=street)
    )
    services.ensure_default_categories()
    db.session.commit()
    return street


LOADED = "img => img.complete && img.naturalWidth > 0"


def _blow(page: Page, photo: bool = False) -> None:
    log_in(page, "community_secretary", PASSWORD)
    page.goto("/whistles/new")
    page.fill("#title", "景虹街路面渗水")
    page.fill("#problem", "路面长期渗水，居民出行不便")
    page.fill("#address", "景虹街 12 号")
    page.check("input[name=departments]")
    if photo:
        page.set_input_files("#photos", files=[{"name": "路面.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}])
    page.click("#whistle-submit")
    expect(page).to_have_url(re.compile(r"/whistles/\d+$"))
    expect(page.locator("article.summons")).to_contain_text("华山街道城管中队")


def test_community_blows_department_handles_community_rates_and_closes(new_page, world):
    _street(world)
    community = new_page(javascript=True, viewport=PHONE)
    _blow(community, photo=True)
    expect(community.locator(".due")).to_contain_text("剩余")
    thumbnail = community.locator("#whistle-facts .photos img")
    expect(thumbnail).to_have_count(1)
    community.wait_for_function(LOADED, arg=thumbnail.element_handle())
    whistle_url = community.url

    officer = new_page(javascript=True, viewport=DESKTOP)
    log_in(officer, "street_officer", PASSWORD)
    officer.goto("/")
    expect(officer.locator("#home-whistle-queue")).to_contain_text("待办理")
    officer.goto("/whistles/queue")
    card = officer.locator("article.summons").first
    expect(card.locator(".photos img")).to_have_count(1)  # the whistle's photo, beside it in the queue
    card.locator("button[id^=sign-]").click()
    expect(card).to_contain_text("已签收。")  # swapped in place
    expect(officer).to_have_url(re.compile(r"/whistles/queue$"))
    card.locator("input[name=note]").fill("电话联系王女士")
    card.locator("button[id^=contact-]").click()
    expect(card).to_contain_text("已记录联系情况。")
    card.locator("textarea[name=result]").fill("已修复渗水管道")
    screenshot(officer, "whistles-queue-desktop")
    officer.set_viewport_size(PHONE)
    screenshot(officer, "whistles-queue-360")
    card.locator("button[id^=handle-]").click()
    expect(card).to_contain_text("已办结，等待吹哨方评价。")

    community.goto(whistle_url)
    community.locator("button[id^=rate-]").click()
    expect(community.locator(".notice--success, .flash--success, [role=status]").first).to_be_visible()
    community.click("#close-whistle")
    expect(community.locator("h1")).to_contain_text("已关闭")
    expect(community.locator("#timeline")).to_contain_text("按时")
    screenshot(community, "whistles-page-360")
    community.set_viewport_size(DESKTOP)
    screenshot(community, "whistles-page-desktop")

    # The statistics show it: one whistle, handled on time, rated 满意, the department first in the ranking.
    community.get_by_role("link", name="吹哨统计").click()
    stats = community.locator("#whistle-stats")
    expect(stats.locator(".figures li").first).to_contain_text("1")
    ranking = stats.locator("section", has_text="部门报到排名")
    expect(ranking.locator("tbody tr").first).to_contain_text("华山街道城管中队")
    expect(ranking.locator("tbody tr").first).to_contain_text("100.0%")
    screenshot(community, "whistle-stats-desktop")


def test_department_signs_with_javascript_off(new_page, world):
    _street(world)
    _blow(new_page(javascript=True, viewport=PHONE))
    officer = new_page(javascript=False, viewport=PHONE)
    log_in(officer, "street_officer", PASSWORD)
    officer.goto("/whistles/queue")
    officer.locator("button[id^=sign-]").first.click()
    expect(officer).to_have_url(re.compile(r"/whistles/queue"))
    expect(officer.locator("article.summons").first).to_contain_text("已签收")
    expect(officer.locator("button[id^=contact-]")).to_be_visible()
