"""双报告 over HTTP: scoping (404 outside), published-only ratings for branches, CSRF, fragments vs pages,
the no-JavaScript bulk form, print view and XLSX."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from kmvolunteer.auth.policy import scoped
from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.reports import services
from kmvolunteer.reports.models import Evaluation, FeedbackSheet, Report
from kmvolunteer.years.models import YearRule
from tests.factories import make_member, make_record, make_rule, report_in_at


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the messages, written in English."""


YEAR = local_today().year - 1  # last year: started, due dates may lie ahead or behind


@pytest.fixture
def city(world):
    """张明 (branch) and 王刚 (other_branch) reported in to 翠湖社区; 李红 (branch2) to 云秀社区."""
    make_rule(world.city, YEAR)
    make_rule(world.city, YEAR + 1)
    zhang, li, wang = world.members["member"], world.members["member2"], world.members["other_member"]
    report_in_at(world.community, member=zhang, decided_at=datetime(YEAR, 1, 5))
    report_in_at(world.community, member=wang, decided_at=datetime(YEAR, 1, 5))
    report_in_at(world.other_community, member=li, decided_at=datetime(YEAR, 1, 5))
    make_record(zhang, world.community, date(YEAR, 4, 1), 6)
    make_record(wang, world.community, date(YEAR, 4, 2), 4)
    db.session.commit()
    return world


def submitted_report(world) -> Report:
    report = services.submit_member_report(
        world.members["member"], YEAR, "Y", "我的年度报告", today=date(YEAR + 1, 1, 2)
    )
    db.session.commit()
    return report


def test_a_member_report_is_seen_by_both_sides_and_nobody_else(login, city):
    report = submitted_report(city)
    url = f"/reports/{report.id}"
    for username in ("13800000001", "branch_secretary", "community_secretary", "subdistrict_officer", "district_org"):
        assert login(username).get(url).status_code == 200, username
    for username in ("13800000002", "other_branch_secretary", "other_secretary", "other_org", "department_officer"):
        assert login(username).get(url).status_code == 404, username


def test_a_draft_is_private_to_its_author(login, city):
    draft = services.save_member_draft(city.members["member"], YEAR, "Y", "草稿", today=date(YEAR + 1, 1, 2))
    db.session.commit()
    assert login("13800000001").get(f"/reports/{draft.id}").status_code == 200
    assert login("branch_secretary").get(f"/reports/{draft.id}").status_code == 404
    inbox = login("community_secretary").get(f"/reports/inbox?year={YEAR}").get_data(as_text=True)
    assert "张明" not in inbox


def test_each_side_acknowledges_only_its_own_side(login, city):
    report = submitted_report(city)
    branch = login("branch_secretary")
    assert branch.post(f"/reports/{report.id}/acknowledge/community", {"comment": "x"}).status_code == 404
    assert login("other_secretary").post(f"/reports/{report.id}/acknowledge/community").status_code == 404
    assert branch.post(f"/reports/{report.id}/acknowledge/branch", {"comment": "已阅"}).status_code == 303
    again = branch.post(f"/reports/{report.id}/acknowledge/branch", {"comment": "再次"})
    assert again.status_code == 422 and "already acknowledged" in again.get_data(as_text=True)
    db.session.refresh(report)
    assert report.branch_comment == "已阅" and report.status == "submitted"


def test_a_refused_comment_is_linked_to_its_own_side_box(login, city):
    report = submitted_report(city)
    response = login("branch_secretary").post(f"/reports/{report.id}/acknowledge/branch", {"comment": "长" * 1001})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'href="#comment-branch"' in html and 'id="comment-branch"' in html


def test_acknowledging_with_htmx_returns_the_fragment_and_an_event(login, city):
    report = submitted_report(city)
    secretary = login("community_secretary")
    secretary.get(f"/reports/{report.id}")
    response = secretary.post(
        f"/reports/{report.id}/acknowledge/community", {"comment": "辛苦了"}, headers={"HX-Request": "true"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html and 'id="acks"' in html and "辛苦了" in html
    assert "reports-changed" in response.headers["HX-Trigger"]
    boosted = secretary.get(f"/reports/{report.id}", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)


def test_posts_without_csrf_are_refused(login, city):
    report = submitted_report(city)
    secretary = login("community_secretary")
    zhang = city.members["member"]
    base = f"/reports/evaluations/{city.community.id}/{YEAR}"
    for url, data in (
        (f"/reports/{report.id}/acknowledge/community", {}),
        (f"{base}/members/{zhang.id}", {f"rating-{zhang.id}": "good"}),
        (f"{base}/bulk", {"rating": "good"}),
        (f"{base}/publish", {}),
        (f"{base}/save", {}),
    ):
        assert secretary.post(url, data, csrf=False).status_code == 400, url
    member = login("13800000001")
    assert member.post(f"/reports/mine/{YEAR + 1}/Y", {"body": "x", "action": "submit"}, csrf=False).status_code == 400
    db.session.refresh(report)
    assert report.community_ack_at is None
    assert db.session.scalar(select(func.count(Evaluation.id))) == 0


def test_the_evaluation_screen_lists_only_the_communitys_members(login, city):
    page = login("community_secretary").get(f"/reports/evaluations/{city.community.id}/{YEAR}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "张明" in html and "王刚" in html and "李红" not in html
    for username in ("other_secretary", "branch_secretary", "subdistrict_officer", "13800000001"):
        assert login(username).get(f"/reports/evaluations/{city.community.id}/{YEAR}").status_code == 404
    # Rating a member reported in elsewhere: out of scope here.
    li = city.members["member2"]
    response = login("community_secretary").post(
        f"/reports/evaluations/{city.community.id}/{YEAR}/members/{li.id}",
        {f"rating-{li.id}": "good"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 404
    assert db.session.scalar(select(func.count(Evaluation.id))) == 0


def test_a_row_saves_in_place_with_htmx(login, city):
    zhang = city.members["member"]
    secretary = login("community_secretary")
    url = f"/reports/evaluations/{city.community.id}/{YEAR}/members/{zhang.id}"
    secretary.get(f"/reports/evaluations/{city.community.id}/{YEAR}")
    response = secretary.post(
        url,
        {f"rating-{zhang.id}": "excellent", f"comment-{zhang.id}": "带头", "rating-999": "poor"},
        headers={"HX-Request": "true"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith(f'<tr id="eval-{zhang.id}"')
    assert "evaluations-changed" in response.headers["HX-Trigger"]
    evaluation = db.session.scalar(select(Evaluation))
    assert (evaluation.rating, evaluation.comment) == ("excellent", "带头")


def test_a_refused_row_comes_back_422_with_the_message(login, city):
    idle = make_member("赵六", "13800000009", city.branch)
    report_in_at(city.community, member=idle, decided_at=datetime(YEAR, 3, 1))
    db.session.commit()
    secretary = login("community_secretary")
    url = f"/reports/evaluations/{city.community.id}/{YEAR}/members/{idle.id}"
    response = secretary.post(url, {f"rating-{idle.id}": "good"}, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "reason" in html and f'id="eval-{idle.id}"' in html
    assert 'value="good" selected' in html  # the attempted value stays for the reason to be added
    assert db.session.scalar(select(func.count(Evaluation.id))) == 0
    ok = secretary.post(
        url, {f"rating-{idle.id}": "good", f"reason-{idle.id}": "单位值守"}, headers={"HX-Request": "true"}
    )
    assert ok.status_code == 200


def test_without_javascript_one_form_saves_all_rows_or_none(login, city):
    zhang, wang = city.members["member"], city.members["other_member"]
    idle = make_member("赵六", "13800000009", city.branch)
    report_in_at(city.community, member=idle, decided_at=datetime(YEAR, 3, 1))
    db.session.commit()
    secretary = login("community_secretary")
    url = f"/reports/evaluations/{city.community.id}/{YEAR}/save"
    secretary.get(f"/reports/evaluations/{city.community.id}/{YEAR}")
    bad = secretary.post(
        url, {f"rating-{zhang.id}": "good", f"rating-{wang.id}": "fair", f"rating-{idle.id}": "excellent"}
    )
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "<html" in html and "nothing was saved" in html
    assert db.session.scalar(select(func.count(Evaluation.id))) == 0
    good = secretary.post(
        url,
        {
            f"rating-{zhang.id}": "good",
            f"rating-{wang.id}": "fair",
            f"rating-{idle.id}": "fair",
            f"comment-{idle.id}": "未参加服务",
        },
    )
    assert good.status_code == 303
    assert db.session.scalar(select(func.count(Evaluation.id))) == 3


def test_bulk_and_publish_then_the_branch_sees_only_its_members_published_ratings(login, city):
    secretary = login("community_secretary")
    base = f"/reports/evaluations/{city.community.id}/{YEAR}"
    secretary.get(base)
    assert secretary.post(f"{base}/bulk", {"rating": "good"}).status_code == 303
    assert db.session.scalar(select(func.count(Evaluation.id))) == 2
    view = f"/reports/branches/{city.branch.id}/year/{YEAR}"
    before = login("branch_secretary").get(view).get_data(as_text=True)
    assert "张明" in before and "Satisfactory" not in before  # rated, not yet published
    assert secretary.post(f"{base}/publish").status_code == 303
    after = login("branch_secretary").get(view).get_data(as_text=True)
    assert "张明" in after and "Satisfactory" in after and "王刚" not in after  # 王刚 is another branch's
    assert login("other_branch_secretary").get(view).status_code == 404
    other = login("other_branch_secretary").get(f"/reports/branches/{city.other_branch.id}/year/{YEAR}")
    assert "王刚" in other.get_data(as_text=True) and "张明" not in other.get_data(as_text=True)
    # The list scope says the same: a branch lists only published ratings of its own members.
    branch_user = city.users["branch_secretary"]
    names = {e.member.name for e in db.session.scalars(scoped(select(Evaluation), branch_user, "evaluation.list"))}
    assert names == {"张明"}
    community_user = city.users["community_secretary"]
    assert len(db.session.scalars(scoped(select(Evaluation), community_user, "evaluation.list")).all()) == 2
    assert db.session.scalars(scoped(select(Evaluation), city.users["other_secretary"], "evaluation.list")).all() == []


def test_unpublished_ratings_stay_out_of_the_branchs_list_scope(login, city):
    services.set_rating(city.community, city.members["member"], YEAR, "excellent", today=local_today())
    db.session.commit()
    assert db.session.scalars(scoped(select(Evaluation), city.users["branch_secretary"], "evaluation.list")).all() == []


def test_year_view_print_and_xlsx(login, city):
    city.members["member"].name = "=cmd|' /C calc'!A0"
    db.session.commit()
    branch = login("branch_secretary")
    printed = branch.get(f"/reports/branches/{city.branch.id}/year/{YEAR}/print").get_data(as_text=True)
    assert str(YEAR) in printed and "print-landscape" in printed and "signatures" in printed
    response = branch.get(f"/reports/branches/{city.branch.id}/year/{YEAR}.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Name" and rows[1][0] == "'=cmd|' /C calc'!A0"
    assert rows[1][1] == "翠湖社区" and rows[1][2] == 3  # a number in the spreadsheet, not text
    assert login("community_secretary").get(f"/reports/branches/{city.branch.id}/year/{YEAR}.xlsx").status_code == 404


def test_member_pages_are_the_members_own(login, city):
    member = login("13800000001")
    page = member.get(f"/reports/mine?year={YEAR}")
    assert page.status_code == 200 and "翠湖社区" in page.get_data(as_text=True)
    write = member.get(f"/reports/mine/{YEAR}/Y")
    assert write.status_code == 200 and "3" in write.get_data(as_text=True)
    assert login("community_secretary").get("/reports/mine").status_code == 404
    future = member.post(f"/reports/mine/{local_today().year + 1}/Y", {"body": "x", "action": "submit"})
    assert future.status_code == 422
    assert db.session.scalar(select(func.count(Report.id))) == 0
    blank = member.post(f"/reports/mine/{YEAR}/Y", {"body": " ", "action": "submit"})
    assert blank.status_code == 422 and "field-error" in blank.get_data(as_text=True)
    submitted = member.post(f"/reports/mine/{YEAR}/Y", {"body": "全年服务情况", "action": "submit"})
    assert submitted.status_code == 303
    twice = member.post(f"/reports/mine/{YEAR}/Y", {"body": "再次", "action": "submit"})
    assert twice.status_code == 422 and "already submitted" in twice.get_data(as_text=True)
    assert db.session.scalar(select(Report.body)) == "全年服务情况"


def test_rules_pages_are_scoped_and_refuse_loosening(login, city):
    district = login("district_org")
    assert district.get(f"/reports/rules?year={YEAR}").status_code == 200
    assert district.get(f"/reports/rules/{city.city.id}/{YEAR}").status_code == 404
    assert district.get(f"/reports/rules/{city.other_district.id}/{YEAR}").status_code == 404
    assert login("community_secretary").get("/reports/rules").status_code == 404
    form = {
        "min_hours": "19.5",
        "min_activities": "4",
        "report_required": "y",
        "report_period": "year",
        "report_due": f"{YEAR + 1}-01-15",
        "evaluation_due": f"{YEAR + 1}-01-31",
        "feedback_frequency": "quarter",
        "mark_review": "y",
        "bar_honours": "y",
        "name_in_bulletin": "y",
    }
    district.get(f"/reports/rules/{city.district.id}/{YEAR}")
    loose = district.post(f"/reports/rules/{city.district.id}/{YEAR}", form)
    assert loose.status_code == 422 and "tighten" in loose.get_data(as_text=True)
    assert district.post(f"/reports/rules/{city.district.id}/{YEAR}", dict(form, min_hours="20.3")).status_code == 422
    assert district.post(f"/reports/rules/{city.district.id}/{YEAR}", dict(form, min_hours="30.5")).status_code == 303
    rule = db.session.scalar(select(YearRule).where(YearRule.area_id == city.district.id))
    assert rule.min_half_hours == 61


@pytest.mark.parametrize(
    ("changes", "status", "message"),
    [
        ({"report_in_days": "0"}, 422, "Between 1 and 366 days."),
        ({"report_in_days": "400"}, 422, "Between 1 and 366 days."),
        ({"unit_report_in_rate": "101"}, 422, "Between 1 and 100."),
        ({"unit_min_projects": "-1"}, 422, "Between 0 and 50."),
        ({"unit_min_projects": "三"}, 422, None),
        # The city asks for a report-in within 30 days, 90 % of each branch and 2 projects, with every consequence.
        ({"report_in_days": ""}, 422, "report in within 30 days"),
        ({"report_in_days": "45"}, 422, "report in within 30 days"),
        ({"unit_report_in_rate": "80"}, 422, "at least 90% of a branch"),
        ({"unit_min_projects": "1"}, 422, "at least 2 co-building projects"),
        ({"bar_honours": None}, 422, "not eligible for honours"),
        ({"report_in_days": "20", "unit_report_in_rate": "95", "unit_min_projects": "3"}, 303, None),
    ],
)
def test_a_district_tightens_the_city_rules_consequences_and_thresholds_never_loosens_them(
    login, city, changes, status, message
):
    city_rule = dict(
        min_hours="20", min_activities="4", report_required="y", report_period="year",
        report_due=f"{YEAR + 1}-01-15", evaluation_due=f"{YEAR + 1}-01-31", feedback_frequency="quarter",
        report_in_days="30", unit_report_in_rate="90", unit_min_projects="2",
        mark_review="y", bar_honours="y", name_in_bulletin="y",
    )  # fmt: skip
    org = login("city_org")
    org.get(f"/reports/rules/{city.city.id}/{YEAR}")
    assert org.post(f"/reports/rules/{city.city.id}/{YEAR}", city_rule).status_code == 303
    district = login("district_org")
    district.get(f"/reports/rules/{city.district.id}/{YEAR}")
    form = {k: v for k, v in {**city_rule, **changes}.items() if v is not None}
    response = district.post(f"/reports/rules/{city.district.id}/{YEAR}", form)
    assert response.status_code == status
    if message:
        assert message in response.get_data(as_text=True)
    rule = db.session.scalar(select(YearRule).where(YearRule.area_id == city.district.id))
    if status == 303:
        assert (rule.report_in_days, rule.unit_report_in_rate, rule.unit_min_projects) == (20, 95, 3)
        assert rule.mark_review and rule.bar_honours and rule.name_in_bulletin
    else:
        assert rule is None


def test_overdue_pages_for_the_areas_above(login, city):
    page = login("subdistrict_officer").get(f"/reports/overdue/{city.subdistrict.id}?year={YEAR}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-community="翠湖社区"' in html and "云秀社区" not in html
    assert login("other_org").get(f"/reports/overdue/{city.subdistrict.id}").status_code == 404
    assert login("city_org").get(f"/reports/overdue/{city.city.id}?year={YEAR}").status_code == 200


def test_feedback_sheets_reach_the_branch_only_when_sent(login, city):
    secretary = login("community_secretary")
    secretary.get(f"/reports/feedback/{city.community.id}?year={YEAR}")
    generated = secretary.post(
        f"/reports/feedback/{city.community.id}/generate?year={YEAR}", {"branch_id": city.branch.id, "period": "Q2"}
    )
    assert generated.status_code == 303
    sheet = db.session.scalar(select(FeedbackSheet))
    url = f"/reports/feedback/sheets/{sheet.id}"
    branch = login("branch_secretary")
    assert branch.get(url).status_code == 404  # a draft is the community's own
    line = sheet.lines[0]
    assert secretary.post(url, {"note": "好", f"remark-{line.id}": "积极", "action": "send"}).status_code == 303
    html = branch.get(url).get_data(as_text=True)
    assert "积极" in html and "data-print" in html
    assert login("other_branch_secretary").get(url).status_code == 404
    assert branch.post(url, {"note": "改"}).status_code == 404
    assert "翠湖社区" in branch.get(f"/reports/branches/{city.branch.id}/feedback?year={YEAR}").get_data(as_text=True)


def test_home_pages_show_what_is_owed(login, city):
    submitted_report(city)
    home = login("community_secretary").get("/").get_data(as_text=True)
    assert 'id="home-reports-secretary"' in home
    assert 'id="home-reports"' in login("13800000001").get("/").get_data(as_text=True)
    assert 'id="home-reports-area"' in login("subdistrict_officer").get("/").get_data(as_text=True)
