"""单位评价: the community's yearly rating of each branch that reported in to it — the rows and their figures,
the rules (and each refusal changing nothing), the page and its htmx row, scope, and the branch's view."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from kmvolunteer.auth.models import Role, RoleGrant
from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.time import local_today, utcnow
from kmvolunteer.extensions import db
from kmvolunteer.reportin.models import Project
from kmvolunteer.reports import units
from kmvolunteer.reports.models import UnitRating
from kmvolunteer.years.models import Year
from tests.factories import make_record, report_in_at

HX = {"HX-Request": "true"}
YEAR = local_today().year - 1


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the messages, written in English."""


@pytest.fixture
def cobuilt(world):
    """机关党支部 co-builds with 翠湖社区 since 2020; 张明 (its member) reported in there and served 3 hours
    last year; the branch finished one project there last year and one the year before."""
    w = world
    report_in_at(w.community, branch=w.branch)
    report_in_at(w.community, member=w.members["member"])
    make_record(w.members["member"], w.community, date(YEAR, 5, 1), half_hours=6)
    make_record(w.members["member"], w.community, date(YEAR, 6, 1), half_hours=2, status="submitted")
    for title, done in (("助老食堂", datetime(YEAR, 9, 1)), ("旧书漂流", datetime(YEAR - 1, 9, 1))):
        db.session.add(Project(community=w.community, branch=w.branch, title=title, status="done", done_at=done))
    db.session.commit()
    return w


def _ratings() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(UnitRating.id)))


def _rate(w, rating="good", comment="", who="community_secretary", year=YEAR, branch=None):
    return units.rate_unit(w.community, branch or w.branch, year, rating, comment, actor_id=w.users[who].id)


# ---------------------------------------------------------------- services


def test_rows_are_the_branches_reported_in_during_the_year_with_what_the_rating_rests_on(cobuilt):
    w = cobuilt
    # 离退休干部党支部 co-built until the year before: not rated this year.
    report_in_at(w.community, branch=w.branch2, status="ended", ended_at=datetime(YEAR - 1, 6, 1))
    db.session.commit()
    (row,) = units.unit_rows(w.community, YEAR)
    assert row.branch.id == w.branch.id
    assert (row.members, row.half_hours, row.entries, row.projects_done) == (1, 6, 1, 1)
    assert row.rating is None
    assert [r.branch.id for r in units.unit_rows(w.community, YEAR - 1)] == [w.branch.id, w.branch2.id]
    assert units.unit_rows(w.community2, YEAR) == []
    assert units.unrated_count(w.community, YEAR) == 1


def test_rating_and_changing_it_is_audited_with_what_it_was(cobuilt):
    w = cobuilt
    rating, changed = _rate(w, "good", "按协议开展活动")
    db.session.commit()
    assert changed and rating.rating == "good"
    assert _rate(w, "good", "按协议开展活动") == (rating, False)  # the same again changes nothing
    _rate(w, "excellent", "项目完成出色")
    db.session.commit()
    (row,) = units.unit_rows(w.community, YEAR)
    assert (row.rating.rating, row.rating.comment) == ("excellent", "项目完成出色")
    assert units.unrated_count(w.community, YEAR) == 0
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action.like("unit_rating.%")).order_by(AuditEntry.id)
    ).all()
    assert [e.action for e in entries] == ["unit_rating.rated", "unit_rating.changed"]
    assert entries[1].before_data() == {"rating": "good", "comment": "按协议开展活动"}
    assert entries[1].after_data()["rating"] == "excellent"
    assert [r.rating for r in units.ratings_received(w.branch, YEAR)] == ["excellent"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rating": "superb"}, "Choose a rating"),
        ({"rating": ""}, "Choose a rating"),
        ({"rating": "poor"}, "why the branch is rated"),
        ({"comment": "很" * 501}, "at most 500"),
        ({"year": local_today().year + 1}, "has not started yet"),
        ({"branch": "branch2"}, "did not report in"),
        ({"who": "secretary_of_the_branch"}, "cannot rate your own branch"),
    ],
)
def test_refusals_change_nothing(cobuilt, change, message):
    w = cobuilt
    if change.get("who"):
        # 张明's user, a member of the branch, is also the community's secretary.
        w.users["member"].grants.append(RoleGrant(role=Role.community_secretary.value, area=w.community))
        db.session.commit()
        change = {"who": "member"}
    if change.get("branch"):
        change = {"branch": w.branch2}
    with pytest.raises(ServiceError, match=message):
        _rate(w, **{"comment": "", **change})
    db.session.rollback()
    assert _ratings() == 0


def test_a_closed_year_keeps_its_ratings(cobuilt):
    w = cobuilt
    _rate(w, "good")
    db.session.add(Year(year=YEAR, status="closed", closed_at=utcnow()))
    db.session.commit()
    with pytest.raises(ServiceError, match="is closed"):
        _rate(w, "poor", "未履行协议")
    db.session.rollback()
    assert db.session.scalar(select(UnitRating.rating)) == "good"


# ---------------------------------------------------------------- over HTTP


def test_the_secretary_rates_a_branch_with_a_plain_post_and_in_place_with_htmx(login, cobuilt):
    w = cobuilt
    b = login("community_secretary")
    hub = b.get("/reports/").get_data(as_text=True)
    assert f"/reports/units/{w.community.id}/" in hub
    page = b.get(f"/reports/units/{w.community.id}/{YEAR}").get_data(as_text=True)
    assert "机关党支部" in page and "五华区民政局" in page and "Not rated" in page
    url = f"/reports/units/{w.community.id}/{YEAR}/branches/{w.branch.id}"
    response = b.post(url, {"rating": "good", "comment": "积极参与"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"#unit-{w.branch.id}")
    assert "Rating saved." in b.get(response.headers["Location"]).get_data(as_text=True)
    fragment = b.post(url, {"rating": "excellent", "comment": "积极参与"}, headers=HX)
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and html.lstrip().startswith("<article") and "<html" not in html
    assert "Excellent" in html and "Rating saved." in html
    refused = b.post(url, {"rating": "poor", "comment": ""}, headers=HX)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "why the branch is rated" in html
    assert 'value="poor" checked' in html  # what was chosen stays chosen
    assert db.session.scalar(select(UnitRating.rating)) == "excellent"


def test_the_branch_sees_its_rating(login, cobuilt):
    w = cobuilt
    _rate(w, "good", "按协议开展活动")
    db.session.commit()
    page = login("branch_secretary").get(f"/reports/branches/{w.branch.id}/feedback?year={YEAR}")
    html = page.get_data(as_text=True)
    assert "翠湖社区" in html and "Good" in html and "按协议开展活动" in html


@pytest.mark.parametrize("who", ["other_secretary", "branch_secretary", "subdistrict_officer", "member"])
def test_others_find_no_rating_page(login, cobuilt, who):
    w = cobuilt
    b = login(w.users[who].username)
    assert b.get(f"/reports/units/{w.community.id}/{YEAR}").status_code == 404
    url = f"/reports/units/{w.community.id}/{YEAR}/branches/{w.branch.id}"
    assert b.post(url, {"rating": "poor", "comment": "x"}).status_code == 404
    assert _ratings() == 0


def test_branches_not_reported_in_years_to_come_and_missing_tokens(login, cobuilt):
    w = cobuilt
    b = login("community_secretary")
    base = f"/reports/units/{w.community.id}"
    assert b.post(f"{base}/{YEAR}/branches/{w.branch2.id}", {"rating": "good"}).status_code == 404
    assert b.post(f"{base}/{YEAR}/branches/999999", {"rating": "good"}).status_code == 404
    assert b.get(f"{base}/{local_today().year + 1}").status_code == 404
    assert b.post(f"{base}/{YEAR}/branches/{w.branch.id}", {"rating": "good"}, csrf=False).status_code == 400
    assert _ratings() == 0
