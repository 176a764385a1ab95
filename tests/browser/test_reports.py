"""双报告 in the browser: a member's report acknowledged by both sides; a secretary rates 20 members
on one screen — with JavaScript on and off, at 360 px (and the rating screen on a desktop)."""

from __future__ import annotations

import re
import shutil
from datetime import date, datetime

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.reports.models import Evaluation, Report
from tests.browser.conftest import ARTIFACTS, DESKTOP, js_enabled, log_in, screenshot
from tests.conftest import PASSWORD
from tests.factories import make_member, make_record, make_rule, report_in_at

YEAR = local_today().year - 1


def test_member_report_reaches_both_sides_and_the_member_sees_both(page: Page, new_page, world, request):
    variant = request.node.callspec.params["page"]
    javascript = js_enabled(page)
    member = world.members["member"]
    make_rule(world.city, YEAR)
    report_in_at(world.community, member=member, decided_at=datetime(YEAR, 1, 10))
    make_record(member, world.community, date(YEAR, 5, 4), 4, content="反诈宣传摆摊")
    make_record(member, world.community, date(YEAR, 10, 1), 3, content="文明劝导")
    db.session.commit()

    log_in(page, "13800000001", PASSWORD)
    page.goto(f"/reports/mine?year={YEAR}")
    expect(page.locator("#my-periods")).to_be_visible()
    page.locator("#my-periods a.button").first.click()
    expect(page.locator(".report-summary")).to_contain_text("反诈宣传摆摊")
    expect(page.locator(".report-summary .figure").nth(1)).to_have_text("3.5")
    page.fill("textarea[name=body]", "今年在翠湖社区参加反诈宣传和文明劝导，更加了解群众需求。")
    screenshot(page, f"reports-write-{variant}")
    page.click("#submit-report")
    expect(page.locator("#report-status")).to_have_attribute("data-status", "submitted")
    report_id = db.session.scalar(select(Report.id))

    for username, side, comment in (
        ("branch_secretary", "branch", "已阅，表现很好"),
        ("community_secretary", "community", "感谢参与社区服务"),
    ):
        other = new_page(javascript=javascript)
        log_in(other, username, PASSWORD)
        other.goto("/reports/inbox?waiting=1")
        other.locator("#inbox a", has_text="张明").click()
        other.fill(f"#comment-{side}", comment)
        other.click(f"#ack-{side}-button")
        expect(other.locator(f"#ack-{side}")).to_contain_text(comment)
        expect(other.locator(f"#ack-{side} form")).to_have_count(0)
        screenshot(other, f"reports-ack-{side}-{variant}")

    page.goto(f"/reports/{report_id}")
    expect(page.locator("#report-status")).to_have_attribute("data-status", "acknowledged")
    expect(page.locator("#ack-branch")).to_contain_text("已阅，表现很好")
    expect(page.locator("#ack-community")).to_contain_text("感谢参与社区服务")
    screenshot(page, f"reports-member-sees-both-{variant}")


def test_secretary_rates_twenty_members_on_one_screen(page: Page, world, request):
    variant = request.node.callspec.params["page"]
    javascript = js_enabled(page)
    make_rule(world.city, YEAR)
    surnames = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许"
    members = []
    for index, surname in enumerate(surnames):
        member = make_member(f"{surname}{'建华' if index % 2 else '丽'}", f"1390000{index:04d}", world.branch)
        db.session.flush()
        report_in_at(world.community, member=member, decided_at=datetime(YEAR, 2, 1))
        if index < 18:  # the last two did no service
            make_record(member, world.community, date(YEAR, 6, 1 + index), 2 + index % 4)
        members.append(member)
    db.session.commit()
    idle = members[18:]

    log_in(page, "community_secretary", PASSWORD)
    if variant == "js":
        page.set_viewport_size(DESKTOP)
    page.goto(f"/reports/evaluations/{world.community.id}/{YEAR}")
    expect(page.locator("tr.eval-row")).to_have_count(20)
    page.click("#bulk-good")
    expect(page.locator(".notice--warning")).to_contain_text(idle[0].name)
    expect(page.locator('td[data-state="saved"]')).to_have_count(18)

    # Adjust individually: the two without service to 基本合格, one member to 优秀 with a comment.
    star = members[3]
    if javascript:
        for member in idle:
            page.select_option(f"#rating-{member.id}", "fair")
            expect(page.locator(f"#eval-{member.id} td.eval-state")).to_have_attribute("data-state", "saved")
        page.fill(f"#comment-{star.id}", "带头参加夜间巡逻")
        page.select_option(f"#rating-{star.id}", "excellent")
        expect(page.locator(f"#eval-{star.id} td.eval-state")).to_have_attribute("data-state", "saved")
        # Rating someone without service above 基本合格 needs a reason: refused in place, then given.
        page.select_option(f"#rating-{idle[0].id}", "good")
        expect(page.locator(f"#eval-{idle[0].id} td.eval-state")).to_have_attribute("data-state", "error")
        page.fill(f"#reason-{idle[0].id}", "在本单位承担防汛值守")
        page.locator(f"#reason-{idle[0].id}").press("Tab")
        expect(page.locator(f"#eval-{idle[0].id} td.eval-state")).to_have_attribute("data-state", "saved")
        page.once("dialog", lambda dialog: dialog.accept())
    else:
        for member in idle:
            page.select_option(f"#rating-{member.id}", "fair")
        page.fill(f"#comment-{star.id}", "带头参加夜间巡逻")
        page.select_option(f"#rating-{star.id}", "excellent")
        page.click("#save-all")
        expect(page.locator(".notice--success")).to_be_visible()
        expect(page.locator('td[data-state="saved"]')).to_have_count(20)
    page.click("#publish")
    expect(page.locator('td[data-state="published"]')).to_have_count(20)
    # After the clicks: a full-page screenshot leaves style attributes that htmx's settle would copy.
    screenshot(page, f"reports-evaluations-{'desktop' if javascript else 'phone'}-{variant}")

    ratings = dict(db.session.execute(select(Evaluation.member_id, Evaluation.rating)).all())
    assert len(ratings) == 20 and ratings[star.id] == "excellent"
    assert ratings[idle[1].id] == "fair"
    assert ratings[idle[0].id] == ("good" if javascript else "fair")
    assert db.session.scalar(select(func.count(Evaluation.id)).where(Evaluation.published.is_(False))) == 0
    assert db.session.scalar(select(Evaluation.comment).where(Evaluation.member_id == star.id)) == "带头参加夜间巡逻"


def test_branch_secretary_year_view_prints_on_a4_landscape(new_page, world, tmp_path):
    make_rule(world.city, YEAR)
    member = world.members["member"]
    report_in_at(world.community, member=member, decided_at=datetime(YEAR, 1, 10))
    make_record(member, world.community, date(YEAR, 5, 4), 4)
    db.session.commit()
    page = new_page(javascript=True, viewport=DESKTOP)
    log_in(page, "branch_secretary", PASSWORD)
    page.goto(f"/reports/branches/{world.branch.id}/year/{YEAR}")
    expect(page.locator("#year-table")).to_contain_text("翠湖社区")
    screenshot(page, "reports-year-view-desktop")
    page.click("#print-view")
    expect(page.locator(".signatures")).to_be_visible()
    pdf = tmp_path / "year.pdf"
    page.emulate_media(media="print")
    page.pdf(path=str(pdf), prefer_css_page_size=True)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    # A4 landscape: the page box is 842 x 595 points.
    assert re.search(rb"/MediaBox\s*\[\s*0 0 84[12](\.\d+)? 59[45](\.\d+)?\s*\]", data)
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(pdf, ARTIFACTS / "reports-year-view.pdf")
