"""The one place that decides who may do what.

Every view asks ``can(user, action, obj)`` before acting on an object and
``scoped(stmt, user, action)`` before listing objects. Scope is inherited down
the place tree: a grant on a district covers its subdistricts and communities.
Views turn a refusal on an object URL into 404, so ids outside one's scope are
not revealed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from sqlalchemy import Select, and_, false, or_, select

from kmvolunteer.auth.models import Role, RoleGrant, User
from kmvolunteer.core import machine
from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Agency, Area, Branch, Department, Member

AREA_READERS = (Role.org_department, Role.subdistrict_officer, Role.community_secretary)


def _area_paths(user: User, roles: tuple[Role, ...]) -> list[str]:
    return [g.area.path for g in user.grants if g.role in {r.value for r in roles} and g.area]


def _branch_ids(user: User) -> set[int]:
    return {g.branch_id for g in user.grants if g.role == Role.branch_secretary.value and g.branch_id}


def _covered(paths: list[str], area: Area | None) -> bool:
    return area is not None and any(area.path.startswith(p) for p in paths)


def _org_covers(user: User, area: Area | None) -> bool:
    return _covered(_area_paths(user, (Role.org_department,)), area)


def _manages_branch(user: User, branch: Branch) -> bool:
    return manages_branch_at(user, branch.id, branch.agency.area.path)


def manages_branch_at(user: User, branch_id: int, agency_area_path: str) -> bool:
    """Does ``user`` manage the branch (as its secretary, or as the organization department over its
    agency)? For lists of many members, without loading each branch."""
    return branch_id in _branch_ids(user) or any(
        agency_area_path.startswith(p) for p in _area_paths(user, (Role.org_department,))
    )


def service_decider(user: User) -> Callable[[str, int | None], bool]:
    """``can(user, "service.decide", record)`` for the rows of a list, from the path of each record's
    community and the id of its member's account: the grants are read once, not once a row."""
    paths = tuple(_area_paths(user, (Role.community_secretary,))) if can(user, "service.decide_any") else ()
    user_id = user.id if paths else None
    return lambda community_path, member_user_id: member_user_id != user_id and community_path.startswith(paths)


# --- The agency's party organization (机关党委) and the work committee (机关工委): results, read-only ---------


def _party_agency_ids(user: User) -> set[int]:
    return {g.agency_id for g in user.grants if g.role == Role.agency_party_org.value and g.agency_id}


def _reads_results(user: User) -> bool:
    """Does the user hold a grant of the agencies' party organizations (机关党委 or 机关工委)?"""
    return bool(_party_agency_ids(user)) or bool(_area_paths(user, (Role.agency_work_committee,)))


def _reads_agency(user: User, agency: Agency | None) -> bool:
    """The agency's own party organization, or a work committee over the agency's area, reads the results of
    its branches and members. Neither changes any of it: the one write rule naming either is the party
    organization's acknowledgement of a feedback letter to its agency (``letter.acknowledge``)."""
    return agency is not None and (
        agency.id in _party_agency_ids(user) or _covered(_area_paths(user, (Role.agency_work_committee,)), agency.area)
    )


def _letters_to(user: User, agency: Agency | None) -> bool:
    """The readers of the letters to ``agency``: its party organization, the work committee over it and the
    secretaries of its branches."""
    return _reads_agency(user, agency) or (
        agency is not None and any(b.id in _branch_ids(user) for b in agency.branches)
    )


def _letter_community_reader(user: User, community: Area | None) -> bool:
    return _community_secretary_of(user, community) or _org_covers(user, community)


def _reads_branch(user: User, branch: Branch | None) -> bool:
    return branch is not None and _reads_agency(user, branch.agency)


def _city_org(user: User) -> bool:
    """The city's organization department: it alone edits city-wide lists and closes years."""
    return any(
        g.role == Role.org_department.value and g.area is not None and g.area.level == "city" for g in user.grants
    )


def _is_self(user: User, member: Member) -> bool:
    return member.user_id is not None and member.user_id == user.id


# --- Managing accounts: a reach over everything the account holds --------------------------------


def _strictly_above(paths: list[str], area: Area) -> bool:
    return any(area.path.startswith(p) and area.path != p for p in paths)


def _account_places(target: User) -> list[Area]:
    """Every place an account acts in: its home, each grant's place, and its branch's if it is a member."""
    places = [target.home_area] + [g.scope_area() for g in target.grants]
    if target.member is not None:
        places.append(target.member.branch.agency.area)
    return places


def _manages_account(user: User, target: User | None) -> bool:
    """An organization department manages an account (reset, unlock, edit, disable, grant, revoke) only if
    its reach covers the account's home and every grant it holds, strictly above any organization-department
    grant the account holds. Nobody manages their own account here."""
    if target is None or target.id == user.id:
        return False
    reach = _area_paths(user, (Role.org_department,))
    if not all(_covered(reach, area) for area in _account_places(target)):
        return False
    return all(
        _strictly_above(reach, g.area)
        for g in target.grants
        if g.role == Role.org_department.value and g.area is not None
    )


def _gives_grant(user: User, grant: RoleGrant) -> bool:
    """Grant or revoke: the grant's place is in reach (strictly above, for an organization department's
    own role), and the account is one the user manages — so never the user's own."""
    target = (
        grant.user
        if grant.user is not None
        else (db.session.get(User, grant.user_id) if grant.user_id is not None else None)
    )
    place = grant.scope_area()
    reach = _area_paths(user, (Role.org_department,))
    in_reach = _strictly_above(reach, place) if grant.role == Role.org_department.value else _covered(reach, place)
    return in_reach and _manages_account(user, target)


RULES: dict[str, Callable[[User, Any], bool]] = {
    "area.view": lambda u, area: _covered(_area_paths(u, AREA_READERS), area),
    "area.agencies": lambda u, area: _org_covers(u, area),
    "agency.view": lambda u, agency: (
        _org_covers(u, agency.area) or any(b.id in _branch_ids(u) for b in agency.branches)
    ),
    "branch.view": _manages_branch,
    "branch.manage": _manages_branch,
    "member.view": lambda u, m: _is_self(u, m) or _manages_branch(u, m.branch),
    "member.edit": lambda u, m: _manages_branch(u, m.branch),
    # The full phone number: the person, their branch secretary and the secretary
    # of their confirmed report-in community. Everyone else sees it masked.
    "member.phone": lambda u, m: _is_self(u, m) or m.branch_id in _branch_ids(u) or _reportin_secretary_of_member(u, m),
    "department.view": lambda u, d: _org_covers(u, d.area) or any(g.department_id == d.id for g in u.grants),
    "roster.import": lambda u, _=None: bool(_branch_ids(u)) or bool(_area_paths(u, (Role.org_department,))),
    "user.list": lambda u, _=None: bool(_area_paths(u, (Role.org_department,))),
    "user.create": lambda u, area: _org_covers(u, area),
    "user.manage": _manages_account,
    "grant.give": _gives_grant,
    "audit.view": lambda u, _=None: bool(_area_paths(u, (Role.org_department,))),
    # --- 双报到 (report-ins, the three lists, claims): begin ---
    "reportin.self": lambda u, m: m is not None and m.active and _is_self(u, m),
    "reportin.view": lambda u, ri: _reportin_view(u, ri),
    "reportin.decide": lambda u, ri: _community_secretary_of(u, ri.community),
    "reportin.withdraw": lambda u, ri: (
        (ri.kind == "member" and ri.member is not None and _is_self(u, ri.member))
        or (ri.kind == "branch" and ri.branch_id in _branch_ids(u))
    ),
    "reportin.end": lambda u, ri: (
        _community_secretary_of(u, ri.community) or (ri.kind == "branch" and ri.branch_id in _branch_ids(u))
    ),
    "community.manage": lambda u, area: (
        area is not None and area.level == "community" and _community_secretary_of(u, area)
    ),
    "community.lists": lambda u, area: area is not None and area.level == "community" and area.active,
    # 项目超市: every community's open needs, for members and branches looking for where to serve.
    "market.view": lambda u, _=None: u.is_member or bool(_branch_ids(u)) or bool(_area_paths(u, AREA_READERS)),
    # The community's grids and estates (issue 17): kept by its secretaries, read by the areas above.
    "community.structure": lambda u, area: (
        area is not None and area.level == "community" and _covered(_area_paths(u, AREA_READERS), area)
    ),
    "reportin.home": lambda u, ri: ri.kind == "member" and ri.member.active and _is_self(u, ri.member),
    # 红色物业: the district's list of rated property companies, for its organization department and the city's.
    "property.list": lambda u, area: (
        area.level == "district" and _covered(_area_paths(u, (Role.org_department,)), area)
    ),
    # The joint bodies (issue 17): a community's 大党委 and a subdistrict's 党建联盟, of an Area.
    "body.view": lambda u, area: (
        area.level in ("community", "subdistrict")
        and (_covered(_area_paths(u, AREA_READERS), area) or _in_body_unit(u, area))
    ),
    "body.manage": lambda u, area: (
        (area.level == "community" and _community_secretary_of(u, area))
        or (area.level == "subdistrict" and _covered(_area_paths(u, (Role.subdistrict_officer,)), area))
    ),
    "area.reportin_figures": lambda u, area: _covered(
        _area_paths(u, (Role.org_department, Role.subdistrict_officer)), area
    ),
    "branch.reportin": lambda u, b: _manages_branch(u, b) or _reads_branch(u, b),
    "branch.cobuild": lambda u, b: b.active and b.id in _branch_ids(u),
    "branch.remind": lambda u, b: b.id in _branch_ids(u),
    "need.manage": lambda u, need: _community_secretary_of(u, need.community),
    "need.claim": lambda u, _=None: u.is_member,
    "claim.withdraw": lambda u, c: (
        (c.member is not None and _is_self(u, c.member)) or (c.branch_id is not None and c.branch_id in _branch_ids(u))
    ),
    "resource.view": lambda u, r: (
        r.branch_id in _branch_ids(u)
        or _covered(_area_paths(u, AREA_READERS), r.community)
        or _org_covers(u, r.branch.agency.area)
    ),
    "resource.take": lambda u, r: _community_secretary_of(u, r.community),
    "resource.withdraw": lambda u, r: r.branch_id in _branch_ids(u),
    "project.view": lambda u, p: (
        p.branch_id in _branch_ids(u)
        or _covered(_area_paths(u, AREA_READERS), p.community)
        or _org_covers(u, p.branch.agency.area)
        or _reads_branch(u, p.branch)
    ),
    "project.manage": lambda u, p: _community_secretary_of(u, p.community) or p.branch_id in _branch_ids(u),
    "category.manage": lambda u, _=None: _city_org(u),
    "workday.manage": lambda u, _=None: _city_org(u),
    # --- 双报到: end ---
    # --- 双报告 (reports, feedback sheets, evaluations, year rules): kmvolunteer/reports ---
    "reports.hub": lambda u, _=None: u.is_member or bool(_branch_ids(u)) or bool(_area_paths(u, AREA_READERS)),
    "report.write": lambda u, member: _is_self(u, member) and member.active,
    "report.view": lambda u, r: _report_view(u, r),
    "report.ack_branch": lambda u, r: r.kind == "member" and r.status != "draft" and r.branch_id in _branch_ids(u),
    "report.ack_community": lambda u, r: r.status != "draft" and _community_secretary_of(u, r.community),
    "branch_report.write": lambda u, branch: branch.id in _branch_ids(u),
    "report.submit": lambda u, r: (
        _is_self(u, r.member) and r.member.active if r.kind == "member" else r.branch_id in _branch_ids(u)
    ),
    "evaluation.manage": lambda u, community: community.level == "community" and _community_secretary_of(u, community),
    # Rating one member: ``e`` is an Evaluation or an About(community, member=…).
    "evaluation.rate": lambda u, e: e.community.level == "community" and _community_secretary_of(u, e.community),
    "feedback.manage": lambda u, community: community.level == "community" and _community_secretary_of(u, community),
    "unit_rating.manage": lambda u, community: community.level == "community" and _community_secretary_of(u, community),
    # Rating one branch: ``r`` is a UnitRating or an About(community, branch=…).
    "unit_rating.rate": lambda u, r: r.community.level == "community" and _community_secretary_of(u, r.community),
    # Writing and sending a branch's feedback sheet: a FeedbackSheet or an About(community, branch=…).
    "feedback.write": lambda u, sheet: (
        sheet.community.level == "community" and _community_secretary_of(u, sheet.community)
    ),
    "feedback.view": lambda u, sheet: (
        _community_secretary_of(u, sheet.community)
        or (
            sheet.status == "sent"
            and (
                _manages_branch(u, sheet.branch)
                or _reads_branch(u, sheet.branch)
                or _covered(_area_paths(u, AREA_READERS[:2]), sheet.community)
            )
        )
    ),
    "branch.year_view": lambda u, b: _manages_branch(u, b) or _reads_branch(u, b),
    "rule.list": lambda u, _=None: bool(_area_paths(u, (Role.org_department,))),
    "rule.edit": lambda u, area: area.level in ("city", "district") and _org_covers(u, area),
    "overdue.view": lambda u, area: _covered(_area_paths(u, AREA_READERS), area),
    # --- end 双报告 ---
    # --- 服务记录 service records (issue 4) ---------------------------------------------
    # A member logs, edits and withdraws their own entries; the community secretary of the
    # record's community decides them; subdistrict and org_department read their area's queue;
    # a revoke is for the community secretary or an org_department covering the community.
    "service.log": lambda u, m: m is not None and _is_self(u, m) and m.active,
    # Where the member may log it: ``place`` is (community, need or None).
    "service.place": lambda u, place: _service_place_open(u, *place),
    "service.view": lambda u, r: (
        _is_self(u, r.member)
        or r.member.branch_id in _branch_ids(u)
        or _covered(_area_paths(u, AREA_READERS), r.community)
    ),
    "service.edit": lambda u, r: _is_self(u, r.member),
    "service.withdraw": lambda u, r: _is_self(u, r.member),
    "service.decide": lambda u, r: _covered(_area_paths(u, (Role.community_secretary,)), r.community),
    "service.revoke": lambda u, r: _covered(
        _area_paths(u, (Role.community_secretary, Role.org_department)), r.community
    ),
    "service.queue": lambda u, _=None: bool(_area_paths(u, AREA_READERS)),
    "service.decide_any": lambda u, _=None: bool(_area_paths(u, (Role.community_secretary,))),
    "service.attendance": lambda u, need=None: (
        bool(_area_paths(u, (Role.community_secretary,)))
        if need is None
        else _covered(_area_paths(u, (Role.community_secretary,)), need.community)
    ),
    "service.member": lambda u, m: _is_self(u, m) or _manages_branch(u, m.branch),
    "certificate.issue": lambda u, m: _is_self(u, m) and m.active,
    "certificate.view": lambda u, c: _is_self(u, c.member) or _manages_branch(u, c.member.branch),
    # --- tallies ---
    "tally.menu": lambda u, _=None: bool(_area_paths(u, AREA_READERS)) or bool(_branch_ids(u)),
    "tally.area": lambda u, area: _covered(_area_paths(u, AREA_READERS), area),
    "tally.employer": lambda u, area: _org_covers(u, area),
    "tally.agency": lambda u, agency: _org_covers(u, agency.area) or _reads_agency(u, agency),
    "tally.branch": lambda u, b: _manages_branch(u, b) or _reads_branch(u, b),
    # --- the agency's party organization (机关党委) and the work committee (机关工委): their results pages ---
    "results.menu": lambda u, _=None: _reads_results(u),
    "results.agency": _reads_agency,
    "year.manage": lambda u, _=None: _city_org(u),
    # --- 积分与星级 points and stars (kmvolunteer/points): a member reads their own; whoever reads a branch's
    # tally reads its ranking and its members' points; an area's readers its ranking; the city sets the scheme.
    "points.menu": lambda u, _=None: u.is_member or bool(_branch_ids(u)) or bool(_area_paths(u, AREA_READERS)),
    "points.member": lambda u, m: _is_self(u, m) or _manages_branch(u, m.branch) or _reads_branch(u, m.branch),
    "points.branch": lambda u, b: _manages_branch(u, b) or _reads_branch(u, b),
    "points.area": lambda u, area: _covered(_area_paths(u, AREA_READERS), area),
    "points.scheme": lambda u, _=None: _city_org(u),
    # --- 反馈函 feedback letters (kmvolunteer/letters): the community secretary issues its letters (an
    # About(community, agency=…) before the letter exists); the community's organization departments read
    # them; so do the agency's party organization, the work committee over it and the agency's branch
    # secretaries. The agency's own party organization acknowledges receipt: its one write action.
    "letter.manage": lambda u, community: community.level == "community" and _community_secretary_of(u, community),
    "letter.list": lambda u, community: community.level == "community" and _letter_community_reader(u, community),
    "letter.issue": lambda u, x: x.community.level == "community" and _community_secretary_of(u, x.community),
    "letter.view": lambda u, letter: _letter_community_reader(u, letter.community) or _letters_to(u, letter.agency),
    "letter.agency": lambda u, agency: _letters_to(u, agency),
    "letter.acknowledge": lambda u, letter: letter.agency_id in _party_agency_ids(u),
    # --- 吹哨报到 whistles (issue 15): the blowing area's staff blow, route, rate, close, reopen, escalate
    # and decide extensions; a department officer acts on their department's summons only; the areas
    # above read everything below them; everyone involved in a whistle reads the one it escalated to.
    "whistle.blow": lambda u, area: area is not None and area.active and _blows_at(u, area),
    "whistle.view": lambda u, w: _whistle_view(u, w),
    "whistle.manage": lambda u, w: _blows_at(u, w.area),
    "summons.view": lambda u, s: s.department_id in _department_ids(u) or _whistle_view(u, s.whistle),
    "summons.act": lambda u, s: s.department_id in _department_ids(u),
    "summons.rate": lambda u, s: _blows_at(u, s.whistle.area),
    "summons.reopen": lambda u, s: _blows_at(u, s.whistle.area),
    "extension.decide": lambda u, e: _blows_at(u, e.summons.whistle.area),
    "deadline.manage": lambda u, _=None: _city_org(u),
    # The statistics and the ranking of departments: each tier's command staff and organization department
    # for their area (everything blown in it and below).
    "whistle.stats": lambda u, area: _covered(_area_paths(u, AREA_READERS), area),
    "whistle.stats_menu": lambda u, _=None: bool(_area_paths(u, AREA_READERS)),
    # --- 通报 bulletins (kmvolunteer/bulletins): the organization department covering the area drafts, edits and
    # publishes (a published one is changed by nobody: the services refuse it); a draft is its alone.
    "bulletin.list": lambda u, _=None: bool(_area_paths(u, (Role.org_department,))) or _reads_bulletins(u),
    "bulletin.draft": lambda u, area: area is not None and area.level in ("city", "district") and _org_covers(u, area),
    "bulletin.edit": lambda u, b: _org_covers(u, b.area),
    "bulletin.publish": lambda u, b: _org_covers(u, b.area),
    "bulletin.view": lambda u, b: _org_covers(u, b.area) or (b.status == "published" and _bulletin_reader(u, b)),
    # --- 我的提醒 notices: whoever can be told of a whistle (a blower or a department officer) has the page;
    # a notice is its addressee's alone.
    "notice.list": lambda u, _=None: any(g.role in NOTICE_ROLES for g in u.grants),
    "notice.read": lambda u, n: n.user_id == u.id,
    # --- 居民点单 residents' requests (issue 17): the community's secretaries triage them and see the full
    # phone number and print the poster; the subdistrict and organization departments over the community
    # read them (phone masked). Residents use the public pages, which need no rule: they show nothing personal.
    "resident_request.inbox": lambda u, area: (
        area is not None and area.level == "community" and _covered(_area_paths(u, AREA_READERS), area)
    ),
    "resident_request.view": lambda u, r: _covered(_area_paths(u, AREA_READERS), r.community),
    "resident_request.triage": lambda u, r: _community_secretary_of(u, r.community),
    "resident_request.phone": lambda u, r: _community_secretary_of(u, r.community),
    "resident_request.poster": lambda u, area: (
        area is not None and area.level == "community" and area.active and _community_secretary_of(u, area)
    ),
    # --- 现场签到 on-site sign-in (issue 19): the need's community secretary runs a session (opens, shows the
    # code, keeps the sheet, closes it into approved records — as they record attendance, service.attendance);
    # ``x`` is a Need or an ActivitySession. A member unit's contact records no attendance, so runs none.
    "onsite.run": lambda u, x: _community_secretary_of(u, x.community),
    # Putting a member on the sheet or correcting their times: an Attendance or an About(community, member=…).
    "onsite.mark": lambda u, a: _community_secretary_of(u, a.community),
    # Any active member may open a session's sign-in page (it shows the community and the activity only);
    # the services refuse, with a message, one not reported in to its community.
    "onsite.sign": lambda u, _=None: u.member is not None and u.member.active,
    # The open API (issue 18): an organization department keeps its area's integrations' tokens; anyone keeps
    # tokens of their own for apps acting for them.
    "api_token.integration": lambda u, area: (
        area is not None and area.level in ("city", "district") and _org_covers(u, area)
    ),
    "api_token.personal": lambda u, _=None: True,
    "api_token.revoke": lambda u, t: t.user_id == u.id if t.kind == "personal" else _org_covers(u, t.area),
}


def integration_areas(user: User) -> list[Area]:
    """The city or districts whose integrations' tokens ``user`` keeps (those of their organization department)."""
    return [
        g.area for g in user.grants if g.role == Role.org_department.value and g.area and g.area.level != "subdistrict"
    ]


def token_allows(token: Any, scope: str) -> bool:
    """May a call through ``token`` (an api.models.ApiToken) do what ``scope`` names? Its user must still be
    active; what it then reaches is its user's, asked of the same rules as the pages."""
    return scope in token.scope_set and token.user.active


def token_reaches(token: Any, area: Area | None) -> bool:
    """An integration's token reads only within its area; a person's reaches what the person reaches."""
    return area is not None and (token.area is None or area.path.startswith(token.area.path))


# --- 吹哨报到 whistles helpers ---
# Who blows a whistle for an area of each level: a grant of this role on that very area.
BLOWERS = {
    "community": Role.community_secretary,
    "subdistrict": Role.subdistrict_officer,
    "district": Role.org_department,
}

# The agency's party organization is told of the feedback letters its agency receives.
NOTICE_ROLES = {
    Role.department_officer.value,
    Role.agency_party_org.value,
    *(role.value for role in BLOWERS.values()),
}


def _blows_at(user: User, area: Area | None) -> bool:
    role = BLOWERS.get(area.level) if area is not None else None
    return role is not None and any(g.role == role.value and g.area_id == area.id for g in user.grants)


def _department_ids(user: User) -> set[int]:
    return {g.department_id for g in user.grants if g.role == Role.department_officer.value and g.department_id}


def _whistle_view(user: User, whistle: Any) -> bool:
    """The whistle's area and the areas above it, the departments it summons, and whoever may read the
    whistle it was escalated from."""
    if _covered(_area_paths(user, AREA_READERS), whistle.area):
        return True
    mine = _department_ids(user)
    if mine and any(s.department_id in mine for s in whistle.summonses):
        return True
    return whistle.escalated_from is not None and _whistle_view(user, whistle.escalated_from)


# --- 通报 bulletins helpers ---


def _reads_bulletins(user: User) -> bool:
    """Those a published bulletin may be addressed to, besides organization departments: the agencies' party
    organizations and work committees, and branch secretaries (of the branches a bulletin names)."""
    return _reads_results(user) or bool(_branch_ids(user))


def _ancestor_ids(paths: list[str]) -> set[int]:
    """The ids of the areas on ``paths`` ("/1/2/" → 1, 2): those at or above each."""
    return {int(part) for path in paths for part in path.strip("/").split("/") if part}


def _bulletin_reader(user: User, bulletin: Any) -> bool:
    """Who reads a published bulletin besides the organization departments covering its area: those of the
    areas under it (it is addressed down the tree), the work committees over or under its area, the party
    organizations of its area's agencies or of the agencies it names, and the secretaries of the branches it
    names (among those that fell short or the good examples). ``scoped(…, "bulletin.list")`` says the same."""
    area = bulletin.area
    readers = _area_paths(user, (Role.org_department, Role.agency_work_committee))
    if any(path.startswith(area.path) for path in readers):
        return True
    if _covered(_area_paths(user, (Role.agency_work_committee,)), area):
        return True
    agencies = _party_agency_ids(user)
    if any(g.agency.area.path.startswith(area.path) for g in user.grants if g.agency_id in agencies and g.agency):
        return True
    if not (agencies or _branch_ids(user)):
        return False
    named = _bulletins_naming(user)
    return db.session.scalar(select(named.c.bulletin_id).where(named.c.bulletin_id == bulletin.id).limit(1)) is not None


def _bulletins_naming(user: User):
    """The ids of the bulletins that name one of the user's agencies or branches (a subquery)."""
    from sqlalchemy import union

    from kmvolunteer.bulletins.models import BulletinExample, BulletinShortfall, BulletinUnit

    agencies, branches = _party_agency_ids(user), _branch_ids(user)
    return union(
        select(BulletinUnit.bulletin_id).where(BulletinUnit.agency_id.in_(agencies)),
        select(BulletinExample.bulletin_id).where(BulletinExample.agency_id.in_(agencies)),
        select(BulletinShortfall.bulletin_id).where(BulletinShortfall.branch_id.in_(branches)),
        select(BulletinExample.bulletin_id).where(BulletinExample.branch_id.in_(branches)),
    ).subquery()


# --- 双报到 (report-ins) helpers: begin ---
def _community_secretary_of(user: User, area: Area | None) -> bool:
    return area is not None and _covered(_area_paths(user, (Role.community_secretary,)), area)


def _in_body_unit(user: User, area: Area) -> bool:
    """Does the user speak for an agency that is a member unit of the area's joint body (its branch
    secretaries, its party organization)?"""
    from kmvolunteer.bodies.models import BodyUnit, JointBody

    agencies = {g.branch.agency_id for g in user.grants if g.branch is not None} | _party_agency_ids(user)
    if not agencies:
        return False
    found = db.session.scalar(
        select(BodyUnit.id)
        .join(JointBody, BodyUnit.body_id == JointBody.id)
        .where(JointBody.area_id == area.id, BodyUnit.agency_id.in_(agencies), BodyUnit.active.is_(True))
        .limit(1)
    )
    return found is not None


def _reportin_secretary_of_member(user: User, member: Member) -> bool:
    """Is the user secretary of the community the member is confirmed as reported in to?"""
    from kmvolunteer.reportin.models import ReportIn

    ids = [g.area_id for g in user.grants if g.role == Role.community_secretary.value and g.area_id]
    if not ids:
        return False
    return (
        db.session.scalar(
            select(ReportIn.id)
            .where(
                ReportIn.member_id == member.id,
                ReportIn.kind == "member",
                ReportIn.status == "confirmed",
                ReportIn.community_id.in_(ids),
            )
            .limit(1)
        )
        is not None
    )


def _reportin_view(user: User, ri: Any) -> bool:
    if ri.kind == "member" and ri.member is not None:
        if _is_self(user, ri.member) or ri.member.branch_id in _branch_ids(user):
            return True
        if _org_covers(user, ri.member.branch.agency.area):
            return True
    if ri.kind == "branch" and ri.branch is not None and _manages_branch(user, ri.branch):
        return True
    if _reads_branch(user, ri.member.branch if ri.kind == "member" and ri.member is not None else ri.branch):
        return True
    return _covered(_area_paths(user, AREA_READERS), ri.community)


# --- 双报到 (report-ins) helpers: end ---


def _report_view(user: User, report: Any) -> bool:
    """The author always; everyone else once it is submitted: its branch, its community, the areas above."""
    if report.kind == "member" and report.member is not None and _is_self(user, report.member):
        return True
    if report.kind == "branch" and report.branch_id in _branch_ids(user):
        return True
    if report.status == "draft":
        return False
    if report.kind == "member" and report.branch_id in _branch_ids(user):
        return True
    return (
        _covered(_area_paths(user, AREA_READERS), report.community)
        or _org_covers(user, report.branch.agency.area)
        or _reads_branch(user, report.branch)
    )


# --- Nobody decides about themselves ------------------------------------------------------------


class About(NamedTuple):
    """The object of a decision that has no row yet: where it is taken, and about whom."""

    community: Area
    member: Member | None = None
    branch: Branch | None = None
    agency: Agency | None = None


class Subject(NamedTuple):
    """Whom a decision is about: a person, a branch (its secretaries and members), a department (its
    officers), or an agency (its members, its branches' secretaries and its party organization)."""

    member: Member | None = None
    branch: Branch | None = None
    department: Department | None = None
    agency: Agency | None = None


# Every action that decides about a person or a branch, and how to find whom it is about. ``can`` refuses
# each of them to the person it is about — whatever other grants they hold. A new decision action must be
# listed here (tests/test_access.py fails otherwise).
SUBJECTS: dict[str, Callable[[Any], Subject]] = {
    "reportin.decide": lambda ri: Subject(ri.member, ri.branch),
    # A branch ending its own co-building is the branch's own act; the community ending a member's is a decision.
    "reportin.end": lambda ri: Subject(ri.member),
    "resource.take": lambda r: Subject(branch=r.branch),
    "service.decide": lambda r: Subject(r.member),
    "service.revoke": lambda r: Subject(r.member),
    "report.ack_branch": lambda r: Subject(r.member),
    "report.ack_community": lambda r: Subject(r.member, r.branch if r.kind == "branch" else None),
    "evaluation.rate": lambda e: Subject(e.member),
    "feedback.write": lambda sheet: Subject(branch=sheet.branch),
    "unit_rating.rate": lambda r: Subject(branch=r.branch),
    # A letter is about every branch of its agency: a FeedbackLetter or an About(community, agency=…).
    "letter.issue": lambda x: Subject(agency=x.agency),
    "summons.rate": lambda s: Subject(department=s.department),
    "extension.decide": lambda e: Subject(department=e.summons.department),
    "onsite.mark": lambda a: Subject(a.member),
}
DECISIONS = frozenset(SUBJECTS)


def _is_subject(user: User, subject: Subject) -> bool:
    if subject.member is not None and _is_self(user, subject.member):
        return True
    if subject.department is not None and subject.department.id in _department_ids(user):
        return True
    if subject.agency is not None and _of_agency(user, subject.agency):
        return True
    branch = subject.branch
    return branch is not None and (
        branch.id in _branch_ids(user) or (user.member is not None and user.member.branch_id == branch.id)
    )


def _of_agency(user: User, agency: Agency) -> bool:
    """Does ``user`` belong to ``agency``: a member or secretary of one of its branches, or its party
    organization?"""
    if user.member is not None and user.member.branch.agency_id == agency.id:
        return True
    return agency.id in _party_agency_ids(user) or any(b.id in _branch_ids(user) for b in agency.branches)


def about_self(user: User, action: str, obj: Any) -> bool:
    """Is ``obj`` of the decision ``action`` about ``user`` (so ``can`` refuses it)? For the message."""
    subject = SUBJECTS.get(action)
    return subject is not None and obj is not None and _is_subject(user, subject(obj))


def can(user: User | Any, action: str, obj: Any = None) -> bool:
    """May ``user`` do ``action`` (on ``obj``)? Unknown actions are refused."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return False
    rule = RULES.get(action)
    if rule is None:
        raise KeyError(f"no policy rule for {action!r}")
    return bool(rule(user, obj)) and not about_self(user, action, obj)


def _transition_refusal(actor_id: int, action: str, obj: Any) -> str | None:
    """What core.machine asks before a declared transition: None (allowed), "self" or "scope"."""
    user = db.session.get(User, actor_id)
    if can(user, action, obj):
        return None
    return "self" if user is not None and about_self(user, action, obj) else "scope"


machine.use_policy(_transition_refusal)


# --- Where a member may log service ----------------------------------------------------------------


def _confirmed_community_id(member: Member) -> int | None:
    from kmvolunteer.reportin.models import ReportIn

    return db.session.scalar(
        select(ReportIn.community_id)
        .where(ReportIn.kind == "member", ReportIn.status == "confirmed", ReportIn.member_id == member.id)
        .order_by(ReportIn.id.desc())
        .limit(1)
    )


def _needs_open_to(member: Member):
    """Needs a member may log service on: those they claimed, and the open needs of their community."""
    from kmvolunteer.reportin.models import Claim, Need

    claimed = Need.id.in_(select(Claim.need_id).where(Claim.member_id == member.id, Claim.status == "active"))
    home = _confirmed_community_id(member)
    if home is None:
        return claimed
    return or_(claimed, and_(Need.status == "open", Need.community_id == home))


def _service_place_open(user: User, community: Area | None, need: Any = None) -> bool:
    from kmvolunteer.reportin.models import Need

    member = user.member
    if member is None or community is None:
        return False
    if need is None:
        return community.id == _confirmed_community_id(member)
    return (
        need.community_id == community.id
        and db.session.scalar(select(Need.id).where(Need.id == need.id, _needs_open_to(member))) is not None
    )


def _path_filter(column, paths: list[str]):
    if not paths:
        return false()
    return or_(*(column.startswith(p, autoescape=True) for p in paths))


def scoped(stmt: Select, user: User, action: str) -> Select:
    """Narrow a SELECT to the rows ``user`` may see for ``action``."""
    org_paths = _area_paths(user, (Role.org_department,))
    if action == "area.list":
        return stmt.where(_path_filter(Area.path, _area_paths(user, AREA_READERS)))
    if action == "agency.list":
        return stmt.join(Area, Agency.area_id == Area.id).where(_path_filter(Area.path, org_paths))
    if action in {"branch.list", "member.list"}:
        if action == "member.list":
            stmt = stmt.join(Branch, Member.branch_id == Branch.id)
        stmt = stmt.join(Agency, Branch.agency_id == Agency.id).join(Area, Agency.area_id == Area.id)
        mine = _branch_ids(user)
        return stmt.where(or_(_path_filter(Area.path, org_paths), Branch.id.in_(mine) if mine else false()))
    if action == "department.list":
        return stmt.join(Area, Department.area_id == Area.id).where(_path_filter(Area.path, org_paths))
    if action == "user.list":
        return stmt.join(Area, User.home_area_id == Area.id).where(_path_filter(Area.path, org_paths))
    if action == "audit.list":
        return stmt.where(_path_filter(AuditEntry.scope_path, org_paths))
    # --- 双报到 (report-ins): begin ---
    if action in {"reportin.list", "project.list"}:
        from sqlalchemy.orm import aliased

        from kmvolunteer.reportin.models import Project, ReportIn

        community = aliased(Area)
        model = ReportIn if action == "reportin.list" else Project
        mine = _branch_ids(user)
        stmt = stmt.join(community, model.community_id == community.id)
        allowed = [_path_filter(community.path, _area_paths(user, AREA_READERS))]
        if mine:
            allowed.append(model.branch_id.in_(mine))
            if model is ReportIn:
                allowed.append(ReportIn.member_id.in_(select(Member.id).where(Member.branch_id.in_(mine))))
        return stmt.where(or_(*allowed))
    # --- 双报到 (report-ins): end ---
    # --- 双报告: reports a user may list (drafts only for their author) ---
    if action == "report.list":
        from kmvolunteer.reports.models import Report

        member = user.member if user.is_member else None
        mine = _branch_ids(user)
        readers = _area_paths(user, AREA_READERS)
        community_ids = select(Area.id).where(_path_filter(Area.path, readers)) if readers else None
        shared = or_(
            Report.branch_id.in_(mine) if mine else false(),
            Report.community_id.in_(community_ids) if community_ids is not None else false(),
        )
        own = or_(
            (Report.member_id == member.id) if member is not None else false(),
            (Report.kind == "branch") & Report.branch_id.in_(mine) if mine else false(),
        )
        return stmt.where(or_(own, (Report.status != "draft") & shared))
    if action == "evaluation.list":
        # A community sees its own ratings; a branch (and its org department) only published ones of its members.
        from kmvolunteer.reports.models import Evaluation

        secretaries = _area_paths(user, (Role.community_secretary,))
        own = (
            Evaluation.community_id.in_(select(Area.id).where(_path_filter(Area.path, secretaries)))
            if secretaries
            else false()
        )
        branch_ids = (
            select(Branch.id)
            .join(Agency, Branch.agency_id == Agency.id)
            .join(Area, Agency.area_id == Area.id)
            .where(
                or_(
                    _path_filter(Area.path, org_paths),
                    Branch.id.in_(_branch_ids(user)) if _branch_ids(user) else false(),
                )
            )
        )
        theirs = Evaluation.published.is_(True) & Evaluation.member_id.in_(
            select(Member.id).where(Member.branch_id.in_(branch_ids))
        )
        return stmt.where(or_(own, theirs))
    if action == "member.phone":
        # Members whose full phone number the user may see (DESIGN §9): themselves, their branches'
        # members, and members confirmed as reported in to their communities. Searches match phones only here.
        from kmvolunteer.reportin.models import ReportIn

        allowed = [Member.user_id == user.id]
        if _branch_ids(user):
            allowed.append(Member.branch_id.in_(_branch_ids(user)))
        communities = [g.area_id for g in user.grants if g.role == Role.community_secretary.value and g.area_id]
        if communities:
            allowed.append(
                Member.id.in_(
                    select(ReportIn.member_id).where(
                        ReportIn.kind == "member",
                        ReportIn.status == "confirmed",
                        ReportIn.community_id.in_(communities),
                    )
                )
            )
        return stmt.where(or_(*allowed))
    if action in {"need.list", "need.manage"}:
        # Needs of the communities in the user's areas: to read (the queue's filter) or to manage.
        from kmvolunteer.reportin.models import Need

        roles = AREA_READERS if action == "need.list" else (Role.community_secretary,)
        paths = _area_paths(user, roles)
        if not paths:
            return stmt.where(false())
        return stmt.where(Need.community_id.in_(select(Area.id).where(_path_filter(Area.path, paths))))
    if action == "service.needs":
        # The needs the member may log service on (their own choices on the entry form).
        return stmt.where(_needs_open_to(user.member)) if user.member is not None else stmt.where(false())
    # --- 服务记录 service records (issue 4): records whose community lies in the user's areas.
    if action in {"service.queue", "service.decide"}:
        from kmvolunteer.service.models import ServiceRecord

        # The community ids are listed in the statement rather than as a sub-select, so the
        # planner sees "community_id IN (…)" and walks the (community, status, …) indexes.
        return stmt.where(ServiceRecord.community_id.in_(scope_community_ids(user, action)))
    if action == "summons.act":
        # The department's queue: the summonses of the user's departments, the ones they act on.
        from kmvolunteer.whistles.models import Summons

        mine = _department_ids(user)
        return stmt.where(Summons.department_id.in_(mine) if mine else false())
    if action in {"whistle.list", "summons.list"}:
        # Whistles blown in the user's areas (and below), and those summoning the user's departments.
        from kmvolunteer.whistles.models import Summons, Whistle

        readers = _area_paths(user, AREA_READERS)
        mine = _department_ids(user)
        in_area = Whistle.area_id.in_(select(Area.id).where(_path_filter(Area.path, readers))) if readers else false()
        if action == "whistle.list":
            summoned = Summons.department_id.in_(mine) if mine else false()
            return stmt.where(or_(in_area, Whistle.id.in_(select(Summons.whistle_id).where(summoned))))
        ours = Summons.department_id.in_(mine) if mine else false()
        return stmt.where(or_(ours, Summons.whistle_id.in_(select(Whistle.id).where(in_area))))
    if action == "bulletin.list":
        return stmt.where(_bulletins_listed(user))
    raise KeyError(f"no scope rule for {action!r}")


def _bulletins_listed(user: User):
    """The WHERE clause of the bulletins ``user`` may list: what ``can(user, "bulletin.view", b)`` says, in SQL."""
    from kmvolunteer.bulletins.models import Bulletin

    def areas(condition):
        return Bulletin.area_id.in_(select(Area.id).where(condition))

    org = _area_paths(user, (Role.org_department,))
    readers = _area_paths(user, (Role.org_department, Role.agency_work_committee))
    committees = _area_paths(user, (Role.agency_work_committee,))
    agency_paths = [g.agency.area.path for g in user.grants if g.agency_id in _party_agency_ids(user) and g.agency]
    published = [areas(_path_filter(Area.path, committees))]
    if readers or agency_paths:
        published.append(Bulletin.area_id.in_(_ancestor_ids(readers + agency_paths)))
    if _party_agency_ids(user) or _branch_ids(user):
        published.append(Bulletin.id.in_(select(_bulletins_naming(user).c.bulletin_id)))
    return or_(areas(_path_filter(Area.path, org)), and_(Bulletin.status == "published", or_(*published)))


def member_search(user: User, q: str):
    """A WHERE clause on Member for a search box: the name, or the phone number only of members whose
    full number ``user`` may see — digits shown masked are never matched."""
    return or_(
        Member.name.contains(q, autoescape=True),
        and_(Member.phone.contains(q, autoescape=True), Member.id.in_(scoped(select(Member.id), user, "member.phone"))),
    )


def scope_community_ids(user: User, action: str) -> list[int]:
    """The communities whose service records ``user`` may list (service.queue) or decide (service.decide),
    looked up once per request."""
    from flask import g

    roles = AREA_READERS if action == "service.queue" else (Role.community_secretary,)
    areas = [grant.area for grant in user.grants if grant.role in {r.value for r in roles} and grant.area]
    if all(area.level == "community" for area in areas):
        return sorted({area.id for area in areas})  # a community has no communities under it: no query
    paths = [area.path for area in areas]
    known = g.setdefault("scope_communities", {})
    key = (user.id, action, tuple(paths))
    if key not in known:
        known[key] = db.session.scalars(
            select(Area.id).where(Area.level == "community", _path_filter(Area.path, paths)).order_by(Area.id)
        ).all()
    return known[key]


def _grant_areas(user: User, role: Role) -> list[Area]:
    return [g.area for g in user.grants if g.role == role.value and g.area]


def org_areas(user: User) -> list[Area]:
    """The areas where the user is an organization department."""
    return _grant_areas(user, Role.org_department)


def results_scope(user: User) -> tuple[list[Agency], list[Area]]:
    """The agencies whose party organization the user is (机关党委), and the areas over whose agencies they are
    the work committee (机关工委)."""
    agencies = [g.agency for g in user.grants if g.role == Role.agency_party_org.value and g.agency]
    return agencies, _grant_areas(user, Role.agency_work_committee)


def grants_of(user: User, role: Role) -> list[RoleGrant]:
    return user.grants_for(role)


def get_or_404(model: type, object_id: int, action: str, user: User | None = None, options: tuple = ()) -> Any:
    """Load an object the current user may ``action`` (with the loader ``options`` given); anything else is 404."""
    from flask import abort
    from flask_login import current_user

    obj = db.session.get(model, object_id, options=options)
    if obj is None or not can(user or current_user, action, obj):
        abort(404)
    return obj
