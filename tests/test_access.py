"""Issue 13, access: managing accounts needs reach over all they hold; nobody decides about themselves or
grants themselves a role; members log service only where they may; phones stay masked in lists and searches."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from kmvolunteer.auth import services as auth_services
from kmvolunteer.auth.models import Role, RoleGrant, User
from kmvolunteer.auth.policy import DECISIONS, RULES, About, can
from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.service import services as service_services
from kmvolunteer.service.models import ServiceRecord
from tests.factories import make_claim, make_record, make_report_in, service_need, service_report_in

# ---------------------------------------------------------------- 1. managing accounts


def _grant(user: User, role: Role, **scope) -> RoleGrant:
    grant = RoleGrant(role=role.value, **scope)
    user.grants.append(grant)
    db.session.commit()
    return grant


def test_managing_an_account_needs_reach_over_every_grant_it_holds(world):
    u = world.users
    district, city = u["district_org"], u["city_org"]
    victim = u["member2"]  # home in the district
    assert can(district, "user.manage", victim)
    _grant(victim, Role.community_secretary, area=world.other_community)  # a grant in another district
    assert not can(district, "user.manage", victim)
    assert can(city, "user.manage", victim)

    city_level = u["subdistrict_officer"]  # home in the district, and now an organization department of the city
    _grant(city_level, Role.org_department, area=world.city)
    assert not can(district, "user.manage", city_level)
    assert not can(city, "user.manage", city_level)  # not strictly above a city grant: nobody here

    peer = u["department_officer"]
    _grant(peer, Role.org_department, area=world.district)  # the district's own level
    assert not can(district, "user.manage", peer)
    assert can(city, "user.manage", peer)

    foreign_member = u["other_member"]  # a member of a branch in the other district, home moved here
    foreign_member.home_area = world.district
    db.session.commit()
    assert not can(district, "user.manage", foreign_member)

    assert not can(district, "user.manage", district) and not can(city, "user.manage", city)


@pytest.mark.parametrize("path", ["reset-password", "active"])
def test_a_district_cannot_reset_or_disable_an_account_above_it(login, world, path):
    victim = world.users["member2"]
    _grant(victim, Role.org_department, area=world.city)
    before = victim.password_hash
    b = login("district_org")
    b.get("/accounts/")
    assert b.post(f"/accounts/{victim.id}/{path}", {"active": "0"}).status_code == 404
    assert b.get(f"/accounts/{victim.id}").status_code == 404
    db.session.expire_all()
    victim = db.session.get(User, victim.id)
    assert victim.active and victim.password_hash == before and not victim.must_change_password


def test_services_refuse_managing_out_of_reach(world):
    u = world.users
    victim = u["member2"]
    _grant(victim, Role.org_department, area=world.district)
    with pytest.raises(ServiceError):
        auth_services.reset_password(victim, actor=u["district_org"])
    with pytest.raises(ServiceError):
        auth_services.set_active(victim, False, actor=u["district_org"])
    grant = victim.grants[0]
    with pytest.raises(ServiceError):
        auth_services.revoke_grant(grant, actor=u["district_org"])
    auth_services.revoke_grant(grant, actor=u["city_org"])


# ---------------------------------------------------------------- 3. nobody grants themselves


def test_nobody_grants_a_role_to_their_own_account(login, world):
    u = world.users
    me = u["district_org"]
    own = auth_services.build_grant(Role.community_secretary, area=world.community2, user=me)
    assert not can(me, "grant.give", own)
    with pytest.raises(ServiceError):
        auth_services.add_grant(me, own, actor=me)
    db.session.rollback()
    b = login("district_org")
    b.get("/accounts/")
    response = b.post(
        f"/accounts/{me.id}/grants", {"role": "community_secretary", "scope": f"area:{world.community2.id}"}
    )
    assert response.status_code == 404
    assert db.session.scalar(select(func.count(RoleGrant.id)).where(RoleGrant.user_id == me.id)) == 1
    # Nor revokes their own grant, nor makes someone an organization department at their own level.
    assert not can(me, "grant.give", me.grants[0])
    peer = auth_services.build_grant(Role.org_department, area=world.district, user=u["member2"])
    assert not can(me, "grant.give", peer)
    assert can(u["city_org"], "grant.give", peer)
    ordinary = auth_services.build_grant(Role.community_secretary, area=world.community2, user=u["member2"])
    assert can(me, "grant.give", ordinary)
    # The form offers only what may be granted: no organization-department role at the district's own level.
    form = b.get(f"/accounts/{u['member2'].id}?role=org_department").get_data(as_text=True)
    assert f'value="area:{world.district.id}"' not in form
    form = login("city_org").get(f"/accounts/{u['member2'].id}?role=org_department").get_data(as_text=True)
    assert f'value="area:{world.district.id}"' in form and f'value="area:{world.city.id}"' not in form


# ---------------------------------------------------------------- 2. nobody decides about themselves


def _secretary_member(world):
    """张明, a member of the branch, who is also the community's secretary and the branch's secretary."""
    user = world.users["member"]
    user.grants.append(RoleGrant(role=Role.community_secretary.value, area=world.community))
    user.grants.append(RoleGrant(role=Role.branch_secretary.value, branch=world.branch))
    db.session.commit()
    return user, world.members["member"]


def _report(world, member, kind="member"):
    from kmvolunteer.reports.models import Report

    report = Report(
        kind=kind,
        member=member if kind == "member" else None,
        branch=world.branch,
        community=world.community,
        year=local_today().year,
        period="Y",
        status="submitted",
    )
    db.session.add(report)
    db.session.flush()
    return report


def _sheet(world, branch):
    from kmvolunteer.reports.models import FeedbackSheet

    sheet = FeedbackSheet(community=world.community, branch=branch, year=local_today().year, period="Y")
    db.session.add(sheet)
    db.session.flush()
    return sheet


def _resource(world, branch):
    from kmvolunteer.reportin.models import Resource

    resource = Resource(branch=branch, community=world.community, title="法律咨询", status="offered")
    db.session.add(resource)
    db.session.flush()
    return resource


# For each decision action: (an object about the given member or their branch, one about someone else).
def _summonses(w, member):
    """Two handled summonses of the community's whistle; the member is an officer of the first department."""
    from kmvolunteer.core.time import utcnow
    from kmvolunteer.org.models import Department
    from kmvolunteer.whistles.models import Summons, Whistle, WhistleCategory

    mine, theirs = (Department(name=name, area=w.subdistrict) for name in ("华山街道城管中队", "华山街道市场监管所"))
    member.user.grants.append(RoleGrant(role=Role.department_officer.value, department=mine))
    whistle = Whistle(
        area=w.community,
        title="占道经营",
        problem="早市占道",
        address="翠湖南路",
        category=WhistleCategory(name="市场秩序"),
    )
    now = utcnow()
    rows = [
        Summons(whistle=whistle, department=d, status="handled", sign_due_at=now, contact_due_at=now, handle_due_at=now)
        for d in (mine, theirs)
    ]
    db.session.add_all(rows)
    db.session.flush()
    return rows


def _extensions(w, member):
    from kmvolunteer.whistles.models import SummonsExtension

    rows = [SummonsExtension(summons=s, working_days=2, request_reason="需协调产权单位") for s in _summonses(w, member)]
    db.session.add_all(rows)
    db.session.flush()
    return rows


DECISION_OBJECTS = {
    "summons.rate": lambda w, m, other: _summonses(w, m),
    "extension.decide": lambda w, m, other: _extensions(w, m),
    "reportin.decide": lambda w, m, other: (make_report_in(m, w.community), make_report_in(other, w.community)),
    "reportin.end": lambda w, m, other: (
        make_report_in(m, w.community, "confirmed"),
        make_report_in(other, w.community, "confirmed"),
    ),
    "resource.take": lambda w, m, other: (_resource(w, m.branch), _resource(w, other.branch)),
    "service.decide": lambda w, m, other: (
        make_record(m, w.community, local_today(), status="submitted"),
        make_record(other, w.community, local_today(), status="submitted"),
    ),
    "service.revoke": lambda w, m, other: (
        make_record(m, w.community, local_today()),
        make_record(other, w.community, local_today()),
    ),
    "report.ack_branch": lambda w, m, other: (_report(w, m), _report(w, other)),
    "report.ack_community": lambda w, m, other: (_report(w, m), _report(w, other)),
    "evaluation.rate": lambda w, m, other: (About(w.community, member=m), About(w.community, member=other)),
    "feedback.write": lambda w, m, other: (_sheet(w, m.branch), _sheet(w, other.branch)),
    "unit_rating.rate": lambda w, m, other: (
        About(w.community, branch=m.branch),
        About(w.community, branch=other.branch),
    ),
    # Putting a member on an on-site sheet or correcting their times (before the row exists: an About).
    "onsite.mark": lambda w, m, other: (About(w.community, member=m), About(w.community, member=other)),
    # A letter is about a whole agency: ``other`` is of the same agency, so the other is another agency's.
    "letter.issue": lambda w, m, other: (
        About(w.community, agency=m.branch.agency),
        About(w.community, agency=w.other_agency),
    ),
}


@pytest.mark.parametrize("action", sorted(DECISIONS))
def test_nobody_decides_about_themselves(world, action):
    user, me = _secretary_member(world)
    other = world.members["member2"]  # in the other branch of the same agency
    if action == "report.ack_branch":  # the branch acknowledges its own members' reports: a colleague
        from tests.factories import make_member

        other = make_member("赵亮", "13800000009", world.branch)
        db.session.flush()
    mine, theirs = DECISION_OBJECTS[action](world, me, other)
    assert can(user, action, theirs), f"{action}: the secretary may decide about someone else"
    assert not can(user, action, mine), f"{action}: nobody decides about themselves"


# Actions whose names sound like decisions but decide about nobody else, and why.
NOT_DECISIONS = {
    "certificate.issue": "a member prints their own certificate",
    "service.decide_any": "whether to show the queue's decision buttons; each record is checked by service.decide",
    "service.attendance": "the organizer's sheet; each attendee's record is checked by service.decide",
    "letter.acknowledge": "the agency's party organization signs for a letter it received; it decides about nobody",
    "api_token.revoke": "a person revokes their own token, a department its integration's: nobody is judged",
    "bulletin.publish": (
        "the department publishes figures the tallies counted and reasons years/standing.py gave, about every unit "
        "of its area at once: nobody is judged by the publisher, and a department officer who is a member of a named "
        "branch could otherwise never publish their area's bulletin"
    ),
}
DECISION_WORDS = (
    "decide",
    "revoke",
    "ack",
    "rate",
    "take",
    "end",
    "approve",
    "confirm",
    "evaluat",
    "judge",
    "send",
    "issue",
    "publish",
    "write",
)


def test_every_decision_action_names_whom_it_is_about():
    """An action that approves, confirms, rates, acknowledges or takes up is a decision: it must be in
    DECISIONS (with whom it is about), or the one rule would not guard it."""
    sounds_like = {a for a in RULES if any(w in a.split(".")[-1] for w in DECISION_WORDS)}
    own_work = {"report.write", "branch_report.write"}  # writing one's own report is not deciding about it
    assert sounds_like - DECISIONS - set(NOT_DECISIONS) - own_work == set()
    assert set(DECISION_OBJECTS) == DECISIONS  # and each has its case in the test above


def test_the_community_queue_bulk_confirm_skips_the_secretarys_own_report_in(login, world):
    from kmvolunteer.reportin.models import ReportIn

    user, me = _secretary_member(world)
    mine = make_report_in(me, world.community)
    theirs = make_report_in(world.members["member2"], world.community)
    db.session.commit()
    b = login(user.username)
    b.get(f"/communities/{world.community.id}/queue")
    response = b.post(f"/communities/{world.community.id}/queue/confirm", {"ids": [mine.id, theirs.id]})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(ReportIn, mine.id).status == "pending"
    assert db.session.get(ReportIn, theirs.id).status == "confirmed"
    page = b.get(f"/communities/{world.community.id}/queue").get_data(as_text=True)
    assert "张明" in page and "不能审核自己" in page


def test_the_evaluation_page_does_not_rate_oneself(login, world):
    from kmvolunteer.reports import services as report_services
    from kmvolunteer.reports.models import Evaluation
    from tests.factories import report_in_at

    user, me = _secretary_member(world)
    other = world.members["member2"]
    year = local_today().year
    for member in (me, other):
        report_in_at(world.community, member=member)
    db.session.commit()
    b = login(user.username)
    page = b.get(f"/reports/evaluations/{world.community.id}/{year}").get_data(as_text=True)
    assert f'name="rating-{me.id}"' not in page and f'name="rating-{other.id}"' in page
    response = b.post(
        f"/reports/evaluations/{world.community.id}/{year}/save",
        {f"rating-{me.id}": "fair", f"rating-{other.id}": "fair"},
    )
    assert response.status_code == 303
    one = b.post(f"/reports/evaluations/{world.community.id}/{year}/members/{me.id}", {f"rating-{me.id}": "fair"})
    assert one.status_code in (303, 422)
    ratings = dict(db.session.execute(select(Evaluation.member_id, Evaluation.rating)).all())
    assert ratings == {other.id: "fair"}
    with pytest.raises(ServiceError):
        report_services.set_rating(world.community, me, year, "excellent", reason="自评", actor_id=user.id)
    rated, _skipped = report_services.rate_unrated(world.community, year, "fair", actor_id=user.id)
    assert me not in rated


def test_service_bulk_and_single_decisions_refuse_ones_own_entry_with_the_policys_word(world):
    user, me = _secretary_member(world)
    mine = make_record(me, world.community, local_today(), status="submitted")
    db.session.commit()
    with pytest.raises(ServiceError, match="本人|own"):
        service_services.approve(mine, user)
    result = service_services.bulk_decide([mine.id], user, "approve")
    assert not result.done and result.skipped
    assert db.session.get(ServiceRecord, mine.id).status == "submitted"


# ---------------------------------------------------------------- 4. where a member logs service


def _entry(**kw):
    values = {"service_date": local_today() - timedelta(days=1), "content": "反诈宣传", "hours": Decimal("2")}
    values.update(kw)
    return service_services.EntryData(**values)


def test_a_member_logs_service_only_where_they_may(world):
    user, member = world.users["member"], world.members["member"]
    service_report_in(member, world.community)
    own_need = service_need(world.community, "本社区需求")
    elsewhere = service_need(world.community2, "别处需求")
    claimed = service_need(world.other_community, "认领的需求")
    make_claim(claimed, member)
    db.session.commit()
    assert can(user, "service.place", (world.community, None))
    assert can(user, "service.place", (world.community, own_need))
    assert can(user, "service.place", (world.other_community, claimed))
    assert not can(user, "service.place", (world.community2, None))
    assert not can(user, "service.place", (world.community2, elsewhere))
    with pytest.raises(ServiceError) as refused:
        service_services.log_entry(member, user, _entry(community_id=world.community2.id))
    assert refused.value.field == "community_id"
    with pytest.raises(ServiceError) as refused:
        service_services.log_entry(member, user, _entry(need_id=elsewhere.id))
    assert refused.value.field == "need_id"
    db.session.rollback()
    service_services.log_entry(member, user, _entry(need_id=claimed.id))
    record = service_services.log_entry(member, user, _entry(community_id=world.community.id, content="值守"))
    with pytest.raises(ServiceError):
        service_services.edit_entry(record, user, _entry(community_id=world.community2.id, content="值守"))
    communities, needs = service_services.entry_choices(member)
    assert world.community2 not in communities and elsewhere not in needs
    assert {n.id for n in needs} == {own_need.id, claimed.id}


def test_a_member_not_reported_in_is_told_to_report_in(login, world):
    b = login("13800000001")
    page = b.get("/service/new")
    html = page.get_data(as_text=True)
    assert "请先报到" in html and world.community2.name not in html
    response = b.post(
        "/service/new",
        {
            "service_date": (local_today() - timedelta(days=1)).isoformat(),
            "community_id": world.community2.id,
            "content": "值守",
            "hours": "2",
        },
    )
    assert response.status_code == 422
    assert db.session.scalar(select(func.count(ServiceRecord.id))) == 0


# ---------------------------------------------------------------- 5. phones masked in searches and logs


def test_roster_search_matches_phone_digits_only_for_those_who_see_them(login, world):
    by_org = login("district_org")
    url = f"/branches/{world.branch.id}"
    assert "张明" not in by_org.get(f"{url}?q=00000001").get_data(as_text=True).split("<tbody>")[-1]
    assert "张明" in by_org.get(f"{url}?q=张明").get_data(as_text=True)
    assert "张明" in login("branch_secretary").get(f"{url}?q=00000001").get_data(as_text=True)


def test_service_queue_filter_does_not_match_hidden_phone_digits(login, world):
    member = world.members["member"]
    make_record(member, world.community, local_today(), status="submitted")
    db.session.commit()
    officer = login("subdistrict_officer")
    assert "张明" not in officer.get("/service/queue?member=0000000").get_data(as_text=True).split("<tbody")[-1]
    assert "张明" in officer.get("/service/queue?member=张明").get_data(as_text=True)
    secretary = login("community_secretary")
    assert "张明" not in secretary.get("/service/queue?member=0000000").get_data(as_text=True).split("<tbody")[-1]
    service_report_in(member, world.community)  # confirmed: now the secretary sees the number, and finds by it
    db.session.commit()
    assert "张明" in secretary.get("/service/queue?member=0000000").get_data(as_text=True)


def test_accounts_search_does_not_match_hidden_phone_digits(login, world):
    b = login("district_org")
    assert "张明" not in b.get("/accounts/?q=00000001").get_data(as_text=True)
    assert "张明" in b.get("/accounts/?q=张明").get_data(as_text=True)


def test_the_audit_log_names_people_and_masks_phones(login, world):
    from kmvolunteer.core.audit import record

    member = login("13800000001")  # logging in writes an entry done by a member, whose login is their phone
    member.get("/")
    record(
        "test.legacy",
        world.branch,
        scope_path=world.community.path,
        summary="13800000002 旧记录",
        actor_id=world.users["member"].id,
    )
    db.session.commit()
    b = login("district_org")
    target = world.users["member2"]
    b.get("/accounts/")
    b.post(f"/accounts/{target.id}/reset-password")
    html = b.get("/audit/").get_data(as_text=True)
    assert "13800000001" not in html and "13800000002" not in html
    assert "张明" in html and "138****0002" in html
    stored = " ".join(
        f"{e.summary} {e.before} {e.after}"
        for e in db.session.scalars(select(AuditEntry).where(AuditEntry.action != "test.legacy"))
    )
    assert "13800000001" not in stored and "13800000002" not in stored
    # The member's login entry no longer holds the number, so the hidden digits find nothing.
    assert "登录" not in b.get("/audit/?q=00000001").get_data(as_text=True).split("<tbody>")[-1]
    assert "重置" in b.get("/audit/?actor=district_org").get_data(as_text=True)
    assert "张明" in b.get("/audit/?actor=张明").get_data(as_text=True)
