"""The open JSON API, /api/v1: the same services and the same auth/policy.py rules as the pages.

Every call carries ``Authorization: Bearer kmv_…``. A token's scopes say which endpoints it may call; what it
then reaches is its user's (the person, or the department staff who made an integration's token), and an
integration's token only within its area. Lists are paged by an opaque cursor; GET answers carry an ETag and
answer 304 to a matching If-None-Match; every error is an RFC 9457 problem (core/problems.py, errors.py).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask import g, request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from sqlalchemy import Select, select

from kmvolunteer.api import schemas
from kmvolunteer.api import tokens as api_tokens
from kmvolunteer.api.models import ApiToken
from kmvolunteer.auth.models import User
from kmvolunteer.auth.policy import can, scoped, token_allows, token_reaches
from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Agency, Area, Branch, Member
from kmvolunteer.reportin import services as lists
from kmvolunteer.reportin.models import Need
from kmvolunteer.service import services as service
from kmvolunteer.tallies import facts as tally_facts
from kmvolunteer.whistles import pages as whistle_pages
from kmvolunteer.whistles.models import Whistle

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1", description="kmvolunteer's open API")
BEARER = [{"bearerAuth": []}]
PROBLEMS = {
    400: "A cursor this API did not give",
    401: "No token, or one unknown, expired or revoked",
    403: "The token lacks the scope",
    404: "Nothing of that id within the token's reach",
    413: "A body over 5 MB",
    422: "Arguments or a body refused, or the change refused by the site's rules",
    429: "Too many calls with this token; Retry-After says when to call again",
}


def problems(view):
    """Document the problem answers every operation may give."""
    for status, description in PROBLEMS.items():
        view = bp.alt_response(
            status, schema=schemas.Problem, description=description, content_type="application/problem+json"
        )(view)
    return view


# --------------------------------------------------------------------------- who is calling


def rate_key() -> str:
    """What Flask-Limiter counts a call against: the token presented (hashed), else the client address."""
    header = request.headers.get("Authorization", "")
    return "api:" + (hashlib.sha256(header.encode()).hexdigest()[:32] if header else request.remote_addr or "-")


@bp.before_request
def _authenticate() -> None:
    if request.endpoint is None:
        return  # an unknown address: a 404 problem
    scheme, _sep, secret = request.headers.get("Authorization", "").partition(" ")
    token = api_tokens.recognise(secret.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        abort(
            401,
            message=_("Send a valid API token: Authorization: Bearer kmv_…"),
            headers={"WWW-Authenticate": 'Bearer realm="kmvolunteer"'},
        )
    g.api_token = token
    api_tokens.note_use(token)
    db.session.commit()


def _token() -> ApiToken:
    return g.api_token


def _caller(scope: str) -> User:
    """The user whose rights the call uses, once the token may call for ``scope``; 403 otherwise."""
    token = _token()
    if not token_allows(token, scope):
        abort(403, message=_("This token may not %(scope)s.", scope=scope))
    return token.user


def _in_reach(area: Area | None, action: str, user: User) -> Area:
    """``area`` when the token and its user may ``action`` it; 404 otherwise (never saying it exists)."""
    if area is None or not token_reaches(_token(), area) or not can(user, action, area):
        abort(404, message=_("No such place within this token's reach."))
    return area


def _reach_filter(stmt: Select, path_column: Any) -> Select:
    area = _token().area
    return stmt.where(path_column.startswith(area.path, autoescape=True)) if area is not None else stmt


def _changed(what: str) -> None:
    api_tokens.note_change(_token(), what)
    db.session.commit()


# --------------------------------------------------------------------------- paging and conditional GETs


def _encode(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def _decode(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        text = ""
    kind, _sep, raw = text.partition(":")
    if kind != "id" or not raw.isdigit() or len(raw) > 12:
        abort(400, message=_("The cursor is not one this API gave."))
    return int(raw)


def _page(stmt: Select, id_column: Any, args: dict, row: Callable[[Any], dict], *, newest_first: bool = False):
    """One page of ``stmt`` (of one entity) in id order from the cursor on, and the next page's cursor."""
    after = _decode(args.get("cursor"))
    limit = args["limit"]
    if after is not None:
        stmt = stmt.where(id_column < after if newest_first else id_column > after)
    stmt = stmt.order_by(None).order_by(id_column.desc() if newest_first else id_column).limit(limit + 1)
    items = db.session.scalars(stmt).unique().all()
    more = len(items) > limit
    items = items[:limit]
    return {"items": [row(item) for item in items], "next_cursor": _encode(items[-1].id) if more else None}


@bp.after_request
def _conditional(response):
    """A weak ETag of each GET's answer, and 304 when the caller already has it."""
    if request.method == "GET" and response.status_code == 200 and response.is_json:
        response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32], weak=True)
        response.headers["Cache-Control"] = "private, no-cache"
        response.make_conditional(request)
    return response


# --------------------------------------------------------------------------- reading


@bp.route("/areas")
class Areas(MethodView):
    @problems
    @bp.doc(security=BEARER, summary="Places: the city, districts, subdistricts and communities")
    @bp.arguments(schemas.AreaQuery, location="query")
    @bp.response(200, schemas.AreaPage)
    def get(self, args):
        """The active places within the token's reach (an integration: its area; a person: the city), by id."""
        _caller("read:areas")
        stmt = select(Area).where(Area.active.is_(True))
        if args.get("parent_id"):
            stmt = stmt.where(Area.parent_id == args["parent_id"])
        if args.get("level"):
            stmt = stmt.where(Area.level == args["level"])
        return _page(_reach_filter(stmt, Area.path), Area.id, args, schemas.area_row)


@bp.route("/branches")
class Branches(MethodView):
    @problems
    @bp.doc(security=BEARER, summary="Party branches of the agencies the caller reads")
    @bp.arguments(schemas.PageQuery, location="query")
    @bp.response(200, schemas.BranchPage)
    def get(self, args):
        """Branches of agencies administered within the caller's organization-department reach (a branch
        secretary: their own branches)."""
        user = _caller("read:areas")
        stmt = scoped(select(Branch), user, "branch.list").where(Branch.active.is_(True))
        return _page(_reach_filter(stmt, Area.path), Branch.id, args, schemas.branch_row)


@bp.route("/needs")
class Needs(MethodView):
    @problems
    @bp.doc(security=BEARER, summary="Open needs and posts with places left (项目超市)")
    @bp.arguments(schemas.NeedQuery, location="query")
    @bp.response(200, schemas.NeedPage)
    def get(self, args):
        """Every community's open needs and posts with places left, within reach; one community's with
        ``community_id``."""
        user = _caller("read:needs")
        stmt = lists.market()
        if args.get("community_id"):
            community = _in_reach(db.session.get(Area, args["community_id"]), "community.lists", user)
            stmt = stmt.where(Need.community_id == community.id)
        return _page(_reach_filter(stmt, Area.path), Need.id, args, schemas.need_row)


@bp.route("/tallies/members")
class MemberTallies(MethodView):
    @problems
    @bp.doc(security=BEARER, summary="Members' yearly tallies, by the community they serve in")
    @bp.arguments(schemas.TallyQuery, location="query")
    @bp.response(200, schemas.TallyPage)
    def get(self, args):
        """Each member reported in to a community under ``area_id``: the year's approved hours and entries,
        entries waiting, reports, and whether the year rule is met — the numbers of the tally pages."""
        user = _caller("read:tallies")
        area = _in_reach(db.session.get(Area, args["area_id"]), "tally.area", user)
        year = args.get("year") or local_today().year
        facts = tally_facts.facts(year, tally_facts.Scope("service_area", area.path)).subquery()
        stmt = (
            select(
                facts.c.member_id,
                Member.name,
                Branch.name.label("branch"),
                Agency.name.label("agency"),
                facts.c.community_id,
                facts.c.approved_half_hours,
                facts.c.approved_entries,
                facts.c.pending_entries,
                facts.c.reports_submitted,
                facts.c.min_half_hours,
                facts.c.min_activities,
                tally_facts.compliant_expr(facts).label("meets_rule"),
            )
            .join(Member, Member.id == facts.c.member_id)
            .join(Branch, Member.branch_id == Branch.id)
            .join(Agency, Branch.agency_id == Agency.id)
        )
        return _rows_page(stmt, facts.c.member_id, args, lambda r: schemas.tally_row(r, year))


def _rows_page(stmt: Select, id_column: Any, args: dict, row: Callable[[Any], dict]):
    """``_page`` for rows of columns (their first column is the id)."""
    after = _decode(args.get("cursor"))
    limit = args["limit"]
    if after is not None:
        stmt = stmt.where(id_column > after)
    rows = db.session.execute(stmt.order_by(id_column).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [row(r) for r in rows], "next_cursor": _encode(rows[-1][0]) if more else None}


@bp.route("/whistles")
class Whistles(MethodView):
    @problems
    @bp.doc(security=BEARER, summary="Whistles (吹哨) the caller reads, newest first")
    @bp.arguments(schemas.WhistleQuery, location="query")
    @bp.response(200, schemas.WhistlePage)
    def get(self, args):
        """Whistles the caller may read (those their area blew, those summoning their department, those of
        the areas below an organization department), of one status or all, newest first."""
        user = _caller("read:whistles")
        stmt = whistle_pages.whistle_list(user, args.get("status") or "all").join(Area, Whistle.area_id == Area.id)
        return _page(_reach_filter(stmt, Area.path), Whistle.id, args, schemas.whistle_row, newest_first=True)


# --------------------------------------------------------------------------- changing (a person's token)


def _member_of(user: User) -> Member:
    if user.member is None:
        abort(403, message=_("Only a member's own token may do this."))
    return user.member


@bp.route("/needs/<int:need_id>/claims")
class NeedClaims(MethodView):
    @problems
    @bp.doc(security=BEARER, summary="Claim a place on a need (认领)")
    @bp.response(201, schemas.ClaimOut)
    def post(self, need_id: int):
        """The token's member takes one place on the need (as on the lists: reported in to its community)."""
        user = _caller("write:claims")
        need = db.session.get(Need, need_id)
        if (
            need is None
            or not token_reaches(_token(), need.community)
            or not can(user, "community.lists", need.community)
        ):
            abort(404, message=_("No such need within this token's reach."))
        member = _member_of(user)
        if not can(user, "need.claim", need):
            abort(403, message=_("Only a member's own token may do this."))
        claim = lists.claim_need(need, member=member, actor_id=user.id)
        _changed(f"claim {claim.id} on need {need.id}")
        return {"id": claim.id, "need_id": need.id, "status": claim.status, "places_left": need.places_left}


@bp.route("/service-entries")
class ServiceEntries(MethodView):
    @problems
    @bp.doc(security=BEARER, summary="Log a service entry (服务记录), for the community secretary to approve")
    @bp.arguments(schemas.EntryIn)
    @bp.response(201, schemas.EntryOut)
    def post(self, data):
        """The token's member logs their own service, with the same rules as the form: a day not in the
        future, hours or start and end, at the community they are reported in to (without ``community_id``
        or ``need_id``, that one) or on a need they claimed."""
        user = _caller("write:service")
        member = _member_of(user)
        if not data.get("community_id") and not data.get("need_id"):  # as the form: where they reported in
            home = service.report_in_community(member)
            data["community_id"] = home.id if home else None
        if data.get("hours") is not None:
            data["hours"] = Decimal(str(data["hours"]))
        entry = service.EntryData(**data)
        record = service.log_entry(member, user, entry)
        _changed(f"service entry {record.id}")
        return schemas.entry_row(record)
