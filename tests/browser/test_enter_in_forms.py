"""Enter in a text box of a decision page submits that box's own form and nothing else — with JavaScript
on and off. Each test types into a box, presses Enter, then reads every record the page showed from the
database: only the record the box belongs to changed, and in the way the box means (or nothing changed
where the box serves several actions)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from kmvolunteer.auth.models import RoleGrant
from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.reportin.models import ReportIn
from kmvolunteer.reports import services
from kmvolunteer.reports.models import Evaluation, FeedbackLine, Report
from kmvolunteer.service.models import ServiceRecord
from kmvolunteer.tallies import years
from kmvolunteer.years.models import Year
from tests.browser.conftest import js_enabled, log_in
from tests.conftest import PASSWORD
from tests.factories import (
    add_members,
    make_record,
    make_report_in,
    make_rule,
    report_in_at,
    service_need,
    service_report_in,
)


def _submitted(world, count: int) -> list[int]:
    service_report_in(world.members["member"], world.community)
    day = local_today()
    ids = [
        make_record(
            world.members["member"],
            world.community,
            day - timedelta(days=n),
            status="submitted",
            content=f"入户走访第{n}次",
        ).id
        for n in range(1, count + 1)
    ]
    for record_id in ids:
        db.session.get(ServiceRecord, record_id).submitted_at = datetime.now() - timedelta(hours=1)
    db.session.commit()
    return ids


def _states(ids: list[int]) -> list[tuple[str, str | None]]:
    db.session.expire_all()
    return [(r.status, r.reason or None) for r in (db.session.get(ServiceRecord, i) for i in ids)]


def _enter(page: Page, selector: str, text: str, sends: str | None) -> None:
    """Type into the box and press Enter; wait for the POST to the path ending in ``sends`` (if the box
    is to send one) to be answered. Whatever else Enter sent is caught by the database checks."""
    page.fill(selector, text)
    if sends is None:
        page.press(selector, "Enter")
        page.wait_for_timeout(500)  # time for anything wrongly sent to arrive before the database is read
    else:
        with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith(sends)):
            page.press(selector, "Enter")
    page.wait_for_load_state("load")
    page.wait_for_load_state("networkidle")


def test_enter_in_a_row_reason_returns_that_row_only(page: Page, world):
    ids = _submitted(world, 3)
    log_in(page, "community_secretary", PASSWORD)
    page.goto("/service/queue")
    first_row = page.locator("tr.queue-row").first
    expect(first_row).to_have_id(f"record-{ids[0]}")  # the newest is row 1: its Approve came first before
    _enter(page, f"#r{ids[2]}-reason", "请补充服务地点", f"/{ids[2]}/return")
    if js_enabled(page):
        expect(page.locator(f"#record-{ids[2]} .tag--returned")).to_be_visible()
    else:
        expect(page.locator(".notice--success")).to_be_visible()
    assert _states(ids) == [("submitted", None), ("submitted", None), ("returned", "请补充服务地点")]


def test_enter_in_the_bulk_reason_changes_nothing(page: Page, world):
    ids = _submitted(world, 3)
    log_in(page, "community_secretary", PASSWORD)
    page.goto("/service/queue")
    page.check(f"#tick-{ids[1]}")
    _enter(page, "#bulk_reason", "时长填写有误", None)
    # The box serves "return" and "reject" alike: Enter picks neither; the buttons do.
    expect(page.locator("#bulk_reason")).to_have_value("时长填写有误")
    assert _states(ids) == [("submitted", None)] * 3
    page.click("#bulk-return")
    expect(page.locator(".flashes")).to_contain_text("1")
    assert _states(ids) == [("submitted", None), ("returned", "时长填写有误"), ("submitted", None)]


def test_enter_on_the_record_page_returns_and_revokes_with_the_reason(page: Page, world):
    ids = _submitted(world, 2)
    approved = make_record(world.members["member"], world.community, local_today() - timedelta(days=5)).id
    db.session.commit()
    log_in(page, "community_secretary", PASSWORD)
    page.goto(f"/service/records/{ids[1]}")
    _enter(page, f"#r{ids[1]}-reason", "请补充组织单位", f"/{ids[1]}/return")
    expect(page.locator("#record-status")).to_have_text("退回修改")
    assert _states([*ids, approved]) == [("submitted", None), ("returned", "请补充组织单位"), ("approved", None)]

    page.goto(f"/service/records/{approved}")
    _enter(page, f"#r{approved}-reason", "重复登记", f"/{approved}/revoke")
    expect(page.locator("#record-status")).to_have_text("已撤销")
    assert _states([*ids, approved]) == [("submitted", None), ("returned", "请补充组织单位"), ("revoked", "重复登记")]


def test_enter_in_the_report_in_reasons_rejects_or_ends_that_one(page: Page, world):
    more = add_members(world.branch, 2, PASSWORD, world.district)
    pending = [make_report_in(m, world.community).id for m in (world.members["member"], *more)]
    confirmed = make_report_in(world.members["member2"], world.community, status="confirmed").id
    db.session.commit()

    def states() -> list[tuple[str, str | None]]:
        db.session.expire_all()
        return [(r.status, r.reason or None) for r in (db.session.get(ReportIn, i) for i in [*pending, confirmed])]

    log_in(page, "community_secretary", PASSWORD)
    page.goto(f"/report-ins/{pending[1]}")
    _enter(page, "#reject-form input[name=reason]", "不在本社区居住", f"/{pending[1]}/reject")
    assert states() == [("pending", None), ("rejected", "不在本社区居住"), ("pending", None), ("confirmed", None)]

    page.goto(f"/report-ins/{confirmed}")
    _enter(page, "input[name=end-reason]", "已搬离", f"/{confirmed}/end")
    assert states() == [("pending", None), ("rejected", "不在本社区居住"), ("pending", None), ("ended", "已搬离")]


def test_enter_in_an_evaluation_reason_saves_that_row_only(page: Page, world):
    year = local_today().year - 1
    make_rule(world.city, year)
    members = [world.members["member"], *add_members(world.branch, 2, PASSWORD, world.district)]
    for m in members:
        report_in_at(world.community, member=m, decided_at=datetime(year, 1, 10))
        make_record(m, world.community, date(year, 5, 4), 6)
    db.session.commit()
    log_in(page, "community_secretary", PASSWORD)
    page.goto(f"/reports/evaluations/{world.community.id}/{year}")
    target = members[2].id
    if js_enabled(page):
        with page.expect_response(lambda r: r.url.endswith(f"/members/{target}")):
            page.select_option(f"#rating-{target}", "good")
    else:
        page.select_option(f"#rating-{target}", "good")
    _enter(page, f"#comment-{target}", "服务积极", f"/members/{target}" if js_enabled(page) else None)
    db.session.expire_all()
    rows = {e.member_id: (e.rating, e.comment) for e in db.session.scalars(select(Evaluation))}
    if js_enabled(page):
        assert rows == {target: ("good", "服务积极")}  # the row saved itself; no other row was sent
    else:
        # One form holds every row: Enter sends none of them; "Save all" does.
        assert rows == {}
        page.click("#save-all")
        expect(page.locator(".flashes")).to_contain_text("1")
        db.session.expire_all()
        rows = {e.member_id: (e.rating, e.comment) for e in db.session.scalars(select(Evaluation))}
        assert rows == {target: ("good", "服务积极")}


def test_enter_in_a_reopen_reason_reopens_that_year_only(page: Page, world):
    this_year = local_today().year
    for year in (this_year - 1, this_year - 2):
        years.close_year(year, actor=world.users["city_org"])
    db.session.commit()
    log_in(page, "city_org", PASSWORD)
    page.goto("/tallies/years")
    _enter(page, f"#reason-{this_year - 1}", "补录遗漏记录", f"/{this_year - 1}/reopen")
    db.session.expire_all()
    state = {y.year: (y.status, y.reopen_reason or None) for y in db.session.scalars(select(Year))}
    assert state[this_year - 1] == ("open", "补录遗漏记录")
    assert state[this_year - 2] == ("closed", None)


def test_enter_in_a_feedback_remark_saves_the_draft_only(page: Page, world):
    year = local_today().year - 1
    make_rule(world.city, year)
    members = [world.members["member"], *add_members(world.branch, 1, PASSWORD, world.district)]
    for m in members:
        report_in_at(world.community, member=m, decided_at=datetime(year, 1, 10))
        make_record(m, world.community, date(year, 5, 4), 6)
    db.session.commit()
    sheet = services.generate_sheet(world.community, world.branch, year, "Q4")
    db.session.commit()
    log_in(page, "community_secretary", PASSWORD)
    page.goto(f"/reports/feedback/sheets/{sheet.id}")
    remark = page.locator("input[id^=remark-]").last
    _enter(page, f"#{remark.get_attribute('id')}", "表现突出", f"/sheets/{sheet.id}")
    db.session.expire_all()
    lines = list(db.session.scalars(select(FeedbackLine).order_by(FeedbackLine.id)))
    assert [line.remark or None for line in lines] == [None] * (len(lines) - 1) + ["表现突出"]
    assert lines[0].sheet.status == "draft"


def test_enter_in_the_grant_search_box_grants_nothing(page: Page, world):
    user = world.users["member2"]
    log_in(page, "city_org", PASSWORD)
    page.goto(f"/accounts/{user.id}?role=branch_secretary")
    before = db.session.scalar(select(func.count(RoleGrant.id)))
    if js_enabled(page):
        page.fill("#grant-form input[name=q]", "机关")
        page.press("#grant-form input[name=q]", "Enter")  # the search runs as one types; Enter only searches again
        page.wait_for_timeout(800)
        page.wait_for_load_state("networkidle")
    else:
        _enter(page, "#grant-form input[name=q]", "机关", None)
    expect(page.locator("#grant-choices select")).to_be_visible()
    db.session.expire_all()
    assert db.session.scalar(select(func.count(RoleGrant.id))) == before
    assert not db.session.scalars(select(RoleGrant).where(RoleGrant.user_id == user.id)).all()


def test_enter_in_the_attendance_sheet_records_the_ticked_only(page: Page, world):
    service_report_in(world.members["member"], world.community)
    service_report_in(world.members["member2"], world.community)
    need = service_need(world.community, on_date=local_today())
    db.session.commit()
    log_in(page, "community_secretary", PASSWORD)
    page.goto(f"/service/attendance?need_id={need.id}&service_date={local_today().isoformat()}")
    page.fill("#hours", "2")
    page.check(f"input[name=member_ids][value='{world.members['member2'].id}']")
    # The sheet has one action: Enter in its text boxes records it, for the ticked members only.
    _enter(page, "#content", "社区广场反诈宣传", "/service/attendance")
    db.session.expire_all()
    rows = [(r.member_id, r.status, r.content) for r in db.session.scalars(select(ServiceRecord))]
    assert rows == [(world.members["member2"].id, "approved", "社区广场反诈宣传")]


def test_enter_in_an_acknowledgement_comment_is_a_new_line(page: Page, world):
    year = local_today().year - 1
    member = world.members["member"]
    make_rule(world.city, year)
    report_in_at(world.community, member=member, decided_at=datetime(year, 1, 10))
    make_record(member, world.community, date(year, 5, 4), 4)
    report = services.submit_member_report(member, year, "Y", "全年参加社区服务。")
    db.session.commit()
    log_in(page, "community_secretary", PASSWORD)
    page.goto(f"/reports/{report.id}")
    _enter(page, "#comment-community", "已阅", None)
    expect(page.locator("#comment-community")).to_have_value("已阅\n")
    db.session.expire_all()
    assert db.session.get(Report, report.id).community_ack_at is None
    page.click("#ack-community-button")
    expect(page.locator("#ack-community")).to_contain_text("已阅")
    db.session.expire_all()
    assert db.session.get(Report, report.id).community_ack_at is not None
    assert db.session.get(Report, report.id).branch_ack_at is None
