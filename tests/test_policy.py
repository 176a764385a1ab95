"""Each role × in scope / out of scope, asked of the one policy module."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from kmvolunteer.auth.models import Role, RoleGrant, User
from kmvolunteer.auth.policy import can, scoped
from kmvolunteer.core.audit import AuditEntry, record
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area, Branch, Member


def test_area_view_is_inherited_down_the_tree(world):
    u = world.users
    assert can(u["city_org"], "area.view", world.other_community)
    assert can(u["district_org"], "area.view", world.community)
    assert not can(u["district_org"], "area.view", world.other_community)
    assert not can(u["district_org"], "area.view", world.city)
    assert can(u["subdistrict_officer"], "area.view", world.community2)
    assert not can(u["subdistrict_officer"], "area.view", world.district)
    assert can(u["community_secretary"], "area.view", world.community)
    assert not can(u["community_secretary"], "area.view", world.community2)
    for name in ("branch_secretary", "department_officer", "member"):
        assert not can(u[name], "area.view", world.community)


def test_branch_scope(world):
    u = world.users
    assert can(u["branch_secretary"], "branch.manage", world.branch)
    assert not can(u["branch_secretary"], "branch.manage", world.branch2)
    assert not can(u["branch_secretary"], "branch.manage", world.other_branch)
    assert can(u["district_org"], "branch.manage", world.branch2)
    assert not can(u["district_org"], "branch.manage", world.other_branch)
    assert can(u["city_org"], "branch.manage", world.other_branch)
    for name in ("community_secretary", "subdistrict_officer", "department_officer", "member"):
        assert not can(u[name], "branch.view", world.branch)


def test_member_view_and_phone(world):
    u, m = world.users, world.members
    assert can(u["member"], "member.view", m["member"])
    assert can(u["member"], "member.phone", m["member"])
    assert not can(u["member"], "member.view", m["member2"])
    assert can(u["branch_secretary"], "member.phone", m["member"])
    assert not can(u["branch_secretary"], "member.view", m["member2"])
    # The organization department sees the member but not the full phone number.
    assert can(u["district_org"], "member.view", m["member"])
    assert not can(u["district_org"], "member.phone", m["member"])
    assert not can(u["other_org"], "member.view", m["member"])


def test_user_management_needs_an_org_grant_covering_the_home_area(world):
    u = world.users
    assert can(u["city_org"], "user.manage", u["member"])
    assert can(u["district_org"], "user.manage", u["member"])
    assert not can(u["district_org"], "user.manage", u["other_member"])
    assert not can(u["district_org"], "user.manage", u["city_org"])
    for name in ("branch_secretary", "community_secretary", "subdistrict_officer", "department_officer", "member"):
        assert not can(u[name], "user.manage", u["member"])
        assert not can(u[name], "user.list")
        assert not can(u[name], "audit.view")


def test_granting_is_limited_to_places_in_scope(world):
    u = world.users
    target = u["member2"].id
    inside = RoleGrant(role=Role.community_secretary.value, area=world.community2, user_id=target)
    outside = RoleGrant(role=Role.community_secretary.value, area=world.other_community, user_id=target)
    assert can(u["district_org"], "grant.give", inside)
    assert not can(u["district_org"], "grant.give", outside)
    assert can(u["city_org"], "grant.give", outside)


def test_inactive_or_anonymous_users_can_do_nothing(world):
    user = world.users["city_org"]
    user.active = False
    assert not can(user, "area.view", world.community)
    assert not can(None, "area.view", world.community)


def test_unknown_action_is_an_error_not_a_yes(world):
    with pytest.raises(KeyError):
        can(world.users["city_org"], "no.such.action", None)


def test_scoped_lists(world):
    u = world.users
    names = lambda stmt: sorted(db.session.scalars(stmt).all())  # noqa: E731
    assert names(scoped(select(Area.name), u["district_org"], "area.list").where(Area.level == "community")) == sorted(
        ["文化巷社区", "翠湖社区"]
    )
    assert names(scoped(select(Area.name), u["community_secretary"], "area.list")) == ["翠湖社区"]
    assert names(scoped(select(Member.name), u["branch_secretary"], "member.list")) == ["张明"]
    assert names(scoped(select(Member.name), u["district_org"], "member.list")) == sorted(["李红", "张明"])
    assert names(scoped(select(Member.name), u["member"], "member.list")) == []
    assert len(names(scoped(select(Branch.id), u["city_org"], "branch.list"))) == 3
    assert "13800000003" not in names(scoped(select(User.username), u["district_org"], "user.list"))


def test_scoped_needs_to_read_and_to_manage(world):
    from kmvolunteer.reportin.models import Need
    from tests.factories import make_need

    make_need(world.community, title="翠湖")
    make_need(world.community2, title="文化巷")
    make_need(world.other_community, title="别区")
    db.session.commit()
    u = world.users
    titles = lambda user, action: sorted(db.session.scalars(scoped(select(Need.title), user, action)))  # noqa: E731
    assert titles(u["community_secretary"], "need.manage") == titles(u["community_secretary"], "need.list") == ["翠湖"]
    assert titles(u["subdistrict_officer"], "need.list") == ["文化巷", "翠湖"]
    assert titles(u["subdistrict_officer"], "need.manage") == []  # reads, does not manage
    assert titles(u["member"], "need.list") == titles(u["branch_secretary"], "need.manage") == []


def test_scoped_audit_entries_follow_the_area(world):
    record("test.here", world.branch, scope_path=world.community.path, actor_id=world.users["city_org"].id)
    record("test.there", world.other_branch, scope_path=world.other_community.path, actor_id=world.users["city_org"].id)
    db.session.commit()
    actions = db.session.scalars(scoped(select(AuditEntry.action), world.users["district_org"], "audit.list")).all()
    assert actions == ["test.here"]


def test_the_queues_check_of_each_row_is_service_decide(world):
    """service_decider answers for a row of plain values (the queue's) what can(…, "service.decide", record)
    answers for the record: the secretary of its community decides it, unless it is their own entry."""
    from kmvolunteer.auth.policy import service_decider
    from tests.factories import make_member, make_record

    secretary_as_member = make_member("赵书记", "13800000009", world.branch, world.users["community_secretary"])
    day = date(2026, 3, 2)
    records = [
        make_record(member, community, day, status="submitted")
        for member in (world.members["member"], world.members["other_member"], secretary_as_member)
        for community in (world.community, world.community2, world.other_community)
    ]
    db.session.flush()
    for name, user in world.users.items():
        decides = service_decider(user)
        for entry in records:
            expected = can(user, "service.decide", entry)
            assert decides(entry.community.path, entry.member.user_id) is expected, (name, entry.id)
    assert any(
        service_decider(user)(r.community.path, r.member.user_id) for user in world.users.values() for r in records
    )


# ---------------------------------------------------------------- 机关党委 / 机关工委: read-only, by agency and area

# What the agency's party organization and the work committee read, each asked of a branch, an agency or an
# object of a branch (see _results_objects); nothing else is ever allowed to them.
RESULT_READS = {
    "branch": ("branch.reportin", "branch.year_view", "tally.branch"),
    "agency": ("tally.agency", "results.agency", "letter.agency"),
    "letter": ("letter.view",),
    "report": ("report.view",),
    "sheet": ("feedback.view",),
    "report_in": ("reportin.view",),
    "cobuild": ("reportin.view",),
    "project": ("project.view",),
}
# What the branch secretary may do to the same objects, refused to both roles.
RESULT_WRITES = {
    "branch": ("branch.manage", "branch.view", "branch.cobuild", "branch.remind", "branch_report.write"),
    "agency": ("agency.view", "area.agencies"),
    "report": ("report.ack_branch", "report.ack_community", "report.submit"),
    "sheet": ("feedback.write",),
    "letter": ("letter.issue",),
    "report_in": ("reportin.decide", "reportin.withdraw", "reportin.end"),
    "cobuild": ("reportin.decide", "reportin.withdraw", "reportin.end"),
    "project": ("project.manage",),
    "member": ("member.view", "member.edit", "member.phone", "service.member", "report.write", "service.log"),
}


def _results_objects(world, branch: Branch) -> dict:
    """A submitted member report, a sent feedback sheet, a feedback letter to its agency, a member's and the
    branch's report-ins and a project, of ``branch``."""
    from kmvolunteer.letters.models import FeedbackLetter
    from kmvolunteer.reportin.models import Project
    from kmvolunteer.reports.models import FeedbackSheet, Report
    from tests.factories import make_branch_report_in, make_member, make_report_in

    community = world.community if branch.agency.area_id == world.district.id else world.other_community
    member = branch.members[0] if branch.members else make_member("周新", "13800000077", branch)
    report = Report(
        kind="member", member=member, branch=branch, community=community, year=2026, period="Y", status="submitted"
    )
    sheet = FeedbackSheet(community=community, branch=branch, year=2026, period="Q1", status="sent")
    project = Project(community=community, branch=branch, title="法律咨询进社区")
    letter = FeedbackLetter(
        # One letter per agency and period: the year tells the branches' letters apart.
        serial=f"FKH-2026-TEST{branch.id:06d}",
        community=community,
        agency=branch.agency,
        year=2000 + branch.id,
    )
    letter.period = "Y"
    letter.content = "{}"
    db.session.add_all([report, sheet, project, letter])
    objects = {
        "branch": branch,
        "agency": branch.agency,
        "report": report,
        "sheet": sheet,
        "letter": letter,
        "report_in": make_report_in(member, community, "confirmed"),
        "cobuild": make_branch_report_in(branch, community),
        "project": project,
        "member": member,
    }
    db.session.flush()
    return objects


def test_the_agency_party_and_the_work_committee_read_their_agencies_only(world):
    from tests.factories import make_results_readers

    readers = make_results_readers(world, "secret-2026")
    party, committee, city_committee = readers["party"], readers["committee"], readers["city_committee"]
    own = [_results_objects(world, b) for b in (world.branch, world.branch2)]
    sibling = _results_objects(world, readers["sibling_branch"])  # another agency of the same district
    other = _results_objects(world, world.other_branch)  # an agency of another district
    scope = {
        party: {"in": own, "out": [sibling, other]},
        committee: {"in": [*own, sibling], "out": [other]},
        city_committee: {"in": [*own, sibling, other], "out": []},
    }
    for user, places in scope.items():
        for side in ("in", "out"):
            for objects in places[side]:
                for kind, actions in RESULT_READS.items():
                    for action in actions:
                        assert can(user, action, objects[kind]) is (side == "in"), (user.username, action, side)
                for kind, actions in RESULT_WRITES.items():
                    for action in actions:
                        assert not can(user, action, objects[kind]), (user.username, action)
        assert can(user, "results.menu")
    # Their one write action: the agency's own party organization acknowledges receipt of a letter to its
    # agency; the work committee above does not.
    for objects in own:
        assert can(party, "letter.acknowledge", objects["letter"])
        assert not can(committee, "letter.acknowledge", objects["letter"])
        assert not can(city_committee, "letter.acknowledge", objects["letter"])
    for objects in (sibling, other):
        assert not can(party, "letter.acknowledge", objects["letter"])
    # A draft report and an unsent feedback sheet stay with their authors.
    own[0]["report"].status = "draft"
    own[0]["sheet"].status = "draft"
    for user in scope:
        assert not can(user, "report.view", own[0]["report"]) and not can(user, "feedback.view", own[0]["sheet"])
    # Nobody else reads an agency's results through these rules; the branch secretary still reads their own.
    for name in ("branch_secretary", "community_secretary", "subdistrict_officer", "member"):
        assert not can(world.users[name], "results.menu")
        assert not can(world.users[name], "results.agency", world.agency)
    assert can(world.users["branch_secretary"], "branch.reportin", world.branch)
    assert not can(world.users["branch_secretary"], "branch.reportin", world.branch2)


def test_the_results_readers_hold_no_other_permission(world):
    """Actions asked without an object: the two roles get none of them but their own menu, the list of the
    bulletins published to them, and the party organization its notices (of the feedback letters it receives)."""
    from kmvolunteer.auth.policy import RULES
    from tests.factories import make_results_readers

    readers = make_results_readers(world, "secret-2026")
    for user, expected in (
        (readers["party"], {"results.menu", "notice.list"}),
        (readers["committee"], {"results.menu"}),
        (readers["city_committee"], {"results.menu"}),
    ):
        allowed = set()
        for action, rule in RULES.items():
            try:
                if rule(user, None):
                    allowed.add(action)
            except (AttributeError, TypeError):
                continue  # a rule about an object
        # and published bulletins, and tokens for apps acting for them (with their own rights at most)
        assert allowed == expected | {"bulletin.list", "api_token.personal"}, (user.username, allowed)
