"""现场签到 in a browser, side by side: the organizer at a desk opens a session on a need and shows the code;
a member on a 360 px phone types the code, signs in and signs out; the organizer sees the sheet change,
corrects the arrival time with a reason and closes the session; the member then has an approved record,
marked 现场签到记录. Once with JavaScript (the sheet polls itself), once without (reloads)."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Page, expect

from kmvolunteer.core.time import to_local, utcnow
from kmvolunteer.extensions import db
from tests.browser.conftest import DESKTOP, js_enabled, log_in, screenshot
from tests.conftest import PASSWORD
from tests.factories import service_need, service_report_in


def test_a_member_signs_in_and_out_on_site_and_gets_an_approved_record(page: Page, new_page, world):
    variant = "js" if js_enabled(page) else "nojs"
    service_report_in(world.members["member"], world.community)
    need = service_need(world.community, title="反诈宣传摊位")
    db.session.commit()
    begins, ends = to_local(utcnow() - timedelta(hours=1)), to_local(utcnow() + timedelta(hours=2))

    organizer = new_page(javascript=js_enabled(page), viewport=DESKTOP)
    log_in(organizer, "community_secretary", PASSWORD)
    organizer.goto(f"/needs/{need.id}")
    organizer.click("#onsite-link")
    organizer.fill("#day", begins.date().isoformat())
    organizer.fill("#start_time", begins.strftime("%H:%M"))
    organizer.fill("#end_time", ends.strftime("%H:%M"))
    organizer.click("#onsite-open-submit")
    expect(organizer).to_have_url(re.compile(r"/onsite/\d+$"))
    session_id = int(organizer.url.rsplit("/", 1)[1])
    expect(organizer.locator("#onsite-qr svg")).to_be_visible()
    expect(organizer.locator("#onsite-empty")).to_be_visible()
    code = organizer.locator("#onsite-digits").inner_text().replace(" ", "")
    assert re.fullmatch(r"\d{6}", code)
    screenshot(organizer, f"onsite-organizer-{variant}")

    log_in(page, "13800000001", PASSWORD)
    page.goto("/onsite/sign")
    expect(page.locator(f"#sign-session-{session_id}")).to_contain_text("反诈宣传摊位")
    page.fill("#code", code)
    page.click("#sign-submit")
    expect(page).to_have_url(re.compile(rf"/onsite/{session_id}/me$"))
    expect(page.locator(".notice--success")).to_contain_text("签到")
    screenshot(page, f"onsite-member-in-{variant}")

    if not js_enabled(page):
        organizer.reload()  # without JavaScript the organizer reloads; with it the sheet polls itself
    expect(organizer.locator("#onsite-rows")).to_contain_text("张明")
    expect(organizer.locator("#onsite-rows")).to_contain_text("在场")

    page.click("#sign-out")
    expect(page.locator("#mine-out")).to_have_text(re.compile(r"\d\d:\d\d"))
    expect(page.locator("#sign-out")).to_have_count(0)

    if not js_enabled(page):
        organizer.reload()
    expect(organizer.locator("#onsite-rows")).not_to_contain_text("在场")
    organizer.locator("#onsite-rows a", has_text="更正").click()
    organizer.fill("#signed_in", begins.strftime("%H:%M"))
    organizer.fill("#reason", "到场时手机没电，补登到场时间")
    organizer.click("#onsite-correct-submit")
    expect(organizer).to_have_url(re.compile(rf"/onsite/{session_id}$"))
    if js_enabled(organizer):
        organizer.once("dialog", lambda dialog: dialog.accept())
    organizer.click("#onsite-close-submit")
    expect(organizer.locator("#onsite-status")).to_have_text("已结束")
    expect(organizer.locator("#onsite-rows")).to_contain_text("审核通过")
    screenshot(organizer, f"onsite-closed-{variant}")

    page.goto(f"/onsite/{session_id}/me")
    expect(page.locator("#mine-record")).to_contain_text("审核通过")
    expect(page.locator("#mine-record")).to_contain_text("现场签到记录")
    expect(page.locator("#mine-hours")).to_contain_text("1")
    page.goto("/service/my")
    expect(page.locator(".entry", has_text="反诈宣传摊位")).to_contain_text("现场签到记录")
    screenshot(page, f"onsite-member-record-{variant}")


def test_the_session_poster_prints_its_qr_code(page: Page, world):
    service_report_in(world.members["member"], world.community)
    need = service_need(world.community, title="反诈宣传摊位")
    db.session.commit()
    log_in(page, "community_secretary", PASSWORD)
    page.goto(f"/needs/{need.id}/onsite")
    begins, ends = to_local(utcnow() - timedelta(hours=1)), to_local(utcnow() + timedelta(hours=2))
    page.fill("#day", begins.date().isoformat())
    page.fill("#start_time", begins.strftime("%H:%M"))
    page.fill("#end_time", ends.strftime("%H:%M"))
    page.click("#onsite-open-submit")
    page.click("#onsite-poster-link")
    expect(page.locator("#poster-community")).to_have_text("翠湖社区")
    expect(page.locator("#poster-title")).to_have_text("反诈宣传摊位")
    expect(page.locator("#poster-qr svg")).to_be_visible()
    expect(page.locator("#poster-address")).to_contain_text("/sign")
    expect(page.locator("#poster-steps li")).to_have_count(3)
    screenshot(page, "onsite-poster")
