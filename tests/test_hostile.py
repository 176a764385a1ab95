"""Hostile requests, found by walking the app's URL map so that new routes are covered automatically.

* every POST route refuses a request without a valid CSRF token;
* every route that takes an object id answers 404 to users of another district (an IDOR matrix);
* stored markup is shown escaped.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime

import pytest
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from kmvolunteer.api import tokens
from kmvolunteer.bodies.models import JointBody, JointMeeting
from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Estate, Grid, Member
from tests.conftest import PASSWORD, row_count

# How to find, for each id in a URL, an object of the OTHER district (官渡区 for 五华区 users, and
# the reverse). A new route with a new kind of id fails test_every_id_kind_is_in_the_matrix until
# it is added here.
# Whole numbers in URLs that are not object ids, with a value to build the URL with.
NOT_IDS = {"year": 2026}


API_ENDPOINTS = ("api_v1.", "api-docs.")


def _side(w, mine: bool) -> dict:
    """The objects of the district the user is NOT in."""
    return w.extra["guandu" if mine else "wuhua"]


ID_KINDS = {
    "area_id": lambda w, mine: (w.community if not mine else w.other_community).id,
    "community_id": lambda w, mine: (w.community if not mine else w.other_community).id,
    "district_id": lambda w, mine: (w.district if not mine else w.other_district).id,
    "report_in_id": lambda w, mine: _side(w, mine)["report_in"].id,
    "need_id": lambda w, mine: _side(w, mine)["need"].id,
    "claim_id": lambda w, mine: _side(w, mine)["claim"].id,
    "resource_id": lambda w, mine: _side(w, mine)["resource"].id,
    "project_id": lambda w, mine: _side(w, mine)["project"].id,
    "report_id": lambda w, mine: _side(w, mine)["report"].id,
    "sheet_id": lambda w, mine: _side(w, mine)["sheet"].id,
    "record_id": lambda w, mine: _side(w, mine)["record"].id,
    "whistle_id": lambda w, mine: _side(w, mine)["whistle"].id,
    "summons_id": lambda w, mine: _side(w, mine)["summons"].id,
    "photo_id": lambda w, mine: _side(w, mine)["photo"].id,
    "grid_id": lambda w, mine: _side(w, mine)["grid"].id,
    "estate_id": lambda w, mine: _side(w, mine)["estate"].id,
    "meeting_id": lambda w, mine: _side(w, mine)["meeting"].id,
    "session_id": lambda w, mine: _side(w, mine)["onsite_session"].id,
    "attendance_id": lambda w, mine: _side(w, mine)["attendance"].id,
    # Only the city edits service categories: every category is out of scope for both sides.
    "category_id": lambda w, mine: w.extra["category"].id,
    "agency_id": lambda w, mine: (w.agency if not mine else w.other_agency).id,
    "branch_id": lambda w, mine: (w.branch if not mine else w.other_branch).id,
    "member_id": lambda w, mine: (w.members["member"] if not mine else w.members["other_member"]).id,
    "user_id": lambda w, mine: (w.users["member"] if not mine else w.users["other_member"]).id,
    "notice_id": lambda w, mine: _side(w, mine)["notice"].id,
    "letter_id": lambda w, mine: _side(w, mine)["letter"].id,
    "bulletin_id": lambda w, mine: _side(w, mine)["bulletin"].id,
    "request_id": lambda w, mine: _side(w, mine)["resident_request"].id,
    "token_id": lambda w, mine: _side(w, mine)["api_token"].id,
    "grant_id": lambda w, mine: (
        (w.users["community_secretary"] if not mine else w.users["other_secretary"]).grants[0].id
    ),
}
# Pages every logged-in user may open whatever their district: a community publishes its
# three lists (needs, resources, projects) for all to see and claim from. Acting on them from
# outside is refused with a message (not a 404) and must change nothing.
PUBLISHED = {"reportin.lists", "reportin.need", "reportin.claim"}
# An on-site session's sign-in page (a need's, published like it) is open to every member: the poster and the
# QR code lead there. Signing in or out from another community is refused with a message and changes nothing.
PUBLISHED |= {"onsite.sign", "onsite.mine", "onsite.sign_out"}
# The residents' public form (居民点单): anyone may open and send it, logged in or not; sent incomplete (as
# here), it must change nothing.
PUBLIC_FORMS = {"resident.ask"}
WUHUA_SIDE = [
    "wuhua_party",
    "wuhua_committee",
    "district_org",
    "subdistrict_officer",
    "community_secretary",
    "branch_secretary",
    "department_officer",
    "13800000001",
]
GUANDU_SIDE = ["other_org", "other_secretary", "other_branch_secretary", "13800000003"]


@pytest.fixture
def world(world):
    from kmvolunteer.letters.models import FeedbackLetter
    from kmvolunteer.notices.models import Notice
    from kmvolunteer.onsite.models import ActivitySession, Attendance
    from kmvolunteer.reportin.models import Claim, Project, Resource, ServiceCategory
    from kmvolunteer.reports.models import FeedbackSheet, Report
    from kmvolunteer.resident.models import ResidentRequest
    from kmvolunteer.service.models import ServiceRecord
    from tests.factories import (
        make_branch_report_in,
        make_bulletin,
        make_need,
        make_report_in,
        make_results_readers,
    )

    world.extra = {"category": ServiceCategory(name="测试类别", sort_order=99)}
    # 五华区民政局's party organization and 五华区's work committee (机关党委, 机关工委): they read the 五华 side.
    make_results_readers(world, PASSWORD)
    db.session.add(world.extra["category"])
    for side, member, community, branch, secretary, district in (
        (
            "wuhua",
            world.members["member"],
            world.community,
            world.branch,
            world.users["community_secretary"],
            world.district,
        ),
        (
            "guandu",
            world.members["other_member"],
            world.other_community,
            world.other_branch,
            world.users["other_secretary"],
            world.other_district,
        ),
    ):
        report_in = make_report_in(member, community, "confirmed")
        make_branch_report_in(branch, community)
        need = make_need(community)
        claim = Claim(need=need, member=member)
        need.claimed = 1
        resource = Resource(branch=branch, community=community, title="法律咨询")
        project = Project(community=community, branch=branch, resource=resource, title="法律咨询进社区")
        report = Report(
            kind="member",
            member=member,
            branch=branch,
            community=community,
            year=2026,
            period="Y",
            status="submitted",
            body="本年度参加社区服务",
        )
        sheet = FeedbackSheet(community=community, branch=branch, year=2026, period="Q1", status="sent")
        record = ServiceRecord(
            member=member,
            community=community,
            service_date=date(2026, 3, 1),
            year=2026,
            half_hours=4,
            content="垃圾分类宣传",
            status="submitted",
        )
        resident_request = ResidentRequest(
            community=community, code=f"{side[:4].upper()}2345", what="楼道灯坏了", place="3 号院"
        )
        db.session.add_all([claim, resource, project, report, sheet, record, resident_request])
        db.session.flush()
        whistle = _whistle(world, community)
        notice = Notice(user_id=secretary.id, kind="escalated", whistle=whistle)
        letter = FeedbackLetter(
            serial=f"FKH-2026-{side.upper():A<10}",
            community=community,
            agency=branch.agency,
            year=2026,
            period="H1",
        )
        letter.content = json.dumps(
            {
                "community": community.name,
                "community_full": community.name,
                "agency": branch.agency.name,
                "period": {"year": 2026, "code": "H1", "start": "2026-01-01", "end": "2026-06-30"},
                "as_of": "2026-07-01",
                "members": [],
                "branches": [],
            }
        )
        grid = Grid(community=community, name="第一网格")
        estate = Estate(community=community, name="第一小区", grid=grid)
        body = JointBody(kind="committee", area=community, name=f"{community.name}大党委")
        meeting = JointMeeting(body=body, held_on=date(2026, 3, 1), topics="研究共建项目")
        onsite_session = ActivitySession(
            need=need,
            community=community,
            day=date(2026, 3, 1),
            starts_at=datetime(2026, 3, 1, 1, 0),
            ends_at=datetime(2026, 3, 1, 3, 0),
            opened_by_id=secretary.id,
        )
        attendance = Attendance(session=onsite_session, member=member, signed_in_at=datetime(2026, 3, 1, 1, 10))
        db.session.add_all([notice, letter, grid, estate, body, meeting, onsite_session, attendance])
        keeper = world.users["district_org" if side == "wuhua" else "other_org"]
        api_token, _secret = tokens.create_integration(keeper, district, "智慧党建平台", ["read:areas"], 30)
        world.extra[side] = {
            "report_in": report_in,
            "need": need,
            "claim": claim,
            "resource": resource,
            "project": project,
            "report": report,
            "sheet": sheet,
            "record": record,
            "notice": notice,
            "letter": letter,
            "whistle": whistle,
            "summons": whistle.summonses[0],
            "photo": whistle.photos[0],
            # A published bulletin of the district, naming the branch: read by the district's side only.
            "bulletin": make_bulletin(district, branch.agency, branch),
            "resident_request": resident_request,
            "grid": grid,
            "estate": estate,
            "meeting": meeting,
            "onsite_session": onsite_session,
            "attendance": attendance,
            "api_token": api_token,
        }
    db.session.commit()
    return world


def _whistle(world, community):
    """A whistle of ``community`` summoning a department of its subdistrict, with a photo."""
    from kmvolunteer.org.models import Department
    from kmvolunteer.whistles import services
    from tests.images import jpeg, upload

    department = Department(name=f"{community.parent.name}城管中队", area=community.parent)
    db.session.add(department)
    db.session.flush()
    secretary = world.users["community_secretary" if community is world.community else "other_secretary"]
    data = services.WhistleData(
        title="路面渗水",
        problem="路面长期渗水",
        address="景虹街 12 号",
        category_id=services.ensure_default_categories()[0].id,
    )
    return services.blow(community, secretary, data, [department.id], [upload(jpeg())])


def _routes(app, method: str):
    """The site's routes for a session cookie; the open API's take a token instead (tests/test_api.py)."""
    for rule in app.url_map.iter_rules():
        if method in rule.methods and rule.endpoint != "static" and not rule.endpoint.startswith(API_ENDPOINTS):
            yield rule


def _url(rule, world, wuhua_user: bool) -> str:
    values = {}
    for name in rule.arguments:
        converter = rule._converters.get(name)
        if converter is None:  # a value the rule's defaults supply (e.g. /verify without a serial)
            continue
        if name in NOT_IDS:
            values[name] = NOT_IDS[name]
        elif isinstance(converter, IntegerConverter):
            values[name] = ID_KINDS[name](world, wuhua_user)
        else:
            items = getattr(converter, "items", None)
            values[name] = sorted(items)[0] if items else ("xlsx" if name == "kind" else "x")
    return rule.build(values)[1]


def test_every_id_kind_is_in_the_matrix(app):
    for rule in app.url_map.iter_rules():
        for name in rule.arguments:
            if isinstance(rule._converters.get(name), IntegerConverter) and name not in NOT_IDS:
                assert name in ID_KINDS, f"{rule.rule}: add {name!r} to ID_KINDS in tests/test_hostile.py"


def test_every_post_route_refuses_a_missing_or_forged_csrf_token(app, world, login):
    user = login("city_org")
    rows_before = db.session.scalar(select(func.count(AuditEntry.id)))
    anonymous = app.test_client()
    checked = 0
    for rule in _routes(app, "POST"):
        url = _url(rule, world, wuhua_user=False)
        assert user.post(url, {"x": "1"}, csrf=False).status_code == 400, url
        assert user.post(url, {"csrf_token": "forged"}, csrf=False).status_code == 400, url
        assert anonymous.post(url, data={"x": "1"}).status_code == 400, url
        checked += 1
    assert checked >= 10
    db.session.expire_all()
    assert db.session.scalar(select(func.count(AuditEntry.id))) == rows_before  # none of them recorded anything


@pytest.mark.parametrize("side, usernames", [("wuhua", WUHUA_SIDE), ("guandu", GUANDU_SIDE)])
def test_object_urls_of_another_district_are_404_for_every_role(app, world, login, side, usernames):
    for username in usernames:
        user = login(username)
        for method in ("GET", "POST"):
            for rule in _routes(app, method):
                if not any(
                    isinstance(rule._converters.get(a), IntegerConverter) and a not in NOT_IDS for a in rule.arguments
                ):
                    continue
                url = _url(rule, world, wuhua_user=(side == "wuhua"))
                before = row_count()
                response = user.get(url) if method == "GET" else user.post(url, {})
                if rule.endpoint in PUBLISHED | PUBLIC_FORMS:
                    assert response.status_code < 500 and row_count() == before, f"{username} {method} {url}"
                else:
                    assert response.status_code == 404, f"{username} {method} {url} → {response.status_code}"


def test_missing_ids_are_404(app, world, login):
    user = login("city_org")
    for rule in _routes(app, "GET"):
        ints = [a for a in rule.arguments if isinstance(rule._converters.get(a), IntegerConverter) and a not in NOT_IDS]
        if ints:
            values = {
                a: (999_999 if a in ints else NOT_IDS.get(a, "xlsx"))
                for a in rule.arguments
                if rule._converters.get(a) is not None
            }
            for a in rule.arguments:
                items = getattr(rule._converters.get(a), "items", None)
                if items:
                    values[a] = sorted(items)[0]
            url = rule.build(values)[1]
            assert user.get(url).status_code == 404, url
            huge = url.replace("999999", "99999999999999999999")
            assert user.get(huge).status_code == 404, huge


PAYLOAD = '<script>alert(1)</script>"><img src=x>'  # fits a 50-character name


def test_stored_markup_is_escaped(world, login):
    member = db.session.get(Member, world.members["member"].id)
    member.name = PAYLOAD
    member.post = PAYLOAD
    db.session.commit()
    for username, url in [
        ("branch_secretary", f"/branches/{world.branch.id}"),
        ("branch_secretary", f"/members/{member.id}"),
        ("district_org", f"/branches/{world.branch.id}"),
    ]:
        html = login(username).get(url).get_data(as_text=True)
        assert "<script>alert(1)" not in html and "<img src=x" not in html
        assert "&lt;script&gt;" in html


def test_request_size_is_limited(world, login, app):
    user = login("branch_secretary")
    big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    import io

    response = user.post("/roster/import", {"file": (io.BytesIO(big), "r.csv")}, content_type="multipart/form-data")
    assert response.status_code == 413
    assert re.search(r"413", response.get_data(as_text=True))


def test_nul_characters_are_refused_before_anything_runs(world, login):
    user = login("branch_secretary")
    before = row_count()
    response = user.post(f"/branches/{world.branch.id}/members", {"name": "张\x00三", "phone": "13911112222"})
    assert response.status_code == 400
    assert user.get("/accounts/?q=%00").status_code == 400
    assert row_count() == before


# ---------------------------------------------------------------- hostile query strings and bodies

# Every demo role of the world, anonymous first and the organization departments last: their hostile
# bodies may disable the accounts or revoke the grants the others log in with.
HOSTILE_ROLES = [
    None,
    "13800000001",
    "branch_secretary",
    "community_secretary",
    "subdistrict_officer",
    "department_officer",
    "district_org",
    "city_org",
]
# Hostile values by the kind of argument they are sent as (numbers where the code reads a number...),
# so that they pass the type check of a form field and reach what is behind it.
HOSTILE_NUMBERS = ["99999999999999999999", "-1", "0", "2147483648", "-99999999999999999999", "1e309"]
HOSTILE_DATES = ["0001-01-01", "9999-12-31", "2026-02-30", "1999-12-31", "0000-00-00", "-1"]
HOSTILE_TEXT = [
    "x" * 10_000,
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "😀👍🏽 \u202e\u200fمرحبا\u200e Ελληνικά",
    "",
]
CONTROL_VALUES = ["\x00", "a\x01b", "\x1b[31m", "\x7f"]
# Path values at the bounds: ids (0, 1, the largest id) and years.
ID_BOUNDS = [0, 1, 2**31 - 1]
YEAR_BOUNDS = [0, 1999, 2101, 2**31 - 1]


def _argument_names(app) -> list[str]:
    """Every query argument or form field the code reads: the fields of every form, and the names
    read from request.args / request.form — so a new one is attacked without being listed here."""
    import pathlib

    from flask_wtf import FlaskForm

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    names = {
        name for form in subclasses(FlaskForm) for name, value in vars(form).items() if hasattr(value, "field_class")
    }
    source = "\n".join(p.read_text() for p in pathlib.Path(app.root_path).rglob("*.py"))
    names |= set(re.findall(r'request\.(?:args|form)\.(?:get|getlist)\(\s*"([\w-]+)"', source))
    # Names built from an id (rating-<member id>, remark-<line id>): with the ids of the world.
    for prefix in re.findall(r'request\.form\.get\(\s*f"([\w-]+)\{', source):
        names |= {f"{prefix}{i}" for i in (1, 2, 3)}
    names.add("page")  # read by db.paginate
    names.discard("csrf_token")
    assert {"year", "q", "date_from", "ids"} <= names
    return sorted(names)


DATE_NAMES = ("day", "term_start", "term_end", "on_date", "report_due", "evaluation_due")
ROTATIONS = 4  # hostile requests for the first role to reach a route


def _kind(name: str) -> str:
    if "date" in name or name in DATE_NAMES:
        return "date"
    if name.endswith(("_id", "_ids", "ids")) or name in (
        "page",
        "year",
        "branch",
        "need",
        "category",
        "categories",
        "hours",
        "min_hours",
        "min_activities",
    ):
        return "number"
    return "text"


def _plausible(name: str) -> str:
    """A value that passes for ``name``, so that the hostile ones next to it reach the code behind."""
    kind = _kind(name)
    if kind == "date":
        return "2026-03-02"
    if kind == "number":
        return {"year": "2026", "hours": "2", "min_hours": "10", "min_activities": "4"}.get(name, "1")
    return {"start_time": "09:00", "end_time": "11:00", "phone": "13911112222"}.get(name, "测试")


def _hostile_pairs(names: list[str], turn: int) -> list[tuple[str, str]]:
    """Half of the names (the other half on the next turn) with a hostile value of their kind, the rest
    plausible; every fourth name twice (a=1&a=2)."""
    pools = {"date": HOSTILE_DATES, "number": HOSTILE_NUMBERS, "text": HOSTILE_TEXT}
    pairs = []
    for index, name in enumerate(names):
        pool = pools[_kind(name)]
        hostile = pool[(turn // 2 + index) % len(pool)] if (index + turn) % 2 == 0 else _plausible(name)
        pairs.append((name, hostile))
        if (index + turn) % 4 == 1:
            pairs.append((name, pool[(turn + index) % len(pool)][:100]))
    return pairs


def _own_url(rule, world) -> str:
    """The rule's URL with objects of 五华区, where every demo role but city_org has its place."""
    return _url(rule, world, wuhua_user=False)


def _bound_urls(rule, world) -> list[str]:
    """The rule's URL with each id or year at its bounds (one at a time, the others real)."""
    return [
        _replace_path_value(rule, world, name, bound)
        for name in rule.arguments
        if isinstance(rule._converters.get(name), IntegerConverter)
        for bound in (YEAR_BOUNDS if name in NOT_IDS else ID_BOUNDS)
    ]


def _replace_path_value(rule, world, name: str, value: int) -> str:
    values = {}
    for argument in rule.arguments:
        converter = rule._converters.get(argument)
        if converter is None:
            continue
        if argument == name:
            values[argument] = value
        elif argument in NOT_IDS:
            values[argument] = NOT_IDS[argument]
        elif isinstance(converter, IntegerConverter):
            values[argument] = ID_KINDS[argument](world, False)
        else:
            items = getattr(converter, "items", None)
            values[argument] = sorted(items)[0] if items else ("xlsx" if argument == "kind" else "x")
    return rule.build(values, append_unknown=False)[1]


def _client(app, username: str | None):
    from tests.conftest import PASSWORD, Browser

    browser = Browser(app.test_client())
    if username is None:
        browser.get("/login")  # a CSRF token for the anonymous posts
    else:
        browser.login(username, PASSWORD)
    return browser


def test_every_route_survives_hostile_query_strings_and_bodies_as_every_role(app, world):
    """Every route of the URL map, as every demo role: hostile query strings (huge and negative numbers,
    impossible dates, 10 KB strings, markup, SQL, emoji and RTL marks, repeated and empty arguments),
    control characters, ids and years at their bounds, and — for every POST route — a hostile body with
    a valid CSRF token, so it reaches the view. Never a 5xx."""
    import time
    from urllib.parse import unquote, urlencode

    started = time.perf_counter()
    names = _argument_names(app)
    get_rules = sorted(_routes(app, "GET"), key=lambda r: r.rule)
    post_rules = sorted((r for r in _routes(app, "POST") if r.endpoint != "auth.logout"), key=lambda r: r.rule)
    failures, requests = [], 0

    def check(user, method: str, url: str, **kwargs) -> int:
        nonlocal requests
        requests += 1
        response = user.get(url, **kwargs) if method == "GET" else user.post(url, **kwargs)
        if response.status_code >= 500:
            failures.append((role, method, re.sub(r"x{100,}", "x…", unquote(url)), response.status_code))
        return response.status_code

    reached: dict[tuple[str, str], int] = {}  # (method, rule) → roles that reached the view

    def send(user, method: str, rule, turn: int) -> int:
        query = urlencode(_hostile_pairs(names, turn))
        if method == "GET":
            return check(user, "GET", f"{_own_url(rule, world)}?{query}")
        body = dict(_hostile_pairs(names, turn + 1), csrf_token=user.token)
        return check(user, "POST", f"{_own_url(rule, world)}?{query[:2000]}", data=body, csrf=False)

    def attack(user, method: str, rule, turn: int) -> None:
        """One hostile request; all the turns for the first role that reaches the view."""
        if send(user, method, rule, turn) in (302, 400, 404):
            return
        reached[(method, rule.rule)] = reached.get((method, rule.rule), 0) + 1
        if reached[(method, rule.rule)] == 1:
            for more in range(turn + 1, turn + ROTATIONS):
                send(user, method, rule, more)

    for role_index, role in enumerate(HOSTILE_ROLES):
        user = _client(app, role)
        for rule_index, rule in enumerate(get_rules):
            attack(user, "GET", rule, rule_index + role_index)
            if role == "city_org":  # the widest reach: ids and years at their bounds
                for url in _bound_urls(rule, world):
                    check(user, "GET", url)
            if role == "community_secretary":  # refused up front, whatever the route
                check(user, "GET", f"{_own_url(rule, world)}?{urlencode({'q': CONTROL_VALUES[rule_index % 4]})}")
        for rule_index, rule in enumerate(post_rules):
            attack(user, "POST", rule, rule_index + role_index)
            if role == "branch_secretary":
                check(user, "POST", _own_url(rule, world), data={"name": "a\x00b", "reason": "\x1b"})
    assert not failures, failures
    assert requests > 8 * (len(get_rules) + len(post_rules))
    print(f"{requests} hostile requests in {time.perf_counter() - started:.1f} s")


# ---------------------------------------------------------------- 机关党委 / 机关工委 change nothing

# POST routes about one's own account and session, open to every logged-in user.
OWN_ACCOUNT = {"auth.login", "auth.logout", "auth.language", "auth.change_password", "api_tokens.create_personal"}


# The one thing the agency's party organization does: it acknowledges receipt of a feedback letter to its agency,
# and marks the notices of those letters read (its own inbox). The work committee above does neither.
PARTY_OWN = {"letters.acknowledge", "notices.read_all"}


def test_every_post_route_refuses_the_agency_party_and_the_work_committee(app, world, login):
    """Both roles read their agencies' branches (the 五华 side of this world, in scope here) and change nothing:
    every POST route, on objects they can read, is a 404 — but the party organization's acknowledgement of a
    letter to its agency (tested in test_letters_http.py) and its own notices."""
    for username in ("wuhua_party", "wuhua_committee"):
        user = login(username)
        assert user.get(f"/branches/{world.branch.id}/report-ins").status_code == 200  # in scope
        for rule in _routes(app, "POST"):
            if rule.endpoint in OWN_ACCOUNT or (username == "wuhua_party" and rule.endpoint in PARTY_OWN):
                continue
            url = _url(rule, world, wuhua_user=False)
            before = row_count()
            response = user.post(url, {"reason": "x", "comment": "x", "active": "1", "status": "closed"})
            if rule.endpoint in PUBLIC_FORMS:
                assert response.status_code == 422 and row_count() == before, url
                continue
            assert response.status_code == 404, f"{username} POST {url} → {response.status_code}"
            assert row_count() == before, url
