"""反馈函 rules: which agencies are due a letter, what a letter says, issuing, correcting, acknowledging.

Never touches ``request``. Each function raises ServiceError with a clear message and changes nothing when a
rule is broken; the caller commits once or rolls back.

Which periods: the community's year rule sets how often it gives feedback (``feedback_frequency``). A rule
asking for feedback every half year or every quarter gets a mid-year letter (first half, H1) and a year
letter (the whole year, Y); a rule asking once a year, the year letter only. A letter is issued once its
period has ended. The member's standing is the branch year view's (``reports.services.year_rows``), as the
letter's issue day sees it: nothing here decides whether someone falls short.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kmvolunteer.auth.models import User
from kmvolunteer.auth.policy import About, about_self, can
from kmvolunteer.core import audit
from kmvolunteer.core.db import unique_serial
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.time import local_today, utcnow
from kmvolunteer.extensions import db
from kmvolunteer.letters.models import LETTERS, FeedbackLetter, LetterStatus
from kmvolunteer.org.models import Agency, Area, Branch, Member
from kmvolunteer.reportin.models import Project, ReportIn
from kmvolunteer.reports.models import Evaluation, Report, ReportStatus, UnitRating
from kmvolunteer.reports.services import (
    approved_figures,
    community_members,
    done_between,
    flush_or_refuse,
    reported_in_between,
    year_rows,
)
from kmvolunteer.years.rules import PERIOD_LABELS, effective_rule, period_bounds

LETTER_PERIODS = {"year": ("Y",), "half": ("H1", "Y"), "quarter": ("H1", "Y")}
# The year view's columns a letter keeps for each member: whether they meet the rule, why not, the 民主评议
# mark and 评先评优 eligibility.
STANDING_COLUMNS = slice(7, 11)


def letter_periods(community: Area, year: int) -> tuple[str, ...]:
    """The periods the community writes letters for in ``year`` (none when no rule is set for the year)."""
    rule = effective_rule(year, community)
    return LETTER_PERIODS.get(rule.feedback_frequency, ("Y",)) if rule is not None else ()


def period_ended(year: int, period: str, today: date) -> bool:
    return period_bounds(year, period)[1] < today


# ---------------------------------------------------------------- who is due a letter


def _branch_report_ins(community: Area, start: date, end: date, agency: Agency | None = None) -> list[ReportIn]:
    """Branch report-ins (co-building agreements) with the community in force during the period, the latest
    per branch."""
    stmt = (
        select(ReportIn)
        .join(Branch, ReportIn.branch_id == Branch.id)
        .where(ReportIn.community_id == community.id, reported_in_between(start, end, kind="branch"))
        .order_by(ReportIn.id)
    )
    if agency is not None:
        stmt = stmt.where(Branch.agency_id == agency.id)
    return list({ri.branch_id: ri for ri in db.session.scalars(stmt)}.values())


@dataclass
class DueRow:
    """An agency whose members or branches were reported in to the community during the period."""

    agency: Agency
    members: int = 0
    branches: set[int] = field(default_factory=set)
    letter: FeedbackLetter | None = None  # the letter in force, if issued


def due_agencies(community: Area, year: int, period: str) -> list[DueRow]:
    """Every agency due a letter from ``community`` for the period, with the letter in force if any."""
    start, end = period_bounds(year, period)
    rows: dict[int, DueRow] = {}
    members = community_members(community, start, end)
    branch_ids = sorted({m.branch_id for m in members})
    branches = {b.id: b for b in db.session.scalars(select(Branch).where(Branch.id.in_(branch_ids)))}
    for member in members:
        branch = branches[member.branch_id]
        row = rows.setdefault(branch.agency_id, DueRow(branch.agency))
        row.members += 1
        row.branches.add(branch.id)
    for report_in in _branch_report_ins(community, start, end):
        rows.setdefault(report_in.branch.agency_id, DueRow(report_in.branch.agency)).branches.add(report_in.branch_id)
    for letter in db.session.scalars(
        select(FeedbackLetter).where(
            FeedbackLetter.community_id == community.id,
            FeedbackLetter.year == year,
            FeedbackLetter.period == period,
            FeedbackLetter.status != LetterStatus.superseded.value,
        )
    ):
        if letter.agency_id in rows:
            rows[letter.agency_id].letter = letter
    return sorted(rows.values(), key=lambda row: row.agency.name)


def letters_of(community: Area, year: int) -> list[FeedbackLetter]:
    """Every letter the community issued for ``year``, superseded ones too, newest first."""
    return list(
        db.session.scalars(
            select(FeedbackLetter)
            .where(FeedbackLetter.community_id == community.id, FeedbackLetter.year == year)
            .options(selectinload(FeedbackLetter.agency), selectinload(FeedbackLetter.superseded_by))
            .order_by(FeedbackLetter.issued_at.desc(), FeedbackLetter.id.desc())
        )
    )


def letters_to(agency: Agency) -> list[FeedbackLetter]:
    """Every letter the agency received, superseded ones too, newest first."""
    return list(
        db.session.scalars(
            select(FeedbackLetter)
            .where(FeedbackLetter.agency_id == agency.id)
            .options(selectinload(FeedbackLetter.community), selectinload(FeedbackLetter.superseded_by))
            .order_by(FeedbackLetter.issued_at.desc(), FeedbackLetter.id.desc())
        )
    )


def find_letter(serial: str) -> FeedbackLetter | None:
    serial = (serial or "").strip().upper()
    if not serial or len(serial) > 32:
        return None
    return db.session.scalar(select(FeedbackLetter).where(FeedbackLetter.serial == serial))


# ---------------------------------------------------------------- what a letter says


def _member_rows(community: Area, members: list[Member], year: int, period: str, today: date) -> list[dict]:
    """Each member reported in: approved service here in the period, reports, the published rating and
    comment, and — in the year's letter — where they stand for the year (the year view's words)."""
    if not members:
        return []
    start, end = period_bounds(year, period)
    ids = [m.id for m in members]
    figures = approved_figures(ids, start, end, community_id=community.id)
    codes = ("H1", "H2", "Y") if period == "Y" else ("H1",)
    reports: dict[int, list[dict]] = defaultdict(list)
    for report in db.session.scalars(
        select(Report)
        .where(
            Report.kind == "member",
            Report.member_id.in_(ids),
            Report.year == year,
            Report.period.in_(codes),
            Report.status != ReportStatus.draft.value,
        )
        .order_by(Report.period)
    ):
        reports[report.member_id].append({"period": report.period, "status": report.status})
    evaluations = {
        e.member_id: e
        for e in db.session.scalars(
            select(Evaluation).where(
                Evaluation.community_id == community.id,
                Evaluation.member_id.in_(ids),
                Evaluation.year == year,
                Evaluation.published.is_(True),
            )
        )
    }
    by_branch: dict[int, list[Member]] = defaultdict(list)
    for member in members:
        by_branch[member.branch_id].append(member)
    # Where a member stands is the year's result: a half-year letter does not judge it (the year's letter does).
    standing: dict[int, tuple] = defaultdict(lambda: ("—", "", "—", "—"))
    for branch_members in by_branch.values() if period == "Y" else ():
        rows = year_rows(branch_members[0].branch, year, today, only=branch_members)
        standing.update((m.id, row[STANDING_COLUMNS]) for m, row in zip(branch_members, rows, strict=True))
    lines = []
    for member in members:
        half_hours, entries = figures.get(member.id, (0, 0))
        evaluation = evaluations.get(member.id)
        meets, why, review, honours = (str(value) for value in standing[member.id])
        lines.append(
            {
                "name": member.name,
                "branch": member.branch.name,
                "half_hours": half_hours,
                "entries": entries,
                "reports": reports.get(member.id, []),
                "rating": evaluation.rating if evaluation else None,
                "comment": evaluation.comment if evaluation else "",
                "meets": meets,
                "why": why,
                "review": review,
                "honours": honours,
            }
        )
    return lines


def _branch_rows(community: Area, agency: Agency, year: int, period: str, members: list[Member]) -> list[dict]:
    """Each branch of the agency with members or a co-building agreement here: its co-building record."""
    start, end = period_bounds(year, period)
    agreements = {ri.branch_id: ri for ri in _branch_report_ins(community, start, end, agency)}
    counts: dict[int, int] = defaultdict(int)
    for member in members:
        counts[member.branch_id] += 1
    branches = [b for b in agency.branches if b.id in agreements or b.id in counts]
    if not branches:
        return []
    ids = [b.id for b in branches]
    projects: dict[int, list[dict]] = defaultdict(list)
    for project in db.session.scalars(
        select(Project)
        .where(Project.community_id == community.id, Project.branch_id.in_(ids), done_between(start, end))
        .order_by(Project.done_at, Project.id)
    ):
        projects[project.branch_id].append({"title": project.title, "outcome": project.outcome[:200]})
    ratings = {
        r.branch_id: r
        for r in db.session.scalars(
            select(UnitRating).where(
                UnitRating.community_id == community.id, UnitRating.year == year, UnitRating.branch_id.in_(ids)
            )
        )
    }
    rows = []
    for branch in branches:
        agreement = agreements.get(branch.id)
        rating = ratings.get(branch.id)
        rows.append(
            {
                "name": branch.name,
                "members": counts[branch.id],
                "agreement": (
                    {
                        "serial": agreement.serial or "",
                        "term_start": agreement.term_start.isoformat() if agreement.term_start else "",
                        "term_end": agreement.term_end.isoformat() if agreement.term_end else "",
                        "branch_commitments": agreement.branch_commitments[:300],
                        "community_commitments": agreement.community_commitments[:300],
                    }
                    if agreement is not None
                    else None
                ),
                "projects": projects.get(branch.id, []),
                "rating": rating.rating if rating else None,
                "rating_comment": rating.comment if rating else "",
            }
        )
    return rows


def letter_content(community: Area, agency: Agency, year: int, period: str, today: date | None = None) -> dict:
    """The letter as it would be issued today: the preview shows it, issuing freezes it."""
    today = today or local_today()
    start, end = period_bounds(year, period)
    members = sorted(
        (m for m in community_members(community, start, end) if m.branch.agency_id == agency.id),
        key=lambda m: (m.branch_id, m.name, m.id),
    )
    return {
        "community": community.name,
        "community_full": community.full_name(),
        "agency": agency.name,
        "period": {"year": year, "code": period, "start": start.isoformat(), "end": end.isoformat()},
        "as_of": today.isoformat(),
        "members": _member_rows(community, members, year, period, today),
        "branches": _branch_rows(community, agency, year, period, members),
    }


# ---------------------------------------------------------------- issuing, correcting, acknowledging


def _check_actor(community: Area, agency: Agency, actor_id: int | None) -> None:
    actor = db.session.get(User, actor_id) if actor_id is not None else None
    if actor is None:
        return  # the system (demo data)
    about = About(community, agency=agency)
    if not can(actor, "letter.issue", about):
        if about_self(actor, "letter.issue", about):
            raise ServiceError(_("You cannot issue a letter about your own agency; another secretary must."))
        raise ServiceError(_("Only the secretary of %(community)s issues its letters.", community=community.name))


def _check_period(community: Area, year: int, period: str, today: date) -> None:
    periods = letter_periods(community, year)
    if not periods:
        raise ServiceError(
            _("No rule has been set for %(year)d yet, so the letter periods are not known.", year=year), "period"
        )
    if period not in periods:
        raise ServiceError(
            _(
                "%(community)s writes letters for %(periods)s of %(year)d.",
                community=community.name,
                periods="、".join(str(PERIOD_LABELS[p]) for p in periods),
                year=year,
            ),
            "period",
        )
    end = period_bounds(year, period)[1]
    if end >= today:
        raise ServiceError(
            _(
                "%(period)s of %(year)d has not ended yet (it ends on %(day)s); its letter is issued afterwards.",
                period=PERIOD_LABELS[period],
                year=year,
                day=end.isoformat(),
            ),
            "period",
        )


def _in_force(community: Area, agency: Agency, year: int, period: str) -> FeedbackLetter | None:
    return db.session.scalar(
        select(FeedbackLetter).where(
            FeedbackLetter.community_id == community.id,
            FeedbackLetter.agency_id == agency.id,
            FeedbackLetter.year == year,
            FeedbackLetter.period == period,
            FeedbackLetter.status != LetterStatus.superseded.value,
        )
    )


def _create(
    community: Area,
    agency: Agency,
    year: int,
    period: str,
    today: date,
    actor_id: int | None,
    supersedes: FeedbackLetter | None = None,
) -> FeedbackLetter:
    content = letter_content(community, agency, year, period, today)
    if not content["members"] and not content["branches"]:
        raise ServiceError(
            _(
                "Nobody of %(agency)s was reported in to %(community)s during %(period)s of %(year)d: "
                "there is nothing to write to it.",
                agency=agency.name,
                community=community.name,
                period=PERIOD_LABELS[period],
                year=year,
            )
        )
    serial = unique_serial(FeedbackLetter.serial, f"FKH-{year}-")  # 反馈函
    letter = FeedbackLetter(
        serial=serial,
        community=community,
        agency=agency,
        year=year,
        period=period,
        content=json.dumps(content, ensure_ascii=False, sort_keys=True),
        member_count=len(content["members"]),
        issued_at=utcnow(),
        issued_by_id=actor_id,
        supersedes_id=supersedes.id if supersedes is not None else None,
    )
    db.session.add(letter)
    flush_or_refuse(_("Someone issued this letter at the same moment; nothing was changed. Reload the page to see it."))
    audit.record(
        "letter.issued",
        letter,
        scope_path=community.path,
        actor_id=actor_id,
        summary=f"{agency.name} {year} {period} {serial}"[:255],
        after={
            "serial": serial,
            "members": letter.member_count,
            "branches": len(content["branches"]),
            "supersedes": supersedes.serial if supersedes is not None else None,
        },
    )
    LETTERS.created(letter, actor_id=actor_id)
    return letter


def issue_letter(
    community: Area,
    agency: Agency,
    year: int,
    period: str,
    *,
    actor_id: int | None = None,
    today: date | None = None,
) -> FeedbackLetter:
    """Issue the period's letter to ``agency``: its content is counted now and never again."""
    today = today or local_today()
    _check_actor(community, agency, actor_id)
    _check_period(community, year, period, today)
    existing = _in_force(community, agency, year, period)
    if existing is not None:
        raise ServiceError(
            _(
                "Letter %(serial)s to %(agency)s for this period was already issued; to correct it, "
                "issue a correction from that letter.",
                serial=existing.serial,
                agency=agency.name,
            )
        )
    return _create(community, agency, year, period, today, actor_id)


def correct_letter(
    letter: FeedbackLetter, reason: str, *, actor_id: int | None = None, today: date | None = None
) -> FeedbackLetter:
    """A correction: a new letter, counted now, supersedes ``letter`` (which stays, marked superseded)."""
    today = today or local_today()
    LETTERS.perform(
        letter,
        "supersede",
        actor_id=actor_id,
        scope_path=letter.community.path,
        summary=f"{letter.agency.name} {letter.year} {letter.period} {letter.serial}"[:255],
        reason=reason,
    )
    return _create(letter.community, letter.agency, letter.year, letter.period, today, actor_id, supersedes=letter)


def acknowledge_letter(letter: FeedbackLetter, *, actor_id: int | None = None) -> None:
    """The agency's party organization signs for the letter (签收), once."""
    LETTERS.perform(
        letter,
        "acknowledge",
        actor_id=actor_id,
        scope_path=letter.community.path,
        summary=f"{letter.agency.name} {letter.serial}"[:255],
        values={"acknowledged_at": utcnow(), "acknowledged_by_id": actor_id},
    )
