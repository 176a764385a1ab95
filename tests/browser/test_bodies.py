"""社区大党委 in the browser: the community secretary adds a member unit and records a joint meeting whose
decision publishes a need; the member unit's branch secretary reads the minutes and claims the need for the
branch; a member of the unit serves and logs it on a phone, the secretary approves; the body's page counts the
unit's meeting, its claim and its members' hours — with JavaScript on and off."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect

from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from tests.browser.conftest import DESKTOP, PHONE, js_enabled, log_in, screenshot
from tests.conftest import PASSWORD
from tests.factories import service_report_in


def test_a_joint_meeting_publishes_a_need_a_member_unit_claims(page: Page, new_page, world, request):
    variant = request.node.callspec.params["page"]
    w = world
    body_url = f"/bodies/areas/{w.community.id}"
    service_report_in(w.members["member"], w.community)  # a member of the unit, reported in here
    db.session.commit()

    log_in(page, "community_secretary", PASSWORD)
    page.goto("/")
    page.locator(f'a[href="{body_url}"]').first.click()
    page.locator("#unit-kind").select_option("agency")
    page.locator("#unit-agency").select_option(str(w.agency.id))
    page.locator("#add-unit button[type=submit]").click()
    expect(page.locator("#units")).to_contain_text(w.agency.name)
    page.locator("#new-meeting").click()
    page.locator("#place").fill("社区党群服务中心")
    page.locator("#topics").fill("研究冬季助老服务")
    page.locator("#decisions").fill("成员单位轮流开展助老理发")
    page.locator("#meeting-form details summary").click()
    page.locator("input[name=publish_need]").check()
    page.locator("#need_title").fill("冬季助老理发")
    page.locator("#need_on").fill((local_today() + timedelta(days=5)).isoformat())
    page.locator("#need_headcount").fill("3")
    page.locator("#meeting-form button[type=submit]").click()
    expect(page.locator("h1")).to_contain_text("联席会议纪要")
    need_link = page.locator('a[href^="/needs/"]')
    expect(need_link).to_have_text("冬季助老理发")
    minutes = page.url
    need_url = need_link.get_attribute("href")
    screenshot(page, f"bodies-minutes-{variant}")

    branch = new_page(javascript=js_enabled(page))
    log_in(branch, "branch_secretary", PASSWORD)
    branch.goto(minutes)
    expect(branch.locator("table")).to_contain_text(w.agency.name)
    branch.goto(need_url)
    branch.locator(".claim-button", has_text=w.branch.name).click()
    expect(branch.locator(".need-card")).to_contain_text("撤回支部的认领")
    screenshot(branch, f"bodies-claimed-{variant}")

    member = new_page(javascript=js_enabled(page), viewport=PHONE)
    log_in(member, "13800000001", PASSWORD)
    member.goto("/service/new")
    member.fill("#hours", "2.5")
    member.fill("#content", "冬季助老理发：为独居老人上门理发")
    member.click("#entry-submit")
    expect(member.locator("#entries-submitted")).to_contain_text("冬季助老理发")
    screenshot(member, f"bodies-member-served-{variant}")

    queue = new_page(javascript=js_enabled(page), viewport=DESKTOP)
    log_in(queue, "community_secretary", PASSWORD)
    queue.goto("/service/queue")
    queue.locator("tr.queue-row", has_text="冬季助老理发").locator(".row-approve").click()
    expect(queue.locator("#queue-summary")).to_contain_text("共0条记录")

    page.goto(body_url)
    row = page.locator("#tally tr", has_text=w.agency.name)
    expect(row.locator("td").nth(1)).to_have_text("1")  # the meeting attended
    expect(row.locator("td").nth(2)).to_have_text("1")  # the need claimed
    expect(row.locator("td").nth(4)).to_have_text("2.5")  # the member's approved hours in the community
    screenshot(page, f"bodies-tally-{variant}")
