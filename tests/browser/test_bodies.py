"""社区大党委 in the browser: the community secretary adds a member unit and records a joint meeting whose
decision publishes a need; the member unit's branch secretary reads the minutes and claims the need for the
branch; the body's page counts the unit's meeting and claim — with JavaScript on and off, at 360 px."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect

from kmvolunteer.core.time import local_today
from tests.browser.conftest import js_enabled, log_in, screenshot
from tests.conftest import PASSWORD


def test_a_joint_meeting_publishes_a_need_a_member_unit_claims(page: Page, new_page, world, request):
    variant = request.node.callspec.params["page"]
    w = world
    body_url = f"/bodies/areas/{w.community.id}"

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

    page.goto(body_url)
    row = page.locator("#tally tr", has_text=w.agency.name)
    expect(row.locator("td").nth(1)).to_have_text("1")  # the meeting attended
    expect(row.locator("td").nth(2)).to_have_text("1")  # the need claimed
