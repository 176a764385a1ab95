"""双报告 rules: reports, acknowledgements, feedback sheets, evaluations, the year view, overdue lists.

Never touches ``request``. Each function raises ServiceError with a clear message
and changes nothing when a rule is broken; the caller commits once or rolls back.
State transitions are guarded in SQL (UPDATE … WHERE status = …) so two people
acting at once cannot both win.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from kmvolunteer.auth.models import User
from kmvolunteer.auth.policy import About, can
from kmvolunteer.core import audit
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.time import local_day_start_utc, local_today, to_local, utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Agency, Area, Branch, Member, members_changed
from kmvolunteer.reportin import services as reportin_services
from kmvolunteer.reportin.models import Project, ReportIn
from kmvolunteer.reports.models import (
    RATING_ORDER,
    REPORTS,
    SHEETS,
    Evaluation,
    FeedbackLine,
    FeedbackSheet,
    Rating,
    Report,
    ReportStatus,
    SheetStatus,
)
from kmvolunteer.service.models import ServiceRecord
from kmvolunteer.years import rules as rulebook
from kmvolunteer.years.models import YearRule
from kmvolunteer.years.rules import PERIOD_LABELS, effective_rule, period_bounds
from kmvolunteer.years.standing import MemberYear, member_standing

APPROVED = "approved"
RATING_LABELS = {
    Rating.excellent.value: _l("Excellent"),
    Rating.good.value: _l("Satisfactory"),
    Rating.fair.value: _l("Basically satisfactory"),
    Rating.poor.value: _l("Unsatisfactory"),
}
STATUS_LABELS = REPORTS.labels
BODY_MAX = 5000


def _day_text(day: date | None) -> str:
    return format_date(day, "yyyy-MM-dd") if day else ""


# ---------------------------------------------------------------- who was reported in where


REPORTED_IN = ("confirmed", "ended")


def _moments(start: date, end: date) -> tuple[datetime, datetime]:
    return local_day_start_utc(start), local_day_start_utc(end + timedelta(days=1))


def reported_in_between(start: date, end: date, kind: str = "member"):
    """Member (or branch) report-ins that were confirmed at some moment between ``start`` and ``end`` (local days)."""
    begin, finish = _moments(start, end)
    return and_(
        ReportIn.kind == kind,
        ReportIn.status.in_(REPORTED_IN),
        func.coalesce(ReportIn.decided_at, ReportIn.submitted_at) < finish,
        or_(ReportIn.ended_at.is_(None), ReportIn.ended_at >= begin),
    )


def _was_reported_in_between(ri: ReportIn, start: date, end: date) -> bool:
    """``reported_in_between`` for one report-in already loaded."""
    begin, finish = _moments(start, end)
    return (
        ri.kind == "member"
        and ri.status in REPORTED_IN
        and (ri.decided_at or ri.submitted_at) < finish
        and (ri.ended_at is None or ri.ended_at >= begin)
    )


def community_members(community: Area, start: date, end: date, branch: Branch | None = None) -> list[Member]:
    """Active members reported in to ``community`` at some time in the period (optionally of one branch)."""
    stmt = (
        select(Member)
        .join(ReportIn, ReportIn.member_id == Member.id)
        .where(ReportIn.community_id == community.id, reported_in_between(start, end), Member.active.is_(True))
        .distinct()
        .order_by(Member.name, Member.id)
    )
    if branch is not None:
        stmt = stmt.where(Member.branch_id == branch.id)
    return list(db.session.scalars(stmt))


def is_reported_in(member: Member, community: Area, year: int) -> bool:
    start, end = period_bounds(year, "Y")
    return (
        db.session.scalar(
            select(func.count(ReportIn.id)).where(
                ReportIn.member_id == member.id, ReportIn.community_id == community.id, reported_in_between(start, end)
            )
        )
        > 0
    )


def current_community(member: Member) -> Area | None:
    """The community of the member's confirmed report-in, if any."""
    report_in = db.session.scalar(
        select(ReportIn).where(
            ReportIn.kind == "member", ReportIn.member_id == member.id, ReportIn.status == "confirmed"
        )
    )
    return report_in.community if report_in is not None else None


def approved_figures(
    member_ids: Iterable[int], start: date, end: date, community_id: int | None = None
) -> dict[int, tuple[int, int]]:
    """member id → (approved half-hours, approved entries) with service dates in the period."""
    ids = list(member_ids)
    if not ids:
        return {}
    stmt = (
        select(ServiceRecord.member_id, func.sum(ServiceRecord.half_hours), func.count(ServiceRecord.id))
        .where(
            ServiceRecord.member_id.in_(ids),
            ServiceRecord.status == APPROVED,
            ServiceRecord.service_date >= start,
            ServiceRecord.service_date <= end,
        )
        .group_by(ServiceRecord.member_id)
    )
    if community_id is not None:
        stmt = stmt.where(ServiceRecord.community_id == community_id)
    return {member_id: (int(half or 0), int(count or 0)) for member_id, half, count in db.session.execute(stmt)}


# ---------------------------------------------------------------- member reports


@dataclass
class PeriodInfo:
    year: int
    code: str
    start: date
    end: date
    due: date | None
    required: bool
    report: Report | None
    today: date

    @property
    def label(self) -> str:
        return str(PERIOD_LABELS[self.code])

    @property
    def started(self) -> bool:
        return self.start <= self.today

    @property
    def submitted(self) -> bool:
        return self.report is not None and self.report.status != ReportStatus.draft.value

    @property
    def overdue(self) -> bool:
        return self.required and self.due is not None and self.due < self.today and not self.submitted


def member_rule(member: Member, year: int) -> YearRule | None:
    """A member's rule is the one of the place their agency sits in (its organization department's)."""
    return effective_rule(year, member.branch.agency.area)


def member_periods(member: Member, year: int, today: date | None = None) -> tuple[YearRule | None, list[PeriodInfo]]:
    return member_years(member, (year,), today or local_today())[year]


def member_years(
    member: Member, years: Iterable[int], today: date
) -> dict[int, tuple[YearRule | None, list[PeriodInfo]]]:
    """Each year's rule and report periods for the member, their reports read in one statement."""
    years = tuple(years)
    reports = {
        (r.year, r.period): r
        for r in db.session.scalars(
            select(Report).where(Report.kind == "member", Report.member_id == member.id, Report.year.in_(years))
        )
    }
    found: dict[int, tuple[YearRule | None, list[PeriodInfo]]] = {}
    for year in years:
        rule = member_rule(member, year)
        infos = []
        for code in rulebook.report_periods(rule) if rule is not None else ():
            start, end = period_bounds(year, code)
            infos.append(
                PeriodInfo(
                    year,
                    code,
                    start,
                    end,
                    rulebook.report_due(rule, code),
                    rule.report_required,
                    reports.get((year, code)),
                    today,
                )
            )
        found[year] = (rule, infos)
    return found


def _check_member_period(member: Member, year: int, period: str, today: date) -> Area:
    rule = member_rule(member, year)
    if rule is None:
        raise ServiceError(
            _(
                "No rule has been set for %(year)d yet, so its report periods are not known. "
                "Ask the organization department.",
                year=year,
            )
        )
    periods = rulebook.report_periods(rule)
    if period not in periods:
        raise ServiceError(
            _(
                "The rule for %(year)d asks for reports for: %(periods)s.",
                year=year,
                periods="、".join(str(PERIOD_LABELS[p]) for p in periods),
            )
        )
    start, _end = period_bounds(year, period)
    if start > today:
        raise ServiceError(
            _(
                "%(period)s of %(year)d has not started yet (it starts on %(day)s); you can report once it has.",
                period=PERIOD_LABELS[period],
                year=year,
                day=_day_text(start),
            )
        )
    community = current_community(member)
    if community is None:
        raise ServiceError(
            _(
                "A report goes to your branch and to the community you reported in to. "
                "Report in to your community first and wait for its confirmation."
            )
        )
    return community


def live_summary(member: Member, community: Area, year: int, period: str) -> dict:
    """The member's approved service in the period, and their branch's projects in their community."""
    start, end = period_bounds(year, period)
    records = db.session.scalars(
        select(ServiceRecord)
        .where(
            ServiceRecord.member_id == member.id,
            ServiceRecord.status == APPROVED,
            ServiceRecord.service_date >= start,
            ServiceRecord.service_date <= end,
        )
        .order_by(ServiceRecord.service_date, ServiceRecord.id)
    ).all()
    projects = db.session.scalars(
        select(Project)
        .where(
            Project.branch_id == member.branch_id,
            Project.community_id == community.id,
            Project.created_at < local_day_start_utc(end + timedelta(days=1)),
        )
        .order_by(Project.id)
    ).all()
    return {
        "period": {"year": year, "code": period, "start": start.isoformat(), "end": end.isoformat()},
        "community": community.name,
        "entries": [
            {
                "date": r.service_date.isoformat(),
                "community": r.community.name,
                "content": r.content[:200],
                "half_hours": r.half_hours,
            }
            for r in records
        ],
        "half_hours": sum(r.half_hours for r in records),
        "entry_count": len(records),
        "projects": [{"title": p.title, "status": p.status} for p in projects],
    }


def _report_for(
    kind: str,
    year: int,
    period: str,
    *,
    member: Member | None = None,
    branch: Branch,
    community: Area,
    actor_id: int | None,
) -> Report:
    """The report of that period, created as a draft on first use (two first uses at once: one row)."""
    stmt = select(Report).where(Report.kind == kind, Report.year == year, Report.period == period)
    stmt = (
        stmt.where(Report.member_id == member.id)
        if member is not None
        else stmt.where(Report.branch_id == branch.id, Report.community_id == community.id)
    )
    found = db.session.scalar(stmt)
    if found is not None:
        return found
    report = Report(
        kind=kind,
        member_id=member.id if member else None,
        branch_id=branch.id,
        community_id=community.id,
        year=year,
        period=period,
        created_by_id=actor_id,
    )
    db.session.add(report)
    flush_or_refuse(_("Someone else wrote this report at the same moment; nothing was changed. Reload the page."))
    audit.record(
        "report.created",
        report,
        scope_path=community.path,
        actor_id=actor_id,
        summary=f"{kind} {year} {period}",
        after={"status": report.status},
    )
    return report


def flush_or_refuse(message: str) -> None:
    """Flush a new row; if a unique index says someone else just made it, undo everything and refuse.

    No savepoint: pysqlite would commit the outer work at RELEASE. The transaction is
    rolled back here, which is what the caller does with a ServiceError anyway.
    """
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ServiceError(message) from None


def _already_submitted(report: Report) -> ServiceError:
    db.session.refresh(report)
    when = report.submitted_at
    return ServiceError(
        _(
            "This report was already submitted (%(when)s); nothing was changed.",
            when=format_date(when, "yyyy-MM-dd") if when else "",
        )
    )


def save_member_draft(
    member: Member, year: int, period: str, body: str, *, actor_id: int | None = None, today: date | None = None
) -> Report:
    community = _check_member_period(member, year, period, today or local_today())
    _check_body(body, required=False)
    report = _report_for(
        "member", year, period, member=member, branch=member.branch, community=community, actor_id=actor_id
    )
    return _save_draft(report, body, community, actor_id)


def _check_body(body: str, *, required: bool) -> None:
    if len(body) > BODY_MAX:
        raise ServiceError(_("The report can be at most %(num)d characters.", num=BODY_MAX), "body")
    if required and not body.strip():
        raise ServiceError(_("Write a few lines about the service before submitting."), "body")


def _save_draft(report: Report, body: str, community: Area, actor_id: int | None) -> Report:
    done = db.session.execute(
        update(Report)
        .where(Report.id == report.id, Report.status == ReportStatus.draft.value)
        .values(body=body, community_id=community.id, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise _already_submitted(report)
    db.session.refresh(report)
    audit.record(
        "report.draft_saved",
        report,
        scope_path=community.path,
        actor_id=actor_id,
        summary=f"{report.kind} {report.year} {report.period}",
    )
    return report


def _submit(report: Report, body: str, community: Area, summary: dict, actor_id: int | None) -> Report:
    half_hours, entries = summary.get("half_hours", 0), summary.get("entry_count", 0)
    REPORTS.perform(
        report,
        "submit",
        actor_id=actor_id,
        scope_path=community.path,
        summary=f"{report.kind} {report.year} {report.period}",
        values={
            "body": body,
            "community_id": community.id,
            "summary": json.dumps(summary, ensure_ascii=False, sort_keys=True),
            "summary_half_hours": half_hours,
            "summary_entries": entries,
            "submitted_at": utcnow(),
            "updated_at": utcnow(),
        },
        after={"half_hours": half_hours, "entries": entries},
    )
    db.session.expire(report, ["community"])
    return report


def submit_member_report(
    member: Member, year: int, period: str, body: str, *, actor_id: int | None = None, today: date | None = None
) -> Report:
    """Submit: the summary of approved service is computed now and stored with the report."""
    community = _check_member_period(member, year, period, today or local_today())
    _check_body(body, required=True)
    report = _report_for(
        "member", year, period, member=member, branch=member.branch, community=community, actor_id=actor_id
    )
    if report.status != ReportStatus.draft.value:
        raise _already_submitted(report)
    return _submit(report, body, community, live_summary(member, community, year, period), actor_id)


def acknowledge(report: Report, side: str, comment: str, *, actor_id: int | None = None) -> Report:
    """The branch (member reports only) or the community acknowledges a submitted report, once."""
    if side not in ("branch", "community") or (side == "branch" and report.kind != "member"):
        raise ServiceError(_("This report is not acknowledged by that side."))
    if report.status == ReportStatus.draft.value:
        raise ServiceError(_("This report has not been submitted yet."))
    if len(comment) > 1000:
        raise ServiceError(_("The comment can be at most %(num)d characters.", num=1000), "comment")
    at_col = Report.branch_ack_at if side == "branch" else Report.community_ack_at
    values = (
        {"branch_ack_at": utcnow(), "branch_ack_by_id": actor_id, "branch_comment": comment}
        if side == "branch"
        else {"community_ack_at": utcnow(), "community_ack_by_id": actor_id, "community_comment": comment}
    )
    done = db.session.execute(
        update(Report)
        .where(Report.id == report.id, Report.status != ReportStatus.draft.value, at_col.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        db.session.refresh(report)
        when = report.branch_ack_at if side == "branch" else report.community_ack_at
        raise ServiceError(
            _(
                "This report was already acknowledged (%(when)s); nothing was changed.",
                when=format_date(when, "yyyy-MM-dd") if when else "",
            )
        )
    db.session.refresh(report)
    complete = report.community_ack_at is not None and (report.kind != "member" or report.branch_ack_at is not None)
    told = {"scope_path": report.community.path, "actor_id": actor_id, "summary": comment[:200]}
    if complete:  # this side's acknowledgement completes the report's
        REPORTS.perform(report, f"acknowledge_{side}", after={"side": side, "comment": comment}, **told)
    else:
        audit.record(
            f"report.acknowledged_by_{side}",
            report,
            after={"status": report.status, "side": side, "comment": comment},
            **told,
        )
    return report


# ---------------------------------------------------------------- branch reports


def co_built_communities(branch: Branch) -> list[Area]:
    """Communities the branch co-builds with (its confirmed branch report-ins)."""
    return list(
        db.session.scalars(
            select(Area)
            .join(ReportIn, ReportIn.community_id == Area.id)
            .where(ReportIn.kind == "branch", ReportIn.branch_id == branch.id, ReportIn.status == "confirmed")
            .order_by(Area.name)
        )
    )


def done_between(start: date, end: date):
    """Projects done between ``start`` and ``end`` (local days)."""
    begin, finish = _moments(start, end)
    return and_(Project.status == "done", Project.done_at >= begin, Project.done_at < finish)


def branch_figures(branch: Branch, community: Area, year: int) -> dict:
    start, end = period_bounds(year, "Y")
    members = community_members(community, start, end, branch=branch)
    figures = approved_figures([m.id for m in members], start, end, community_id=community.id)
    done = db.session.scalars(
        select(Project)
        .where(Project.branch_id == branch.id, Project.community_id == community.id, done_between(start, end))
        .order_by(Project.done_at)
    ).all()
    open_count = (
        db.session.scalar(
            select(func.count(Project.id)).where(
                Project.branch_id == branch.id, Project.community_id == community.id, Project.status != "done"
            )
        )
        or 0
    )
    return {
        "period": {"year": year, "code": "Y", "start": start.isoformat(), "end": end.isoformat()},
        "community": community.name,
        "members_reported_in": len(members),
        "half_hours": sum(h for h, _n in figures.values()),
        "entry_count": sum(n for _h, n in figures.values()),
        "projects": [{"title": p.title, "status": p.status, "outcome": p.outcome[:200]} for p in done],
        "projects_open": open_count,
    }


def _check_branch_report(branch: Branch, community: Area, year: int, today: date) -> None:
    if year > today.year:
        raise ServiceError(_("%(year)d has not started yet; a branch reports on a year once it has begun.", year=year))
    if community.id not in {c.id for c in co_built_communities(branch)}:
        raise ServiceError(
            _(
                "This branch does not co-build with %(community)s (no confirmed branch report-in), "
                "so it cannot report to it.",
                community=community.name,
            )
        )


def save_branch_draft(
    branch: Branch, community: Area, year: int, body: str, *, actor_id: int | None = None, today: date | None = None
) -> Report:
    _check_branch_report(branch, community, year, today or local_today())
    _check_body(body, required=False)
    report = _report_for("branch", year, "Y", branch=branch, community=community, actor_id=actor_id)
    return _save_draft(report, body, community, actor_id)


def submit_branch_report(
    branch: Branch, community: Area, year: int, body: str, *, actor_id: int | None = None, today: date | None = None
) -> Report:
    _check_branch_report(branch, community, year, today or local_today())
    _check_body(body, required=True)
    report = _report_for("branch", year, "Y", branch=branch, community=community, actor_id=actor_id)
    if report.status != ReportStatus.draft.value:
        raise _already_submitted(report)
    return _submit(report, body, community, branch_figures(branch, community, year), actor_id)


def branch_report_rows(branch: Branch, year: int) -> list[tuple[Area, Report | None]]:
    communities = co_built_communities(branch)
    reports = {
        r.community_id: r
        for r in db.session.scalars(
            select(Report).where(Report.kind == "branch", Report.branch_id == branch.id, Report.year == year)
        )
    }
    return [(c, reports.get(c.id)) for c in communities]


# ---------------------------------------------------------------- evaluations


@dataclass
class EvalRow:
    member: Member
    half_hours: int
    entries: int
    evaluation: Evaluation | None

    @property
    def no_service(self) -> bool:
        return self.entries == 0


def evaluation_rows(community: Area, year: int) -> list[EvalRow]:
    """Every member reported in to the community during the year, with their approved service here."""
    start, end = period_bounds(year, "Y")
    members = community_members(community, start, end)
    figures = approved_figures([m.id for m in members], start, end, community_id=community.id)
    evaluations = {
        e.member_id: e
        for e in db.session.scalars(
            select(Evaluation).where(Evaluation.community_id == community.id, Evaluation.year == year)
        )
    }
    return [EvalRow(m, *figures.get(m.id, (0, 0)), evaluations.get(m.id)) for m in members]


def evaluation_row(community: Area, member: Member, year: int) -> EvalRow:
    start, end = period_bounds(year, "Y")
    half, count = approved_figures([member.id], start, end, community_id=community.id).get(member.id, (0, 0))
    evaluation = db.session.scalar(
        select(Evaluation).where(
            Evaluation.community_id == community.id, Evaluation.member_id == member.id, Evaluation.year == year
        )
    )
    return EvalRow(member, half, count, evaluation)


def _eval_data(e: Evaluation) -> dict:
    return {"rating": e.rating, "comment": e.comment, "reason": e.reason, "published": e.published}


def _may_rate(community: Area, member: Member, actor_id: int | None) -> bool:
    """The policy's word on rating ``member`` (nobody rates themselves); no actor is the system (demo data)."""
    actor = db.session.get(User, actor_id) if actor_id is not None else None
    return actor is None or can(actor, "evaluation.rate", About(community, member=member))


def set_rating(
    community: Area,
    member: Member,
    year: int,
    rating: str,
    comment: str = "",
    reason: str = "",
    *,
    actor_id: int | None = None,
    today: date | None = None,
) -> tuple[Evaluation, bool]:
    """Rate one member; returns (evaluation, changed). ``reason`` is the justification for rating a member
    with no approved service above 基本合格, or — once published — the reason for the change."""
    today = today or local_today()
    rating, comment, reason = (rating or "").strip(), (comment or "").strip(), (reason or "").strip()
    if rating not in RATING_ORDER:
        raise ServiceError(_("Choose a rating."), "rating")
    if not _may_rate(community, member, actor_id):
        raise ServiceError(_("You cannot rate yourself; another secretary must."), "rating")
    if len(comment) > 500 or len(reason) > 500:
        raise ServiceError(_("Comments and reasons can be at most %(num)d characters.", num=500), "comment")
    if year > today.year:
        raise ServiceError(_("%(year)d has not started yet.", year=year))
    if not is_reported_in(member, community, year):
        raise ServiceError(
            _(
                "%(name)s was not reported in to %(community)s in %(year)d; only members reported in can be rated.",
                name=member.name,
                community=community.name,
                year=year,
            )
        )
    row = evaluation_row(community, member, year)
    existing = row.evaluation
    above_fair = RATING_ORDER[rating] > RATING_ORDER[Rating.fair.value]
    if existing is not None and existing.published:
        if existing.rating == rating and existing.comment == comment:
            return existing, False
        if not reason:
            raise ServiceError(
                _("This rating of %(name)s is published; give a reason for changing it.", name=member.name), "reason"
            )
    service_reason = reason or (existing.reason if existing is not None else "")
    if row.no_service and above_fair and not service_reason:
        raise ServiceError(
            _(
                "%(name)s has no approved service in %(year)d: rating above “Basically satisfactory” "
                "needs a written reason.",
                name=member.name,
                year=year,
            ),
            "reason",
        )
    if existing is None:
        evaluation = Evaluation(
            community_id=community.id,
            member_id=member.id,
            year=year,
            rating=rating,
            comment=comment,
            reason=reason,
            rated_by_id=actor_id,
            rated_at=utcnow(),
        )
        db.session.add(evaluation)
        flush_or_refuse(_("Someone rated %(name)s at the same moment; reload the page to see it.", name=member.name))
        audit.record(
            "evaluation.rated",
            evaluation,
            scope_path=community.path,
            actor_id=actor_id,
            summary=f"{member.name} {year}",
            after=_eval_data(evaluation),
        )
        return evaluation, True
    if existing.rating == rating and existing.comment == comment and (not reason or reason == existing.reason):
        return existing, False
    before = _eval_data(existing)
    values = {"rating": rating, "comment": comment, "rated_by_id": actor_id, "rated_at": utcnow()}
    if existing.published:
        values["change_reason"] = reason
        if row.no_service and above_fair and not existing.reason:
            values["reason"] = reason
    elif reason:
        values["reason"] = reason
    done = db.session.execute(
        update(Evaluation)
        .where(
            Evaluation.id == existing.id,
            Evaluation.rating == existing.rating,
            Evaluation.comment == existing.comment,
            Evaluation.published == existing.published,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise ServiceError(
            _("Someone changed the rating of %(name)s at the same moment; reload the page to see it.", name=member.name)
        )
    db.session.refresh(existing)
    if existing.published:
        members_changed.send(None, member_ids=[member.id])
    audit.record(
        "evaluation.changed_after_publishing" if existing.published else "evaluation.rated",
        existing,
        scope_path=community.path,
        actor_id=actor_id,
        summary=f"{member.name} {year} {reason}"[:255],
        before=before,
        after=dict(_eval_data(existing), change_reason=existing.change_reason),
    )
    return existing, True


def rate_unrated(
    community: Area,
    year: int,
    rating: str = Rating.good.value,
    *,
    actor_id: int | None = None,
    today: date | None = None,
) -> tuple[list[Member], list[Member]]:
    """Give every unrated member ``rating``; members it would need a reason for are skipped and returned."""
    rated, skipped = [], []
    above_fair = RATING_ORDER.get(rating, 0) > RATING_ORDER[Rating.fair.value]
    for row in evaluation_rows(community, year):
        if row.evaluation is not None or not _may_rate(community, row.member, actor_id):
            continue  # the actor's own row is left for another secretary (the page says so)
        if row.no_service and above_fair:
            skipped.append(row.member)
            continue
        try:
            set_rating(community, row.member, year, rating, actor_id=actor_id, today=today)
        except ServiceError:
            skipped.append(row.member)
        else:
            rated.append(row.member)
    return rated, skipped


def publish_evaluations(community: Area, year: int, *, actor_id: int | None = None) -> int:
    """Make the community's ratings of the year visible to the members' branches."""
    done = db.session.execute(
        update(Evaluation)
        .where(Evaluation.community_id == community.id, Evaluation.year == year, Evaluation.published.is_(False))
        .values(published=True, published_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if done.rowcount == 0:
        raise ServiceError(
            _("There is nothing new to publish: every rating of %(year)d is already published.", year=year)
        )
    members_changed.send(
        None,
        member_ids=db.session.scalars(
            select(Evaluation.member_id).where(Evaluation.community_id == community.id, Evaluation.year == year)
        ).all(),
    )
    db.session.expire_all()
    audit.record(
        "evaluation.published",
        community,
        scope_path=community.path,
        actor_id=actor_id,
        summary=f"{year}: {done.rowcount}",
        after={"year": year, "published": done.rowcount},
    )
    return done.rowcount


# ---------------------------------------------------------------- feedback sheets


def community_rule(community: Area, year: int) -> YearRule | None:
    return effective_rule(year, community)


def feedback_branches(community: Area, year: int) -> list[Branch]:
    """Branches with members reported in here during the year, and branches co-building here."""
    start, end = period_bounds(year, "Y")
    member_branches = (
        select(Member.branch_id)
        .join(ReportIn, ReportIn.member_id == Member.id)
        .where(ReportIn.community_id == community.id, reported_in_between(start, end))
    )
    co_building = select(ReportIn.branch_id).where(
        ReportIn.kind == "branch", ReportIn.community_id == community.id, ReportIn.status == "confirmed"
    )
    return list(
        db.session.scalars(
            select(Branch)
            .join(Agency, Branch.agency_id == Agency.id)
            .where(or_(Branch.id.in_(member_branches), Branch.id.in_(co_building)))
            .order_by(Agency.name, Branch.name)
        )
    )


def feedback_grid(
    community: Area, year: int
) -> tuple[YearRule | None, tuple[str, ...], list[Branch], dict[tuple[int, str], FeedbackSheet]]:
    rule = community_rule(community, year)
    periods = rulebook.feedback_periods(rule) if rule is not None else ()
    sheets = {
        (s.branch_id, s.period): s
        for s in db.session.scalars(
            select(FeedbackSheet).where(FeedbackSheet.community_id == community.id, FeedbackSheet.year == year)
        )
    }
    return rule, periods, feedback_branches(community, year), sheets


def _fill_lines(sheet: FeedbackSheet) -> None:
    start, end = period_bounds(sheet.year, sheet.period)
    members = community_members(sheet.community, start, end, branch=sheet.branch)
    figures = approved_figures([m.id for m in members], start, end, community_id=sheet.community_id)
    lines = {line.member_id: line for line in sheet.lines}
    for member in members:
        line = lines.get(member.id)
        if line is None:
            line = FeedbackLine(member_id=member.id)
            sheet.lines.append(line)
        line.approved_half_hours, line.approved_entries = figures.get(member.id, (0, 0))
    sheet.figures_at = utcnow()


def generate_sheet(
    community: Area, branch: Branch, year: int, period: str, *, actor_id: int | None = None, today: date | None = None
) -> FeedbackSheet:
    today = today or local_today()
    rule = community_rule(community, year)
    if rule is None:
        raise ServiceError(
            _("No rule has been set for %(year)d yet, so the feedback periods are not known.", year=year)
        )
    if period not in rulebook.feedback_periods(rule):
        raise ServiceError(
            _(
                "The rule for %(year)d asks for feedback %(freq)s.",
                year=year,
                freq=rulebook.FREQUENCY_LABELS[rule.feedback_frequency],
            )
        )
    start, end = period_bounds(year, period)
    if start > today:
        raise ServiceError(_("%(period)s of %(year)d has not started yet.", period=PERIOD_LABELS[period], year=year))
    if branch.id not in {b.id for b in feedback_branches(community, year)}:
        raise ServiceError(
            _(
                "No member of %(branch)s was reported in to %(community)s in %(year)d.",
                branch=branch.full_name(),
                community=community.name,
                year=year,
            )
        )
    sheet = FeedbackSheet(community=community, branch=branch, year=year, period=period, created_by_id=actor_id)
    _fill_lines(sheet)
    if not sheet.lines:
        raise ServiceError(
            _(
                "No member of %(branch)s was reported in here during %(period)s.",
                branch=branch.full_name(),
                period=PERIOD_LABELS[period],
            )
        )
    db.session.add(sheet)
    flush_or_refuse(_("A feedback sheet for this branch and period already exists."))
    audit.record(
        "feedback.generated",
        sheet,
        scope_path=community.path,
        actor_id=actor_id,
        summary=f"{branch.full_name()} {year} {period}",
        after={"lines": len(sheet.lines)},
    )
    return sheet


def _lock_draft(sheet: FeedbackSheet) -> None:
    """Claim the draft for this change: refused once someone has sent it."""
    done = db.session.execute(
        update(FeedbackSheet)
        .where(FeedbackSheet.id == sheet.id, FeedbackSheet.status == SheetStatus.draft.value)
        .values(note=FeedbackSheet.note)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise ServiceError(_("This feedback sheet has already been sent; it can no longer be changed."))


def save_sheet(sheet: FeedbackSheet, note: str, remarks: dict[int, str], *, actor_id: int | None = None) -> None:
    if len(note) > 2000 or any(len(r) > 255 for r in remarks.values()):
        raise ServiceError(_("A remark can be at most 255 characters, the note at most 2000."))
    _lock_draft(sheet)
    before = {"note": sheet.note, "remarks": {line.member_id: line.remark for line in sheet.lines}}
    sheet.note = note.strip()
    for line in sheet.lines:
        if line.id in remarks:
            line.remark = remarks[line.id].strip()
    db.session.flush()
    audit.record(
        "feedback.edited",
        sheet,
        scope_path=sheet.community.path,
        actor_id=actor_id,
        summary=f"{sheet.branch.full_name()} {sheet.year} {sheet.period}",
        before=before,
        after={"note": sheet.note, "remarks": {line.member_id: line.remark for line in sheet.lines}},
    )


def refresh_sheet(sheet: FeedbackSheet, *, actor_id: int | None = None) -> None:
    _lock_draft(sheet)
    _fill_lines(sheet)
    db.session.flush()
    audit.record(
        "feedback.refreshed",
        sheet,
        scope_path=sheet.community.path,
        actor_id=actor_id,
        summary=f"{sheet.branch.full_name()} {sheet.year} {sheet.period}",
    )


def send_sheet(sheet: FeedbackSheet, *, actor_id: int | None = None) -> None:
    """Count the figures once more, then send: the branch sees the sheet from now on."""
    _lock_draft(sheet)
    _fill_lines(sheet)
    db.session.flush()
    SHEETS.perform(
        sheet,
        "send",
        actor_id=actor_id,
        scope_path=sheet.community.path,
        summary=f"{sheet.branch.full_name()} {sheet.year} {sheet.period}",
        values={"sent_at": utcnow(), "sent_by_id": actor_id},
        after={"lines": len(sheet.lines)},
    )


# ---------------------------------------------------------------- the branch secretary's year view


def year_headers() -> list[str]:
    return [
        _("Name"),
        _("Reported in to"),
        _("Approved hours"),
        _("Activities"),
        _("Report"),
        _("Community rating"),
        _("Community comment"),
        _("Meets the rule"),
        _("Why not"),
        _("Democratic review"),
        _("Honours this year"),
    ]


@dataclass
class YearView:
    branch: Branch
    year: int
    rule: YearRule | None
    rows: list[tuple] = field(default_factory=list)


def _report_status_text(periods: list[PeriodInfo], extra: list[Report]) -> str:
    parts = []
    for info in periods:
        status = STATUS_LABELS[info.report.status] if info.report else _("Not written")
        if info.overdue:
            status = _("%(status)s, overdue", status=status)
        parts.append(f"{info.label}: {status}" if len(periods) > 1 else str(status))
    for report in extra:
        parts.append(f"{PERIOD_LABELS[report.period]}: {STATUS_LABELS[report.status]}")
    return "；".join(parts) if parts else "—"


def year_rows(
    branch: Branch, year: int, today: date | None = None, only: Member | list[Member] | None = None
) -> Iterator[tuple]:
    """One row per member of the branch (or ``only`` that one, or those, in that order) — the same rows feed
    the page, the print view, the XLSX, what a member sees of their own year and the feedback letters."""
    today = today or local_today()
    rule = effective_rule(year, branch.agency.area)
    members = (
        (list(only) if isinstance(only, list) else [only])
        if only is not None
        else list(
            db.session.scalars(
                select(Member)
                .where(Member.branch_id == branch.id, Member.active.is_(True))
                .order_by(Member.name, Member.id)
            )
        )
    )
    ids = [m.id for m in members]
    start, end = period_bounds(year, "Y")
    figures = approved_figures(ids, start, end)
    where: dict[int, list[str]] = defaultdict(list)
    first_report_in: dict[int, date] = {}  # the day the member sent the report-in in force during the year
    if ids:
        for member_id, name, sent in db.session.execute(
            select(ReportIn.member_id, Area.name, ReportIn.submitted_at)
            .join(Area, ReportIn.community_id == Area.id)
            .where(ReportIn.member_id.in_(ids), reported_in_between(start, end))
            .order_by(ReportIn.submitted_at)
        ):
            first_report_in.setdefault(member_id, to_local(sent).date())
            if name not in where[member_id]:
                where[member_id].append(name)
    waiting = (
        dict(
            db.session.execute(
                select(ReportIn.member_id, Area.name)
                .join(Area, ReportIn.community_id == Area.id)
                .where(ReportIn.member_id.in_(ids), ReportIn.kind == "member", ReportIn.status == "pending")
            )
            .tuples()
            .all()
        )
        if ids
        else {}
    )
    reports: dict[int, dict[str, Report]] = defaultdict(dict)
    evaluations: dict[int, list[Evaluation]] = defaultdict(list)
    if ids:
        for report in db.session.scalars(
            select(Report).where(Report.kind == "member", Report.member_id.in_(ids), Report.year == year)
        ):
            reports[report.member_id][report.period] = report
        # Only published ratings ever reach the branch.
        for evaluation in db.session.scalars(
            select(Evaluation)
            .where(Evaluation.member_id.in_(ids), Evaluation.year == year, Evaluation.published.is_(True))
            .order_by(Evaluation.id)
        ):
            evaluations[evaluation.member_id].append(evaluation)
    codes = rulebook.report_periods(rule) if rule is not None else ()
    for member in members:
        half, count = figures.get(member.id, (0, 0))
        mine = reports.get(member.id, {})
        periods = []
        for code in codes:
            p_start, p_end = period_bounds(year, code)
            periods.append(
                PeriodInfo(
                    year,
                    code,
                    p_start,
                    p_end,
                    rulebook.report_due(rule, code),
                    rule.report_required,
                    mine.get(code),
                    today,
                )
            )
        extra = [r for code, r in sorted(mine.items()) if code not in codes]
        evals = evaluations.get(member.id, [])
        rating = "；".join(str(RATING_LABELS[e.rating]) for e in evals)
        comment = "；".join(e.comment for e in evals if e.comment)
        standing = member_standing(
            rule,
            MemberYear(
                reported_in=bool(where.get(member.id)),
                reported_in_on=first_report_in.get(member.id),
                joined_on=to_local(member.created_at).date(),
                half_hours=half,
                entries=count,
                reports_submitted=sum(1 for p in periods if p.submitted) + len(extra),
                # As the tallies count it: every report of the year once the year's report is due.
                reports_required=len(periods) if rule and rule.report_required and not _not_yet_due(rule, today) else 0,
                rating=Rating.poor.value if any(e.rating == Rating.poor.value for e in evals) else None,
            ),
        )
        if standing is None:
            meets, why, review, honours = "—", _("No rule for %(year)d", year=year), "—", "—"
        else:
            meets, why = (_("No"), standing.why()) if standing.short else (_("Yes"), "")
            review = _("Marked") if standing.marked_in_review else "—"
            honours = _("Eligible") if standing.eligible_for_honours else _("Not eligible")
        hours = half // 2 if half % 2 == 0 else half / 2  # a number, so spreadsheets can add it up
        place = "、".join(where.get(member.id, [])) or (
            _("%(community)s (waiting for confirmation)", community=waiting[member.id])
            if member.id in waiting
            else _("Not reported in")
        )
        yield (
            member.name,
            place,
            hours,
            count,
            _report_status_text(periods, extra),
            rating or "—",
            comment,
            meets,
            why,
            review,
            honours,
        )


def _not_yet_due(rule: YearRule, today: date) -> bool:
    return rule.report_due is not None and rule.report_due >= today


def year_view(branch: Branch, year: int, today: date | None = None) -> YearView:
    return YearView(branch, year, effective_rule(year, branch.agency.area), list(year_rows(branch, year, today)))


# ---------------------------------------------------------------- overdue lists


def member_overdue(member: Member, today: date | None = None) -> list[PeriodInfo]:
    """Required reports past their due date that the member has not submitted (this year and last)."""
    today = today or local_today()
    return overdue_of(member, member_years(member, (today.year - 1, today.year), today))


def overdue_of(member: Member, years: dict[int, tuple[YearRule | None, list[PeriodInfo]]]) -> list[PeriodInfo]:
    """Of ``member_years``, the overdue periods of the years the member was reported in."""
    history = reportin_services.member_history(member)
    owed = []
    for year, (_rule, periods) in years.items():
        start, end = period_bounds(year, "Y")
        if any(_was_reported_in_between(ri, start, end) for ri in history):
            owed.extend(p for p in periods if p.overdue)
    return owed


@dataclass
class CommunityOverdue:
    community: Area
    year: int
    members: int = 0
    reports_overdue: int = 0
    unrated: int = 0
    unpublished: int = 0
    report_dues: set[date] = field(default_factory=set)  # under the rules of the members counted
    evaluation_due: date | None = None
    evaluations_overdue: bool = False

    @property
    def evaluations_missing(self) -> int:
        return self.unrated + self.unpublished


def area_overdue(area: Area, year: int, today: date | None = None) -> list[CommunityOverdue]:
    """For each community under ``area``: members reported in, reports overdue, evaluations owed."""
    today = today or local_today()
    book = rulebook.RuleBook(year)
    start, end = period_bounds(year, "Y")
    communities = list(
        db.session.scalars(
            select(Area)
            .where(Area.level == "community", Area.path.startswith(area.path, autoescape=True))
            .order_by(Area.path)
        )
    )
    by_id = {c.id: CommunityOverdue(c, year) for c in communities}
    agency_area, community_area = aliased(Area), aliased(Area)
    pairs = db.session.execute(
        select(ReportIn.community_id, ReportIn.member_id, agency_area.path)
        .join(community_area, ReportIn.community_id == community_area.id)
        .join(Member, ReportIn.member_id == Member.id)
        .join(Branch, Member.branch_id == Branch.id)
        .join(Agency, Branch.agency_id == Agency.id)
        .join(agency_area, Agency.area_id == agency_area.id)
        .where(
            community_area.level == "community",
            community_area.path.startswith(area.path, autoescape=True),
            reported_in_between(start, end),
            Member.active.is_(True),
        )
        .distinct()
    ).all()
    submitted = set(
        db.session.execute(
            select(Report.member_id, Report.period).where(
                Report.kind == "member",
                Report.year == year,
                Report.community_id.in_(list(by_id)),
                Report.status != ReportStatus.draft.value,
            )
        ).all()
    )
    evaluations = {
        (cid, mid): published
        for cid, mid, published in db.session.execute(
            select(Evaluation.community_id, Evaluation.member_id, Evaluation.published).where(
                Evaluation.year == year, Evaluation.community_id.in_(list(by_id))
            )
        )
    }
    for community_id, member_id, agency_path in pairs:
        row = by_id[community_id]
        row.members += 1
        rule = book.for_path(agency_path)
        if rule is not None and rule.report_required:
            dues = [(code, rulebook.report_due(rule, code)) for code in rulebook.report_periods(rule)]
            row.report_dues.update(due for _, due in dues if due is not None)
            if any(due is not None and due < today and (member_id, code) not in submitted for code, due in dues):
                row.reports_overdue += 1
        published = evaluations.get((community_id, member_id))
        if published is None:
            row.unrated += 1
        elif not published:
            row.unpublished += 1
    for row in by_id.values():
        rule = book.for_path(row.community.path)
        row.evaluation_due = rule.evaluation_due if rule is not None else None
        row.evaluations_overdue = bool(row.evaluation_due and row.evaluation_due < today and row.evaluations_missing)
    return list(by_id.values())


def community_owes(community: Area, today: date | None = None) -> list[CommunityOverdue]:
    """Years (last and this) in which the community's evaluations are past due and not all published."""
    today = today or local_today()
    owed = []
    for year in (today.year - 1, today.year):
        rows = area_overdue(community, year, today)
        owed.extend(r for r in rows if r.evaluations_overdue)
    return owed


def awaiting_ack_count(*, branch_ids: Iterable[int] = (), community_ids: Iterable[int] = ()) -> int:
    branch_ids, community_ids = list(branch_ids), list(community_ids)
    conditions = []
    if branch_ids:
        conditions.append(
            and_(Report.kind == "member", Report.branch_id.in_(branch_ids), Report.branch_ack_at.is_(None))
        )
    if community_ids:
        conditions.append(and_(Report.community_id.in_(community_ids), Report.community_ack_at.is_(None)))
    if not conditions:
        return 0
    return (
        db.session.scalar(
            select(func.count(Report.id)).where(Report.status == ReportStatus.submitted.value, or_(*conditions))
        )
        or 0
    )
