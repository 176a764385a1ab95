"""反馈函 (issue 16, item 2): which agencies are due a letter, what a letter says (frozen at issue), issuing,
correcting (a new letter supersedes), acknowledging, and each refusal changing nothing."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from kmvolunteer.auth.models import Role, RoleGrant
from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.letters import services
from kmvolunteer.letters.models import FeedbackLetter
from kmvolunteer.notices.models import Notice
from kmvolunteer.years.models import YearRule
from tests.conftest import PASSWORD
from tests.factories import letters_world, make_member, make_record, make_rule, make_user

YEAR = local_today().year - 1


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the messages, written in English."""


@pytest.fixture
def served(world):
    return letters_world(world, YEAR, PASSWORD)


def _issue(w, period="H1", who="community_secretary", agency=None, year=YEAR, community=None):
    return services.issue_letter(community or w.community, agency or w.agency, year, period, actor_id=w.users[who].id)


def _letters() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(FeedbackLetter.id)))


def test_the_periods_follow_the_community_rule_feedback_frequency(served):
    w = served
    assert services.letter_periods(w.community, YEAR) == ("H1", "Y")
    make_rule(w.district, YEAR + 1, feedback_frequency="year")
    assert services.letter_periods(w.community, YEAR + 1) == ("Y",)
    assert services.letter_periods(w.community, YEAR - 5) == ()  # no rule that year


def test_the_agencies_due_a_letter_are_those_with_members_or_branches_reported_in(served):
    w = served
    (row,) = services.due_agencies(w.community, YEAR, "H1")
    assert (row.agency.id, row.members, row.branches, row.letter) == (w.agency.id, 1, {w.branch.id}, None)
    assert services.due_agencies(w.community2, YEAR, "H1") == []
    letter = _issue(w)
    db.session.commit()
    (row,) = services.due_agencies(w.community, YEAR, "H1")
    assert row.letter.id == letter.id


def test_a_letter_freezes_members_standing_and_the_co_building_record(served):
    w = served
    letter = _issue(w, "Y")
    db.session.commit()
    assert letter.serial.startswith(f"FKH-{YEAR}-") and len(letter.serial) == 19
    assert (letter.status, letter.member_count) == ("issued", 1)
    data = letter.data
    (member,) = data["members"]
    assert member["name"] == "张明" and member["branch"] == w.branch.name
    assert (member["half_hours"], member["entries"]) == (8, 2)
    assert member["reports"] == [{"period": "Y", "status": "submitted"}]
    assert (member["rating"], member["comment"]) == ("good", "积极参加志愿服务")
    # The branch year view's standing: 4 h and one activity asked, both done.
    assert (member["meets"], member["why"], member["honours"]) == ("Yes", "", "Eligible")
    (branch,) = data["branches"]
    assert branch["members"] == 1 and branch["projects"] == [{"title": "助老食堂", "outcome": ""}]
    assert (branch["rating"], branch["rating_comment"]) == ("good", "按协议开展活动")
    assert branch["agreement"] is not None
    # The first half counts the first half only.
    first_half = _issue(w, "H1")
    assert first_half.data["members"][0]["half_hours"] == 6 and first_half.data["members"][0]["reports"] == []
    # ... and does not judge the year: where a member stands comes with the year's letter.
    h1 = first_half.data["members"][0]
    assert (h1["meets"], h1["why"], h1["review"], h1["honours"]) == ("—", "", "—", "—")
    # Later changes do not touch what was issued.
    make_record(w.members["member"], w.community, date(YEAR, 10, 1), half_hours=10)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(FeedbackLetter, letter.id).data == data
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "letter.issued").limit(1))
    assert entry is not None and json.loads(entry.after)["members"] == 1


def test_the_member_standing_is_the_year_view_s(served):
    """张明 falls short if the rule asks for more: the letter says so, with the year view's words."""
    w = served
    rule = db.session.scalar(select(YearRule).where(YearRule.year == YEAR))
    rule.min_half_hours = 20
    db.session.commit()
    (member,) = _issue(w, "Y").data["members"]
    assert member["meets"] == "No" and "6 h short" in member["why"]


def test_the_party_organization_is_told(served):
    w = served
    letter = _issue(w)
    db.session.commit()
    notices = db.session.scalars(select(Notice).where(Notice.letter_id == letter.id)).all()
    assert [(n.user_id, n.kind) for n in notices] == [(w.extra["readers"]["party"].id, "letter")]
    assert notices[0].read_at is None
    # Signed for: the notice asking for it is read.
    services.acknowledge_letter(letter, actor_id=w.extra["readers"]["party"].id)
    db.session.commit()
    db.session.expire_all()
    assert db.session.scalar(select(Notice.read_at).where(Notice.letter_id == letter.id)) is not None


@pytest.mark.parametrize(
    "case, message",
    [
        ("not_ended", "has not ended yet"),
        ("quarter", "writes letters for"),
        ("no_rule", "No rule has been set"),
        ("nobody", "Nobody of 官渡区城市管理局"),
        ("twice", "was already issued"),
        ("other_community", "Only the secretary of"),
        ("own_agency", "your own agency"),
    ],
)
def test_refusals_change_nothing(served, case, message):
    w = served
    if case == "twice":
        _issue(w)
        db.session.commit()
    if case == "not_ended":
        make_rule(w.city, local_today().year, feedback_frequency="half")
    if case == "own_agency":  # a secretary of 翠湖社区 who is a member of 五华区民政局
        user = make_user(
            "cuihu_member_secretary",
            PASSWORD,
            w.district,
            RoleGrant(role=Role.community_secretary.value, area=w.community),
        )
        make_member("赵敏", "13800000055", w.branch2, user)
        w.users["own"] = user
        db.session.commit()
    before = (_letters(), db.session.scalar(select(func.count(AuditEntry.id))))
    call = {
        "not_ended": lambda: _issue(w, "Y", year=local_today().year),
        "quarter": lambda: _issue(w, "Q1"),
        "no_rule": lambda: _issue(w, "Y", year=YEAR - 5),
        "nobody": lambda: _issue(w, agency=w.other_agency),
        "twice": lambda: _issue(w),
        "other_community": lambda: _issue(w, who="other_secretary"),
        "own_agency": lambda: _issue(w, who="own"),
    }[case]
    with pytest.raises(ServiceError, match=message):
        call()
    db.session.rollback()
    assert (_letters(), db.session.scalar(select(func.count(AuditEntry.id)))) == before


def test_a_correction_is_a_new_letter_that_supersedes(served):
    w = served
    old = _issue(w)
    db.session.commit()
    with pytest.raises(ServiceError, match="Say what the correction changes"):
        services.correct_letter(old, "  ", actor_id=w.users["community_secretary"].id)
    db.session.rollback()
    with pytest.raises(ServiceError, match="not within your scope"):
        services.correct_letter(old, "时长有误", actor_id=w.users["other_secretary"].id)
    db.session.rollback()
    assert _letters() == 1
    make_record(w.members["member"], w.community, date(YEAR, 4, 1), half_hours=2)  # approved late
    new = services.correct_letter(old, "补录一次服务", actor_id=w.users["community_secretary"].id)
    db.session.commit()
    db.session.expire_all()
    old, new = db.session.get(FeedbackLetter, old.id), db.session.get(FeedbackLetter, new.id)
    assert (old.status, old.correction_reason, old.superseded_by.id) == ("superseded", "补录一次服务", new.id)
    assert (new.status, new.supersedes_id, new.serial != old.serial) == ("issued", old.id, True)
    assert new.data["members"][0]["half_hours"] == 8 and old.data["members"][0]["half_hours"] == 6
    (row,) = services.due_agencies(w.community, YEAR, "H1")
    assert row.letter.id == new.id
    with pytest.raises(ServiceError, match="already Superseded"):
        services.correct_letter(old, "再次更正", actor_id=w.users["community_secretary"].id)
    db.session.rollback()
    assert _letters() == 2
    assert services.find_letter(old.serial.lower()).id == old.id and services.find_letter("FKH-NONE") is None


def test_only_the_agency_party_organization_acknowledges_once(served):
    w = served
    readers = w.extra["readers"]
    letter = _issue(w)
    db.session.commit()
    for user in (readers["committee"], w.users["branch_secretary"], w.users["community_secretary"]):
        with pytest.raises(ServiceError, match="not within your scope"):
            services.acknowledge_letter(letter, actor_id=user.id)
        db.session.rollback()
    services.acknowledge_letter(letter, actor_id=readers["party"].id)
    db.session.commit()
    db.session.expire_all()
    letter = db.session.get(FeedbackLetter, letter.id)
    assert (letter.status, letter.acknowledged_by_id) == ("acknowledged", readers["party"].id)
    with pytest.raises(ServiceError, match="already Acknowledged"):
        services.acknowledge_letter(letter, actor_id=readers["party"].id)
    db.session.rollback()
    # An acknowledged letter can still be corrected; the correction waits for its own acknowledgement.
    new = services.correct_letter(letter, "更正评价", actor_id=w.users["community_secretary"].id)
    db.session.commit()
    assert new.status == "issued"
    with pytest.raises(ServiceError, match="already Superseded"):
        services.acknowledge_letter(db.session.get(FeedbackLetter, letter.id), actor_id=readers["party"].id)
    db.session.rollback()
