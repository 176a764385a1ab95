"""双报到: the rules for report-ins, the three lists and two-way claiming.

Nothing here touches ``request``. Each function either changes the session
(with its audit entry) or raises ServiceError having changed nothing; the
caller commits once, or rolls back. Every state transition is a guarded
UPDATE (``WHERE status = …``), so of two people clicking at once only one wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, time

from flask import has_request_context, request
from flask_babel import gettext as _
from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from kmvolunteer.core import audit
from kmvolunteer.core.db import seed_list
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.time import local_today, to_local, utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org import spots
from kmvolunteer.org.models import Agency, Area, Branch, Estate, Member
from kmvolunteer.reportin.models import (
    ACTIVE_REPORT_IN,
    CLAIMS,
    NEEDS,
    PROJECTS,
    REPORT_INS,
    RESOURCES,
    Claim,
    Need,
    NeedStatus,
    Project,
    ProjectStatus,
    ReportIn,
    ReportInStatus,
    Resource,
    ServiceCategory,
    report_in_category,
)

DEFAULT_CATEGORIES = ("政策宣传", "环境整治", "关爱帮扶", "平安巡逻", "文明创建", "疫情防控", "专业服务")
REMINDER_ACTION = "reportin.reminded"
PENDING = ReportInStatus.pending.value
CONFIRMED = ReportInStatus.confirmed.value


# --------------------------------------------------------------------------- categories


def ensure_default_categories() -> list[ServiceCategory]:
    """The fixed starting list of service categories, created when the table is empty."""
    seed_list(ServiceCategory, DEFAULT_CATEGORIES)
    return all_categories()


def all_categories() -> list[ServiceCategory]:
    return list(db.session.scalars(select(ServiceCategory).order_by(ServiceCategory.sort_order, ServiceCategory.id)))


def active_categories() -> list[ServiceCategory]:
    categories = [c for c in all_categories() if c.active]
    if not categories and (db.session.scalar(select(func.count(ServiceCategory.id))) or 0) == 0:
        categories = [c for c in ensure_default_categories() if c.active]
    return categories


def _clean_category_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ServiceError(_("Enter the name of the category."), field="name")
    if len(name) > 32:
        raise ServiceError(_("The name can be at most 32 characters."), field="name")
    return name


def _name_taken(name: str, exclude_id: int | None = None) -> bool:
    stmt = select(ServiceCategory.id).where(ServiceCategory.name == name)
    if exclude_id is not None:
        stmt = stmt.where(ServiceCategory.id != exclude_id)
    return db.session.scalar(stmt) is not None


def add_category(name: str) -> ServiceCategory:
    name = _clean_category_name(name)
    if _name_taken(name):
        raise ServiceError(_("There is already a category called %(name)s.", name=name), field="name")
    highest = db.session.scalar(select(func.max(ServiceCategory.sort_order))) or 0
    category = ServiceCategory(name=name, sort_order=highest + 10, active=True)
    db.session.add(category)
    db.session.flush()
    audit.record("category.added", category, scope_path="/", summary=name, after={"name": name})
    return category


def rename_category(category: ServiceCategory, name: str) -> None:
    name = _clean_category_name(name)
    if _name_taken(name, exclude_id=category.id):
        raise ServiceError(_("There is already a category called %(name)s.", name=name), field="name")
    before = category.name
    category.name = name
    audit.record(
        "category.renamed", category, scope_path="/", summary=name, before={"name": before}, after={"name": name}
    )


def set_category_active(category: ServiceCategory, active: bool) -> None:
    if category.active == active:
        return
    category.active = active
    audit.record(
        "category.activated" if active else "category.deactivated",
        category,
        scope_path="/",
        summary=category.name,
        before={"active": not active},
        after={"active": active},
    )


# --------------------------------------------------------------------------- report-ins: reading


def active_member_report_in(member: Member) -> ReportIn | None:
    """The member's pending-or-confirmed report-in (there is at most one)."""
    return db.session.scalar(
        select(ReportIn).where(
            ReportIn.kind == "member", ReportIn.member_id == member.id, ReportIn.status.in_(ACTIVE_REPORT_IN)
        )
    )


def _confirmed_report_in_of(member: Member):
    return and_(ReportIn.kind == "member", ReportIn.member_id == member.id, ReportIn.status == CONFIRMED)


def confirmed_community_id(member: Member) -> int | None:
    return db.session.scalar(select(ReportIn.community_id).where(_confirmed_report_in_of(member)))


def confirmed_community_of(member: Member) -> Area | None:
    """The community of the member's confirmed report-in, if any."""
    return db.session.scalar(
        select(Area).join(ReportIn, ReportIn.community_id == Area.id).where(_confirmed_report_in_of(member))
    )


def skills_of(member: Member) -> list[str]:
    """The skills the member gave on their confirmed report-in (特长), one by one."""
    text = db.session.scalar(select(ReportIn.skills).where(_confirmed_report_in_of(member))) or ""
    return [part for part in text.split("、") if part]


def member_history(member: Member) -> list[ReportIn]:
    """The member's report-ins, newest first, with their communities.

    Read once per request: a member's home asks from two sections (report-ins are changed only by
    requests that redirect or answer without the history).
    """
    known = request.environ.setdefault("kmvolunteer.member_history", {}) if has_request_context() else {}
    if member.id not in known:
        known[member.id] = list(
            db.session.scalars(
                select(ReportIn)
                .where(ReportIn.kind == "member", ReportIn.member_id == member.id)
                .options(joinedload(ReportIn.community))
                .order_by(ReportIn.submitted_at.desc(), ReportIn.id.desc())
            )
        )
    return known[member.id]


def latest_member_report_in(member: Member) -> ReportIn | None:
    history = member_history(member)
    return history[0] if history else None


def branch_report_ins(branch: Branch, *, active_only: bool = False) -> list[ReportIn]:
    stmt = select(ReportIn).where(ReportIn.kind == "branch", ReportIn.branch_id == branch.id)
    if active_only:
        stmt = stmt.where(ReportIn.status.in_(ACTIVE_REPORT_IN))
    return list(db.session.scalars(stmt.order_by(ReportIn.submitted_at.desc(), ReportIn.id.desc())))


def branch_cobuilds(branch: Branch) -> list[Area]:
    """Communities the branch has a confirmed co-building agreement with."""
    return list(
        db.session.scalars(
            select(Area)
            .join(ReportIn, ReportIn.community_id == Area.id)
            .where(ReportIn.kind == "branch", ReportIn.branch_id == branch.id, ReportIn.status == CONFIRMED)
            .order_by(Area.name)
        )
    )


def _branch_cobuilds_with(branch_id: int, community_id: int) -> bool:
    return (
        db.session.scalar(
            select(ReportIn.id).where(
                ReportIn.kind == "branch",
                ReportIn.branch_id == branch_id,
                ReportIn.community_id == community_id,
                ReportIn.status == CONFIRMED,
            )
        )
        is not None
    )


def branch_may_claim(branch: Branch, community: Area) -> bool:
    """May ``branch`` claim ``community``'s needs? It co-builds with the community, or its agency is a member
    unit of the community's 大党委 or of its subdistrict's 党建联盟 (the lists across a joint body)."""
    from kmvolunteer.bodies.models import BodyUnit, JointBody

    if _branch_cobuilds_with(branch.id, community.id):
        return True
    bodies = [community.id] + ([community.parent_id] if community.parent_id else [])
    unit = db.session.scalar(
        select(BodyUnit.id)
        .join(JointBody, BodyUnit.body_id == JointBody.id)
        .where(JointBody.area_id.in_(bodies), BodyUnit.agency_id == branch.agency_id, BodyUnit.active.is_(True))
        .limit(1)
    )
    return unit is not None


def pending_count(communities: Iterable[Area]) -> int:
    ids = [c.id for c in communities]
    if not ids:
        return 0
    return (
        db.session.scalar(
            select(func.count(ReportIn.id)).where(ReportIn.community_id.in_(ids), ReportIn.status == PENDING)
        )
        or 0
    )


def pending_counts(communities: Iterable[Area]) -> dict[int, int]:
    """Report-ins waiting in each of ``communities``, by community id: one statement however many."""
    ids = [c.id for c in communities]
    if not ids:
        return {}
    rows = db.session.execute(
        select(ReportIn.community_id, func.count(ReportIn.id))
        .where(ReportIn.community_id.in_(ids), ReportIn.status == PENDING)
        .group_by(ReportIn.community_id)
    )
    return {community_id: 0 for community_id in ids} | dict(rows.tuples().all())


def pending_query(community: Area):
    return (
        select(ReportIn)
        .where(ReportIn.community_id == community.id, ReportIn.status == PENDING)
        .order_by(ReportIn.submitted_at, ReportIn.id)
    )


# --------------------------------------------------------------------------- report-ins: changing


def _require_community(area: Area | None) -> Area:
    if area is None or area.level != "community" or not area.active:
        raise ServiceError(
            _("Choose a community: report-ins go to a community, not a district or subdistrict."), field="community"
        )
    return area


def _snapshot(ri: ReportIn) -> dict:
    return {
        "status": ri.status,
        "community": ri.community.name if ri.community else ri.community_id,
        "reason": ri.reason or None,
        "serial": ri.serial,
    }


def who(ri: ReportIn) -> str:
    if ri.kind == "member" and ri.member is not None:
        return ri.member.name
    if ri.branch is not None:
        return ri.branch.full_name()
    return ""


def _flush_unique(message: str) -> None:
    """Flush; a partial unique index refusing the row means someone was faster."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise ServiceError(message) from exc


def _clean_skills(skills: str) -> str:
    skills = " ".join((skills or "").replace("，", ",").replace("、", ",").split())
    parts = [p.strip() for p in skills.split(",") if p.strip()]
    text = "、".join(dict.fromkeys(parts))
    if len(text) > 255:
        raise ServiceError(_("Skills can be at most 255 characters."), field="skills")
    return text


def _load_categories(category_ids: Iterable[int]) -> list[ServiceCategory]:
    ids = {int(i) for i in category_ids}
    if not ids:
        return []
    found = list(
        db.session.scalars(select(ServiceCategory).where(ServiceCategory.id.in_(ids), ServiceCategory.active.is_(True)))
    )
    if len(found) != len(ids):
        raise ServiceError(_("Choose service categories from the list."), field="categories")
    return found


def report_in_member(
    member: Member,
    community: Area | None,
    *,
    skills: str = "",
    category_ids: Iterable[int] = (),
    actor_id: int | None = None,
    moving: bool = False,
) -> ReportIn:
    """在职党员到居住地社区报到: a new pending report-in.

    With ``moving`` a confirmed report-in elsewhere is ended first (history is
    kept); without it, any pending-or-confirmed report-in refuses the new one.
    """
    community = _require_community(community)
    if not member.active:
        raise ServiceError(_("This member is no longer on the roster."))
    categories = _load_categories(category_ids)
    skills_text = _clean_skills(skills)
    current = active_member_report_in(member)
    if current is not None:
        if not moving or current.status != CONFIRMED:
            if current.status == PENDING:
                raise ServiceError(
                    _(
                        "You already have a report-in to %(name)s waiting for confirmation. "
                        "Withdraw it first to report in elsewhere.",
                        name=current.community.name,
                    )
                )
            raise ServiceError(
                _(
                    "You are already reported in to %(name)s. If you have moved house, "
                    "use “I have moved” to report in to your new community.",
                    name=current.community.name,
                )
            )
        if current.community_id == community.id:
            raise ServiceError(_("You are already reported in to %(name)s.", name=community.name), field="community")
        end_report_in(current, reason=_("Moved house"), actor_id=actor_id)
    report_in = ReportIn(
        kind="member",
        member=member,
        community=community,
        status=PENDING,
        skills=skills_text,
        categories=categories,
        submitted_at=utcnow(),
        submitted_by_id=actor_id,
    )
    db.session.add(report_in)
    _flush_unique(_("You already have an active report-in."))
    audit.record(
        "reportin.submitted",
        report_in,
        scope_path=community.path,
        actor_id=actor_id,
        summary=f"{member.name} → {community.name}",
        after=_snapshot(report_in),
    )
    return report_in


def report_in_branch(
    branch: Branch,
    community: Area | None,
    *,
    term_start: date | None,
    term_end: date | None,
    contact_name: str,
    contact_phone: str,
    branch_commitments: str,
    community_commitments: str,
    actor_id: int | None = None,
) -> ReportIn:
    """机关党组织到驻地社区报到 with a co-building agreement (共建协议)."""
    community = _require_community(community)
    if not branch.active:
        raise ServiceError(_("This branch is no longer active."))
    if term_start and term_end and term_end < term_start:
        raise ServiceError(_("The agreement must end after it starts."), field="term_end")
    if not (branch_commitments or "").strip():
        raise ServiceError(_("Say what the branch commits to."), field="branch_commitments")
    existing = db.session.scalar(
        select(ReportIn).where(
            ReportIn.kind == "branch",
            ReportIn.branch_id == branch.id,
            ReportIn.community_id == community.id,
            ReportIn.status.in_(ACTIVE_REPORT_IN),
        )
    )
    if existing is not None:
        raise ServiceError(
            _("This branch already co-builds with %(name)s (or is waiting for its confirmation).", name=community.name),
            field="community",
        )
    report_in = ReportIn(
        kind="branch",
        branch=branch,
        community=community,
        status=PENDING,
        term_start=term_start,
        term_end=term_end,
        contact_name=(contact_name or "").strip(),
        contact_phone=(contact_phone or "").strip(),
        branch_commitments=branch_commitments.strip(),
        community_commitments=(community_commitments or "").strip(),
        submitted_at=utcnow(),
        submitted_by_id=actor_id,
    )
    db.session.add(report_in)
    _flush_unique(
        _("This branch already co-builds with %(name)s (or is waiting for its confirmation).", name=community.name)
    )
    audit.record(
        "reportin.submitted",
        report_in,
        scope_path=community.path,
        actor_id=actor_id,
        summary=f"{branch.full_name()} → {community.name}",
        after=_snapshot(report_in),
    )
    return report_in


def _transition(ri: ReportIn, action: str, *, actor_id: int | None, values: dict | None = None, **kw) -> None:
    REPORT_INS.perform(
        ri,
        action,
        actor_id=actor_id,
        scope_path=ri.community.path,
        summary=f"{who(ri)} → {ri.community.name}",
        values=values,
        **kw,
    )


def serial_for(ri: ReportIn) -> str:
    return f"BD{local_today().year}-{ri.id:06d}"


def confirm_report_in(ri: ReportIn, *, actor_id: int | None = None) -> None:
    serial = serial_for(ri)
    _transition(
        ri,
        "confirm",
        actor_id=actor_id,
        values={"decided_at": utcnow(), "decided_by_id": actor_id, "serial": serial, "reason": ""},
        after={"serial": serial},
    )


def confirm_many(report_ins: Iterable[ReportIn], *, actor_id: int | None = None) -> tuple[int, list[str]]:
    """Bulk confirm: confirms what is still pending, reports what was not."""
    done = 0
    skipped: list[str] = []
    for ri in report_ins:
        try:
            confirm_report_in(ri, actor_id=actor_id)
        except ServiceError:
            skipped.append(who(ri))
        else:
            done += 1
    return done, skipped


def reject_report_in(ri: ReportIn, reason: str, *, actor_id: int | None = None) -> None:
    _transition(
        ri, "reject", actor_id=actor_id, values={"decided_at": utcnow(), "decided_by_id": actor_id}, reason=reason
    )


def withdraw_report_in(ri: ReportIn, *, actor_id: int | None = None) -> None:
    if ri.status != PENDING:
        raise ServiceError(_("Only a report-in waiting for confirmation can be withdrawn."))
    _transition(ri, "withdraw", actor_id=actor_id, values={"decided_at": utcnow()})


def end_report_in(ri: ReportIn, *, reason: str, actor_id: int | None = None) -> None:
    if ri.status != CONFIRMED:
        raise ServiceError(_("Only a confirmed report-in can be ended."))
    _transition(ri, "end", actor_id=actor_id, values={"ended_at": utcnow()}, reason=reason)


# --------------------------------------------------------------------------- needs and claims


@dataclass
class NeedData:
    kind: str
    title: str
    category_id: int | None
    description: str
    place: str
    on_date: date | None
    start_time: time | None
    end_time: time | None
    recurrence: str
    headcount: int
    skills: str = ""  # 所需特长
    spot: str = ""  # the estate or grid it is in: a key of org.spots.spot_choices


def publish_need(community: Area, data: NeedData, *, actor_id: int | None = None) -> Need:
    community = _require_community(community)
    title = (data.title or "").strip()
    if not title:
        raise ServiceError(_("Enter a title."), field="title")
    if data.kind not in ("need", "post"):
        raise ServiceError(_("Choose need or post."), field="kind")
    if data.headcount is None or data.headcount < 1 or data.headcount > 1000:
        raise ServiceError(_("The number of places must be between 1 and 1000."), field="headcount")
    if data.on_date is None and not (data.recurrence or "").strip():
        raise ServiceError(_("Give a date, or a recurring schedule such as “every Saturday 9–11”."), field="on_date")
    if data.on_date is not None and data.on_date < local_today():
        raise ServiceError(_("The date is in the past."), field="on_date")
    if data.start_time and data.end_time and data.end_time <= data.start_time:
        raise ServiceError(_("The end time must be after the start time."), field="end_time")
    if data.category_id is not None:
        _load_categories([data.category_id])
    skills = _clean_skills(data.skills)
    estate, grid = spots.locate(community.id, data.spot)
    need = Need(
        community=community,
        kind=data.kind,
        title=title,
        category_id=data.category_id,
        description=(data.description or "").strip(),
        place=(data.place or "").strip(),
        estate=estate,
        grid=grid,
        skills=skills,
        on_date=data.on_date,
        start_time=data.start_time,
        end_time=data.end_time,
        recurrence=(data.recurrence or "").strip(),
        headcount=data.headcount,
        claimed=0,
        status=NeedStatus.open.value,
        created_by_id=actor_id,
        created_at=utcnow(),
    )
    db.session.add(need)
    db.session.flush()
    audit.record(
        "need.published",
        need,
        scope_path=community.path,
        actor_id=actor_id,
        summary=title,
        after={"title": title, "headcount": data.headcount, "on_date": data.on_date, "recurrence": need.recurrence},
    )
    return need


def set_need_status(need: Need, status: str, *, actor_id: int | None = None) -> None:
    NEEDS.perform(
        need,
        "close" if status == NeedStatus.closed.value else "reopen",
        actor_id=actor_id,
        scope_path=need.community.path,
        summary=need.title,
    )


def is_past(need: Need) -> bool:
    return need.on_date is not None and need.on_date < local_today()


def can_withdraw_claim_of(need: Need) -> bool:
    """A claim can be withdrawn before the need's date (recurring needs: any time)."""
    return need.on_date is None or need.on_date > local_today()


def _claim_refusal(need: Need) -> str:
    db.session.refresh(need)
    if need.status != NeedStatus.open.value:
        return _("This need is closed; it cannot be claimed.")
    if is_past(need):
        return _("This need's date has passed; it cannot be claimed.")
    if need.claimed >= need.headcount:
        return _("All places on this need are taken.")
    return _("This need cannot be claimed now.")


def active_claim(need: Need, *, member: Member | None = None, branch: Branch | None = None) -> Claim | None:
    stmt = select(Claim).where(Claim.need_id == need.id, Claim.status == "active")
    stmt = (
        stmt.where(Claim.member_id == member.id)
        if member is not None
        else stmt.where(Claim.branch_id == branch.id if branch is not None else False)
    )
    return db.session.scalar(stmt)


def claim_need(
    need: Need, *, member: Member | None = None, branch: Branch | None = None, actor_id: int | None = None
) -> Claim:
    """认领: one place on the need, for a member or a branch.

    The place is taken by ``UPDATE need SET claimed = claimed + 1 WHERE claimed
    < headcount AND status = 'open'`` in the same transaction as the claim row,
    so however many people click at once the need is never overbooked.
    """
    if (member is None) == (branch is None):
        raise ValueError("claim for exactly one member or one branch")
    if member is not None:
        community = confirmed_community_of(member)
        if community is None or community.id != need.community_id:
            raise ServiceError(
                _("Only members confirmed as reported in to %(name)s can claim its needs.", name=need.community.name)
            )
    else:
        if not branch_may_claim(branch, need.community):
            raise ServiceError(
                _(
                    "Only branches co-building with %(name)s, or of a member unit of its 大党委 or 党建联盟, can "
                    "claim its needs.",
                    name=need.community.name,
                )
            )
    if active_claim(need, member=member, branch=branch) is not None:
        raise ServiceError(_("You have already claimed this need."))
    if is_past(need):
        raise ServiceError(_("This need's date has passed; it cannot be claimed."))
    result = db.session.execute(
        update(Need)
        .where(Need.id == need.id, Need.claimed < Need.headcount, Need.status == NeedStatus.open.value)
        .values(claimed=Need.claimed + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise ServiceError(_claim_refusal(need))
    claim = Claim(need_id=need.id, member=member, branch=branch, status="active", created_at=utcnow())
    db.session.add(claim)
    _flush_unique(_("You have already claimed this need."))
    db.session.refresh(need)
    who = member.name if member is not None else branch.full_name()
    audit.record(
        "claim.created",
        claim,
        scope_path=need.community.path,
        actor_id=actor_id,
        summary=f"{who} → {need.title}",
        after={"need": need.title, "claimed": need.claimed, "headcount": need.headcount},
    )
    if branch is not None:
        project = Project(
            community_id=need.community_id,
            branch=branch,
            need_id=need.id,
            title=need.title,
            status=ProjectStatus.open.value,
            created_at=utcnow(),
        )
        db.session.add(project)
        db.session.flush()
        audit.record(
            "project.created",
            project,
            scope_path=need.community.path,
            actor_id=actor_id,
            summary=f"{branch.full_name()} · {need.title}",
            after={"status": project.status},
        )
    return claim


def withdraw_claim(claim: Claim, *, actor_id: int | None = None) -> None:
    need = claim.need
    if not can_withdraw_claim_of(need):
        raise ServiceError(_("The need has started; the claim can no longer be withdrawn."))
    CLAIMS.perform(
        claim,
        "withdraw",
        actor_id=actor_id,
        scope_path=need.community.path,
        summary=need.title,
        values={"withdrawn_at": utcnow()},
    )
    db.session.execute(
        update(Need)
        .where(Need.id == need.id, Need.claimed > 0)
        .values(claimed=Need.claimed - 1)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(need, ["claimed"])
    if claim.branch_id is not None:
        for project in db.session.scalars(
            select(Project).where(
                Project.need_id == need.id,
                Project.branch_id == claim.branch_id,
                Project.status == ProjectStatus.open.value,
            )
        ):
            _project_transition(project, "cancel", actor_id=actor_id)


def needs_of(community: Area, *, open_only: bool = True):
    stmt = select(Need).where(Need.community_id == community.id)
    if open_only:
        stmt = stmt.where(
            Need.status == NeedStatus.open.value, or_(Need.on_date.is_(None), Need.on_date >= local_today())
        )
    return stmt.order_by(Need.on_date.is_(None), Need.on_date, Need.id.desc())


def market(area: Area | None = None, category_id: int | None = None, words: str = "", skill: str = ""):
    """项目超市: every community's open needs and posts with places left (and a day still to come, or a
    schedule), under ``area`` (a district or the city), of a category, wanting ``skill``, with ``words`` in
    the title, the description or the place; the soonest first."""
    stmt = (
        select(Need)
        .join(Area, Need.community_id == Area.id)
        .where(
            Need.status == NeedStatus.open.value,
            Need.claimed < Need.headcount,
            or_(Need.on_date.is_(None), Need.on_date >= local_today()),
        )
        .options(
            selectinload(Need.community),
            selectinload(Need.category),
            selectinload(Need.estate).selectinload(Estate.grid),
            selectinload(Need.grid),
        )
    )
    if skill.strip():
        stmt = stmt.where(Need.skills.contains(skill.strip(), autoescape=True))
    if area is not None:
        stmt = stmt.where(Area.path.startswith(area.path, autoescape=True))
    if category_id is not None:
        stmt = stmt.where(Need.category_id == category_id)
    for word in words.split()[:5]:
        stmt = stmt.where(
            or_(*(column.contains(word, autoescape=True) for column in (Need.title, Need.description, Need.place)))
        )
    return stmt.order_by(Need.on_date.is_(None), Need.on_date, Need.id.desc())


def claims_of_need(need: Need) -> list[Claim]:
    return list(
        db.session.scalars(
            select(Claim).where(Claim.need_id == need.id, Claim.status == "active").order_by(Claim.created_at)
        )
    )


def claims_and_open_needs(member: Member, community: Area) -> tuple[int, int]:
    """How many needs the member has claimed, and how many open needs with places left ``community``
    has (a full one is no longer the member's to take up): one statement."""
    claims = select(func.count(Claim.id)).where(Claim.member_id == member.id, Claim.status == "active")
    open_needs = needs_of(community).where(Need.claimed < Need.headcount).with_only_columns(func.count(Need.id))
    claimed, needs = db.session.execute(
        select(claims.scalar_subquery(), open_needs.order_by(None).scalar_subquery())
    ).one()
    return claimed or 0, needs or 0


def member_claims(member: Member) -> list[Claim]:
    return list(
        db.session.scalars(
            select(Claim)
            .join(Need, Claim.need_id == Need.id)
            .where(Claim.member_id == member.id, Claim.status == "active")
            .order_by(Need.on_date.is_(None), Need.on_date, Claim.id)
        )
    )


def branch_claims(branch: Branch) -> list[Claim]:
    return list(
        db.session.scalars(
            select(Claim).where(Claim.branch_id == branch.id, Claim.status == "active").order_by(Claim.id.desc())
        )
    )


# --------------------------------------------------------------------------- resources and projects


def offer_resource(
    branch: Branch,
    community: Area | None,
    *,
    title: str,
    category_id: int | None,
    description: str,
    amount: str,
    actor_id: int | None = None,
) -> Resource:
    community = _require_community(community)
    if not _branch_cobuilds_with(branch.id, community.id):
        raise ServiceError(
            _("Offer resources to a community the branch has a confirmed co-building agreement with."),
            field="community",
        )
    title = (title or "").strip()
    if not title:
        raise ServiceError(_("Enter a title."), field="title")
    if category_id is not None:
        _load_categories([category_id])
    resource = Resource(
        branch=branch,
        community=community,
        title=title,
        category_id=category_id,
        description=(description or "").strip(),
        amount=(amount or "").strip(),
        status="offered",
        created_at=utcnow(),
    )
    db.session.add(resource)
    db.session.flush()
    audit.record(
        "resource.offered",
        resource,
        scope_path=community.path,
        actor_id=actor_id,
        summary=f"{branch.full_name()} · {title}",
        after={"title": title, "amount": resource.amount},
    )
    return resource


def _resource_transition(resource: Resource, action: str, *, actor_id: int | None) -> None:
    RESOURCES.perform(resource, action, actor_id=actor_id, scope_path=resource.community.path, summary=resource.title)


def take_up_resource(resource: Resource, *, actor_id: int | None = None) -> Project:
    """The community takes up a branch's resource: it becomes a project."""
    _resource_transition(resource, "take", actor_id=actor_id)
    project = Project(
        community_id=resource.community_id,
        branch_id=resource.branch_id,
        resource_id=resource.id,
        title=resource.title,
        status=ProjectStatus.open.value,
        created_at=utcnow(),
    )
    db.session.add(project)
    db.session.flush()
    audit.record(
        "project.created",
        project,
        scope_path=resource.community.path,
        actor_id=actor_id,
        summary=f"{resource.branch.full_name()} · {resource.title}",
        after={"status": project.status},
    )
    return project


def withdraw_resource(resource: Resource, *, actor_id: int | None = None) -> None:
    _resource_transition(resource, "withdraw", actor_id=actor_id)


def _project_transition(project: Project, action: str, *, actor_id: int | None, values: dict | None = None) -> None:
    PROJECTS.perform(
        project,
        action,
        actor_id=actor_id,
        scope_path=project.community.path,
        summary=project.title,
        values=values,
        after={"outcome": values["outcome"]} if values and "outcome" in values else None,
    )


def start_project(project: Project, *, actor_id: int | None = None) -> None:
    _project_transition(project, "start", actor_id=actor_id)


def finish_project(project: Project, outcome: str, *, actor_id: int | None = None) -> None:
    outcome = (outcome or "").strip()
    if not outcome:
        raise ServiceError(_("Describe the outcome in a few words."), field="outcome")
    _project_transition(project, "finish", actor_id=actor_id, values={"outcome": outcome, "done_at": utcnow()})


def resources_of(community: Area, *, status: str | None = "offered"):
    stmt = select(Resource).where(Resource.community_id == community.id)
    if status:
        stmt = stmt.where(Resource.status == status)
    return stmt.order_by(Resource.created_at.desc(), Resource.id.desc())


def projects_of(*, community: Area | None = None, branch: Branch | None = None):
    stmt = select(Project).where(Project.status != ProjectStatus.cancelled.value)
    if community is not None:
        stmt = stmt.where(Project.community_id == community.id)
    if branch is not None:
        stmt = stmt.where(Project.branch_id == branch.id)
    return stmt.order_by(Project.created_at.desc(), Project.id.desc())


# --------------------------------------------------------------------------- roster, rates, reminders


def roster_query(
    community: Area, *, branch_id: int | None = None, category_id: int | None = None, skill: str | None = None
):
    """Everyone confirmed as reported in to the community (members), filterable."""
    stmt = (
        select(ReportIn)
        .join(Member, ReportIn.member_id == Member.id)
        .where(ReportIn.community_id == community.id, ReportIn.kind == "member", ReportIn.status == CONFIRMED)
    )
    if branch_id:
        stmt = stmt.where(Member.branch_id == branch_id)
    if category_id:
        stmt = stmt.where(
            exists().where(
                report_in_category.c.report_in_id == ReportIn.id, report_in_category.c.category_id == category_id
            )
        )
    if skill:
        stmt = stmt.where(ReportIn.skills.contains(skill.strip(), autoescape=True))
    return stmt.order_by(Member.name, ReportIn.id)


def roster_branches(community: Area) -> list[Branch]:
    return list(
        db.session.scalars(
            select(Branch)
            .join(Member, Member.branch_id == Branch.id)
            .join(ReportIn, ReportIn.member_id == Member.id)
            .where(ReportIn.community_id == community.id, ReportIn.kind == "member", ReportIn.status == CONFIRMED)
            .distinct()
            .order_by(Branch.id)
        )
    )


ROSTER_HEADER = ("姓名", "手机号", "单位", "党支部", "职务", "专业技能", "服务类别", "报到日期", "回执编号")


def roster_rows(community: Area, stmt, *, show_phone) -> Iterator[tuple]:
    """One row per reported-in member, for the XLSX/CSV export (phones masked unless allowed)."""
    from kmvolunteer.core.text import mask_phone

    for ri in db.session.scalars(stmt.execution_options(yield_per=500)):
        m = ri.member
        confirmed = to_local(ri.decided_at).date().isoformat() if ri.decided_at else ""
        yield (
            m.name,
            m.phone if show_phone(m) else mask_phone(m.phone),
            m.branch.agency.name,
            m.branch.name,
            m.post,
            ri.skills,
            "、".join(c.name for c in ri.categories),
            confirmed,
            ri.serial or "",
        )


@dataclass
class Rate:
    members: int
    confirmed: int
    pending: int

    @property
    def percent(self) -> int:
        return round(100 * self.confirmed / self.members) if self.members else 0


def _rate(member_filter) -> Rate:
    # One pass over the members: a member has at most one active report-in (a unique index says so).
    counts = dict(
        db.session.execute(
            select(ReportIn.status, func.count(Member.id))
            .select_from(Member)
            .outerjoin(
                ReportIn,
                and_(ReportIn.member_id == Member.id, ReportIn.kind == "member", ReportIn.status.in_(ACTIVE_REPORT_IN)),
            )
            .where(Member.active.is_(True), member_filter)
            .group_by(ReportIn.status)
        ).all()
    )
    return Rate(sum(counts.values()), counts.get(CONFIRMED, 0), counts.get(PENDING, 0))


def branch_rate(branch: Branch) -> Rate:
    """报到率 = members with a confirmed report-in / active members."""
    return _rate(Member.branch_id == branch.id)


def area_rate(area: Area) -> Rate:
    """The report-in rate of members whose agency sits in ``area`` (or below)."""
    agency_ids = (
        select(Agency.id).join(Area, Agency.area_id == Area.id).where(Area.path.startswith(area.path, autoescape=True))
    )
    branch_ids = select(Branch.id).where(Branch.agency_id.in_(agency_ids))
    return _rate(Member.branch_id.in_(branch_ids))


def branch_member_report_ins(branch: Branch) -> list[tuple[Member, ReportIn | None]]:
    members = list(
        db.session.scalars(
            select(Member).where(Member.branch_id == branch.id, Member.active.is_(True)).order_by(Member.name)
        )
    )
    active = {
        ri.member_id: ri
        for ri in db.session.scalars(
            select(ReportIn)
            .join(Member, ReportIn.member_id == Member.id)
            .where(Member.branch_id == branch.id, ReportIn.kind == "member", ReportIn.status.in_(ACTIVE_REPORT_IN))
        )
    }
    return [(m, active.get(m.id)) for m in members]


@dataclass
class AreaFigures:
    communities: int
    confirmed: int
    pending: int
    branches: int
    open_needs: int
    projects: int


def area_figures(area: Area) -> AreaFigures:
    """Report-ins to communities in ``area`` (or below): the community side of the practice."""
    community_ids = select(Area.id).where(Area.path.startswith(area.path, autoescape=True), Area.level == "community")

    counts = {
        (kind, status): count
        for kind, status, count in db.session.execute(
            select(ReportIn.kind, ReportIn.status, func.count(ReportIn.id))
            .where(ReportIn.community_id.in_(community_ids), ReportIn.status.in_(ACTIVE_REPORT_IN))
            .group_by(ReportIn.kind, ReportIn.status)
        )
    }

    return AreaFigures(
        communities=db.session.scalar(select(func.count()).select_from(community_ids.subquery())) or 0,
        confirmed=counts.get(("member", CONFIRMED), 0),
        pending=counts.get(("member", PENDING), 0),
        branches=counts.get(("branch", CONFIRMED), 0),
        open_needs=db.session.scalar(
            select(func.count(Need.id)).where(
                Need.community_id.in_(community_ids), Need.status == NeedStatus.open.value
            )
        )
        or 0,
        projects=db.session.scalar(
            select(func.count(Project.id)).where(
                Project.community_id.in_(community_ids), Project.status != ProjectStatus.cancelled.value
            )
        )
        or 0,
    )


def child_figures(area: Area) -> list[tuple[Area, Rate, AreaFigures]]:
    """Rate and figures for each child of ``area`` in a handful of grouped queries (not per child)."""
    children = [c for c in area.children if c.active]
    if not children:
        return []

    def child_of(path: str) -> int | None:
        for child in children:
            if path.startswith(child.path):
                return child.id
        return None

    under = Area.path.startswith(area.path, autoescape=True)
    agency_child = {
        agency_id: child_of(path)
        for agency_id, path in db.session.execute(
            select(Agency.id, Area.path).join(Area, Agency.area_id == Area.id).where(under)
        )
    }
    community_child = {
        cid: child_of(path)
        for cid, path in db.session.execute(select(Area.id, Area.path).where(under, Area.level == "community"))
    }
    rates = {c.id: Rate(0, 0, 0) for c in children}
    figures = {c.id: AreaFigures(0, 0, 0, 0, 0, 0) for c in children}
    for child_id in community_child.values():
        if child_id in figures:
            figures[child_id].communities += 1
    if agency_child:
        members = (
            select(Branch.agency_id, ReportIn.status, func.count(Member.id))
            .select_from(Member)
            .join(Branch, Member.branch_id == Branch.id)
            .outerjoin(
                ReportIn,
                and_(ReportIn.member_id == Member.id, ReportIn.kind == "member", ReportIn.status.in_(ACTIVE_REPORT_IN)),
            )
            .where(Member.active.is_(True), Branch.agency_id.in_(list(agency_child)))
            .group_by(Branch.agency_id, ReportIn.status)
        )
        for agency_id, status, count in db.session.execute(members):
            rate = rates.get(agency_child.get(agency_id))
            if rate is None:
                continue
            rate.members += count
            if status == CONFIRMED:
                rate.confirmed += count
            elif status == PENDING:
                rate.pending += count
    if community_child:
        ids = list(community_child)
        for community_id, kind, status, count in db.session.execute(
            select(ReportIn.community_id, ReportIn.kind, ReportIn.status, func.count(ReportIn.id))
            .where(ReportIn.community_id.in_(ids), ReportIn.status.in_(ACTIVE_REPORT_IN))
            .group_by(ReportIn.community_id, ReportIn.kind, ReportIn.status)
        ):
            fig = figures.get(community_child[community_id])
            if fig is None:
                continue
            if kind == "member":
                fig.confirmed += count if status == CONFIRMED else 0
                fig.pending += count if status == PENDING else 0
            elif status == CONFIRMED:
                fig.branches += count
        for community_id, count in db.session.execute(
            select(Need.community_id, func.count(Need.id))
            .where(Need.community_id.in_(ids), Need.status == NeedStatus.open.value)
            .group_by(Need.community_id)
        ):
            fig = figures.get(community_child[community_id])
            if fig is not None:
                fig.open_needs += count
        for community_id, count in db.session.execute(
            select(Project.community_id, func.count(Project.id))
            .where(Project.community_id.in_(ids), Project.status != ProjectStatus.cancelled.value)
            .group_by(Project.community_id)
        ):
            fig = figures.get(community_child[community_id])
            if fig is not None:
                fig.projects += count
    return [(c, rates[c.id], figures[c.id]) for c in children]


def remind_members(branch: Branch, members: Iterable[Member], *, actor_id: int | None = None) -> int:
    """An in-app reminder to report in, for members of the branch who have not."""
    reminded = 0
    for member in members:
        if member.branch_id != branch.id or not member.active:
            continue
        if active_member_report_in(member) is not None:
            continue
        audit.record(
            REMINDER_ACTION,
            member,
            scope_path=branch.agency.area.path,
            actor_id=actor_id,
            summary=_("Reminded %(name)s to report in", name=member.name),
        )
        reminded += 1
    if not reminded:
        raise ServiceError(_("Choose members who have not reported in yet."))
    return reminded


def latest_reminder(member: Member):
    """The last reminder to report in, when the member still has not (else None)."""
    if active_member_report_in(member) is not None:
        return None
    return last_reminder(member)


def last_reminder(member: Member):
    """The last reminder to report in the member was sent, whether or not they have since."""
    from kmvolunteer.core.audit import AuditEntry

    return db.session.scalar(
        select(AuditEntry)
        .where(
            AuditEntry.action == REMINDER_ACTION, AuditEntry.object_type == "Member", AuditEntry.object_id == member.id
        )
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(1)
    )


def search_communities(q: str, *, limit: int = 20) -> list[Area]:
    q = (q or "").strip()
    if not q:
        return []
    return list(
        db.session.scalars(
            select(Area)
            .where(Area.level == "community", Area.active.is_(True), Area.name.contains(q, autoescape=True))
            .order_by(Area.name)
            .limit(limit)
        )
    )


def children_of(parent_id: int | None, level: str) -> list[Area]:
    stmt = select(Area).where(Area.level == level, Area.active.is_(True))
    if parent_id is not None:
        stmt = stmt.where(Area.parent_id == parent_id)
    return list(db.session.scalars(stmt.order_by(Area.id)))
