"""社区大党委 and 街道党建联盟 (issue 17, item 1): member units, part-time members, the rotating chair; the rules
and their refusals, the page and who may see and keep it."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from kmvolunteer.bodies import services
from kmvolunteer.bodies.models import BodyMember, BodyUnit, ChairMonth
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db


@pytest.fixture(autouse=True)
def _english_messages(english):
    """The messages are read in English."""


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_community_has_a_committee_and_a_subdistrict_an_alliance(world):
    committee = services.open_body(world.community, actor_id=None)
    alliance = services.open_body(world.subdistrict, actor_id=None)
    assert (committee.kind, committee.name) == ("committee", "翠湖社区大党委")
    assert (alliance.kind, alliance.name) == ("alliance", "华山街道党建联盟")
    assert services.open_body(world.community, actor_id=None).id == committee.id  # one per area
    with pytest.raises(ServiceError, match="community or a subdistrict"):
        services.open_body(world.district, actor_id=None)


def test_units_members_and_their_refusals(world):
    body = services.open_body(world.community, actor_id=None)
    agency = services.add_unit(body, "agency", "ignored", world.agency.id, actor_id=None)
    school = services.add_unit(body, "school", "翠湖小学", None, actor_id=None)
    db.session.commit()
    assert agency.name == "五华区民政局" and agency.agency_id == world.agency.id
    for kind, name, agency_id, message in [
        ("school", "翠湖小学", None, "already a member unit"),
        ("agency", "", 999999, "Choose the agency"),
        ("bank", "银行", None, "what kind of unit"),
        ("company", " ", None, "Name the unit"),
    ]:
        with pytest.raises(ServiceError, match=message):
            services.add_unit(body, kind, name, agency_id, actor_id=None)
        db.session.rollback()
    body = services.body_of(world.community)
    services.add_member(body, school.id, "李校长", "校长", date(2026, 1, 1), date(2028, 12, 31), actor_id=None)
    db.session.commit()
    for unit_id, start, end, message in [
        (school.id, date(2026, 1, 1), date(2025, 1, 1), "ends after it starts"),
        (school.id, None, date(2025, 1, 1), "first and last day"),
        (999999, date(2026, 1, 1), date(2027, 1, 1), "the body's member units"),
    ]:
        with pytest.raises(ServiceError, match=message):
            services.add_member(body, unit_id, "王五", "", start, end, actor_id=None)
        db.session.rollback()
    assert (_count(BodyUnit), _count(BodyMember)) == (2, 1)


def test_the_alliance_chair_rotates_month_by_month(world):
    alliance = services.open_body(world.subdistrict, actor_id=None)
    units = [
        services.add_unit(alliance, "company", name, None, actor_id=None) for name in ("甲公司", "乙医院", "丙学校")
    ]
    today = local_today()
    chairs = services.set_rotation(alliance, today, [units[1].id, units[0].id], actor_id=None)
    assert len(chairs) == 12 and [c.unit_id for c in chairs[:3]] == [units[1].id, units[0].id, units[1].id]
    view = services.page(alliance, today)
    assert view.chair.id == units[1].id and len(view.schedule) == 12
    # Set again: the months are replaced, not doubled.
    services.set_rotation(alliance, today, [units[2].id], actor_id=None)
    db.session.commit()
    assert _count(ChairMonth) == 12 and services.page(alliance, today).chair.id == units[2].id
    with pytest.raises(ServiceError, match="this month or later"):
        services.set_rotation(alliance, date(2020, 1, 1), [units[0].id], actor_id=None)
    committee = services.open_body(world.community, actor_id=None)
    with pytest.raises(ServiceError, match="Only a party alliance"):
        services.set_rotation(committee, today, [], actor_id=None)


def test_the_page_is_kept_by_the_secretary_and_read_by_the_areas_above_and_the_member_units(login, world):
    url = f"/bodies/areas/{world.community.id}"
    secretary = login("community_secretary")
    assert "No member unit has been added yet." in secretary.get(url).get_data(as_text=True)
    added = secretary.post(f"{url}/units", {"kind": "agency", "agency_id": str(world.agency.id)})
    assert added.status_code == 303
    refused = secretary.post(f"{url}/units", {"kind": "agency", "agency_id": str(world.agency.id)})
    assert refused.status_code == 422 and "already a member unit" in refused.get_data(as_text=True)
    unit = db.session.scalar(select(BodyUnit))
    member = {
        "unit_id": str(unit.id),
        "name": "陈委员",
        "post": "副局长",
        "term_start": "2026-01-01",
        "term_end": "2028-12-31",
    }
    assert secretary.post(f"{url}/members", member).status_code == 303
    assert secretary.post(f"{url}/members", dict(member, term_end="2025-01-01")).status_code == 422
    page = secretary.get(url).get_data(as_text=True)
    assert "陈委员" in page and "五华区民政局" in page and 'id="add-unit"' in page
    # The member unit's branch secretary and the subdistrict read it; neither may change it.
    for who in ("branch_secretary", "subdistrict_officer"):
        reader = login(who)
        page = reader.get(url).get_data(as_text=True)
        assert "陈委员" in page and 'id="add-unit"' not in page
        assert reader.post(f"{url}/units", {"kind": "school", "name": "小学"}).status_code == 404
    for who in ("other_secretary", "other_branch_secretary", "13800000002"):
        assert login(who).get(url).status_code == 404
    assert secretary.post(f"{url}/units", {"kind": "school", "name": "小学"}, csrf=False).status_code == 400
    assert _count(BodyUnit) == 1 and _count(BodyMember) == 1
    # The subdistrict keeps its alliance; a district has none.
    officer = login("subdistrict_officer")
    assert (
        officer.post(
            f"/bodies/areas/{world.subdistrict.id}/units", {"kind": "hospital", "name": "华山医院"}
        ).status_code
        == 303
    )
    assert login("district_org").get(f"/bodies/areas/{world.district.id}").status_code == 404


def _body_with_units(world):
    body = services.open_body(world.community, actor_id=None)
    agency = services.add_unit(body, "agency", "", world.agency.id, actor_id=None)
    school = services.add_unit(body, "school", "翠湖小学", None, actor_id=None)
    db.session.commit()
    return body, agency, school


def _need(title="助老理发", headcount=4):
    from datetime import timedelta

    from kmvolunteer.reportin.services import NeedData

    return NeedData(
        "need", title, None, "", "翠湖社区活动室", local_today() + timedelta(days=7), None, None, "", headcount
    )


def test_a_meeting_records_attendance_and_its_decision_publishes_a_need(world):
    from kmvolunteer.bodies.models import JointMeeting
    from kmvolunteer.reportin.models import Need

    body, agency, school = _body_with_units(world)
    meeting = services.record_meeting(
        body,
        local_today(),
        "社区会议室",
        "研究助老服务",
        "每周组织一次助老理发",
        {agency.id: "present", school.id: "excused"},
        (world.community, _need()),
        actor_id=world.users["community_secretary"].id,
    )
    db.session.commit()
    assert meeting.need.title == "助老理发" and meeting.need.community_id == world.community.id
    assert services.attendance_counts(body, local_today().year) == {
        agency.id: {"present": 1},
        school.id: {"excused": 1},
    }
    # A unit not marked counts as absent; refusals change nothing.
    for held_on, decisions, attendance, need, message in [
        (None, "", {}, None, "day of the meeting"),
        (date(2099, 1, 1), "", {}, None, "once it has been held"),
        (local_today(), "", {agency.id: "late"}, None, "present, excused or absent"),
        (local_today(), "", {}, (world.community, _need()), "the decision the need comes from"),
        (local_today(), "决定", {}, (world.other_community, _need()), "a community of this body"),
        (local_today(), "决定", {}, (world.community, _need(headcount=0)), "between 1 and 1000"),
    ]:
        with pytest.raises(ServiceError, match=message):
            services.record_meeting(body, held_on, "", "议题", decisions, attendance, need, actor_id=None)
        db.session.rollback()
    assert (_count(JointMeeting), _count(Need)) == (1, 1)


def test_minutes_are_read_by_those_who_read_the_body(login, world):
    body, agency, school = _body_with_units(world)
    secretary = login("community_secretary")
    url = f"/bodies/areas/{world.community.id}/meetings/new"
    form = {
        "held_on": local_today().isoformat(),
        "topics": "<script>alert(1)</script>研究共建项目",
        "decisions": "开展垃圾分类宣传",
        f"unit-{agency.id}": "present",
        f"unit-{school.id}": "absent",
    }
    assert "翠湖小学" in secretary.get(url).get_data(as_text=True)
    refused = secretary.post(url, dict(form, held_on="2099-01-01"))
    assert refused.status_code == 422 and "研究共建项目" in refused.get_data(as_text=True)  # what was typed stays
    saved = secretary.post(url, form)
    assert saved.status_code == 303
    minutes = saved.headers["Location"]
    page = secretary.get(minutes).get_data(as_text=True)
    assert "开展垃圾分类宣传" in page and "<script>alert(1)" not in page and "&lt;script&gt;" in page
    assert login("branch_secretary").get(minutes).status_code == 200  # a member unit's branch
    assert login("other_secretary").get(minutes).status_code == 404
    assert login("branch_secretary").get(url).status_code == 404
    body_page = secretary.get(f"/bodies/areas/{world.community.id}").get_data(as_text=True)
    assert "1 present, 0 excused, 0 absent" in body_page and "0 present, 0 excused, 1 absent" in body_page


def test_the_body_tally_counts_each_units_part_in_its_area(login, world):
    from datetime import datetime

    from kmvolunteer.reportin.models import Claim, Project
    from tests.factories import make_need, make_record

    body, agency, school = _body_with_units(world)
    services.record_meeting(body, local_today(), "", "议题", "", {agency.id: "present"}, actor_id=None)
    member = world.members["member"]  # 五华区民政局's
    make_record(member, world.community, local_today(), half_hours=5)
    make_record(member, world.other_community, local_today(), half_hours=7)  # outside the body's area
    need = make_need(world.community)
    db.session.add_all(
        [
            Claim(need=need, member=member),
            Claim(need=make_need(world.community, title="助老"), branch=world.branch2),
            Project(
                community=world.community, branch=world.branch, title="助老食堂", status="done", done_at=datetime.now()
            ),
        ]
    )
    db.session.commit()
    rows = {t.unit.name: t for t in services.tally(body, local_today().year)}
    assert (rows["五华区民政局"].meetings, rows["五华区民政局"].claims) == (1, 2)
    assert (rows["五华区民政局"].projects_done, rows["五华区民政局"].half_hours) == (1, 5)
    assert (rows["翠湖小学"].meetings, rows["翠湖小学"].claims) == (0, 0)
    page = login("community_secretary").get(f"/bodies/areas/{world.community.id}").get_data(as_text=True)
    assert 'id="tally"' in page and "2.5" in page


def test_a_member_units_branches_claim_the_bodys_needs(world):
    from kmvolunteer.reportin import services as reportin_services
    from tests.factories import make_need

    need = make_need(world.community2)  # 文化巷社区, under 华山街道, where no branch co-builds
    db.session.commit()
    with pytest.raises(ServiceError, match="member unit of its"):
        reportin_services.claim_need(need, branch=world.branch2)
    db.session.rollback()
    alliance = services.open_body(world.subdistrict, actor_id=None)  # 华山街道党建联盟
    services.add_unit(alliance, "agency", "", world.agency.id, actor_id=None)
    db.session.commit()
    claim = reportin_services.claim_need(need, branch=world.branch2)
    db.session.commit()
    assert claim.branch_id == world.branch2.id
    with pytest.raises(ServiceError, match="member unit of its"):  # 官渡区's branch is no member unit
        reportin_services.claim_need(need, branch=world.other_branch)
