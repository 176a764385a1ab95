"""Who is told what: notices follow the whistles' events and the issue of feedback letters
(``core.machine.transitioned``) in the event's transaction, and the reminder pass (run by the background
worker) tells a department an hour before each deadline of its summons. Nothing here commits."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from kmvolunteer.auth.models import Role, RoleGrant, User
from kmvolunteer.auth.policy import BLOWERS
from kmvolunteer.core import machine
from kmvolunteer.core.db import forget_on_rollback, insert_ignore
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.letters.models import FeedbackLetter
from kmvolunteer.notices.models import Notice
from kmvolunteer.org.models import Area
from kmvolunteer.resident.models import ResidentRequest
from kmvolunteer.whistles.models import ACTIVE_SUMMONS, Summons, Whistle, WhistleStatus

REMIND_BEFORE = timedelta(hours=1)
PENDING = "pending_notices"  # the session's notices waiting for its commit
# The deadline of each step, and the column that says the step was taken (None: the summons' status does).
DEADLINES = {
    "due_sign": (Summons.sign_due_at, Summons.signed_at),
    "due_contact": (Summons.contact_due_at, Summons.contacted_at),
    "due_handle": (Summons.handle_due_at, None),
}
# The department's answers the blower hears of: the summons' action → the notice's kind.
ANSWERS = {"handle": "handled", "decline": "declined"}


# --------------------------------------------------------------------------- recipients


def _active(query):
    return query.join(User, RoleGrant.user_id == User.id).where(User.active.is_(True))


def officers(department_ids: Iterable[int]) -> set[int]:
    """The users who act for these departments."""
    return set(
        db.session.scalars(
            _active(select(RoleGrant.user_id)).where(
                RoleGrant.role == Role.department_officer.value, RoleGrant.department_id.in_(list(department_ids))
            )
        )
    )


def blowers(area: Area) -> set[int]:
    """The staff who blow (and follow) the whistles of ``area``."""
    role = BLOWERS.get(area.level)
    if role is None:
        return set()
    return set(
        db.session.scalars(
            _active(select(RoleGrant.user_id)).where(RoleGrant.role == role.value, RoleGrant.area_id == area.id)
        )
    )


def party_organizations(agency_id: int) -> set[int]:
    """The users who are the agency's party organization (机关党委)."""
    return set(
        db.session.scalars(
            _active(select(RoleGrant.user_id)).where(
                RoleGrant.role == Role.agency_party_org.value, RoleGrant.agency_id == agency_id
            )
        )
    )


def notify(
    user_ids: Iterable[int],
    kind: str,
    whistle_id: int | None = None,
    summons_id: int | None = None,
    letter_id: int | None = None,
    request_id: int | None = None,
) -> None:
    """Notices for the event's transaction, inserted just before it commits: after the event's own locks (a
    notice's foreign-key lock on its whistle, taken at once, would deadlock two departments settling one
    whistle at the same moment)."""
    now = utcnow()
    db.session.info.setdefault(PENDING, []).extend(
        {
            "user_id": user_id,
            "kind": kind,
            "whistle_id": whistle_id,
            "summons_id": summons_id,
            "letter_id": letter_id,
            "request_id": request_id,
            "created_at": now,
        }
        for user_id in sorted(set(user_ids))
    )


@event.listens_for(Session, "before_commit")
def _add_pending(session: Session) -> None:
    if not session.in_nested_transaction():
        session.add_all(Notice(**values) for values in session.info.pop(PENDING, []))


forget_on_rollback(PENDING)


# --------------------------------------------------------------------------- the whistles' events


@machine.transitioned.connect_via(Summons)
def _summons_changed(sender: type, *, obj: Summons, transition: Any, **_: Any) -> None:
    if transition is None:
        notify(officers([obj.department_id]), "summoned", obj.whistle_id, obj.id)
    elif transition.action in ANSWERS:
        notify(blowers(obj.whistle.area), ANSWERS[transition.action], obj.whistle_id, obj.id)


@machine.transitioned.connect_via(Whistle)
def _whistle_created(sender: type, *, obj: Whistle, transition: Any, **_: Any) -> None:
    """A whistle escalated one tier up: the area above (to route it), the area below and every department
    it had summoned hear of it, with the new whistle."""
    if transition is None and obj.escalated_from_id is not None:
        lower = obj.escalated_from
        involved = blowers(obj.area) | blowers(lower.area) | officers(s.department_id for s in lower.summonses)
        notify(involved, "escalated", obj.id)


@machine.transitioned.connect_via(FeedbackLetter)
def _letter_issued(sender: type, *, obj: FeedbackLetter, transition: Any, **_: Any) -> None:
    """A letter issued (a correction too) reaches the agency's party organization; once it is signed for, the
    notices asking for that are read (for every one of them, whoever signed)."""
    if transition is None:
        notify(party_organizations(obj.agency_id), "letter", letter_id=obj.id)
    elif transition.action == "acknowledge":
        _read_by_everyone(Notice.letter_id == obj.id)


@machine.transitioned.connect_via(ResidentRequest)
def _request_changed(sender: type, *, obj: ResidentRequest, transition: Any, **_: Any) -> None:
    """A resident's new request reaches the community's secretaries; once one of them has triaged it, the
    notices about it are read for all of them."""
    if transition is None:
        notify(blowers(obj.community), "request", request_id=obj.id)  # a community's staff: its secretaries
    else:
        _read_by_everyone(Notice.request_id == obj.id)
        pending = db.session.info.get(PENDING, [])  # told and triaged in one transaction: nothing to read
        pending[:] = [values for values in pending if values["request_id"] != obj.id]


def _read_by_everyone(about) -> None:
    """The notices ``about`` something that needs doing once, read by all who were told when one did it."""
    db.session.execute(
        update(Notice)
        .where(about, Notice.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )


# --------------------------------------------------------------------------- reminders


def reminder_pass(now: datetime | None = None) -> int:
    """Tell the officers of each department whose summons has a deadline within the next hour, step not
    taken. Each (user, step, summons, deadline) is told once: running twice, or on two hosts, adds nothing.
    Returns the number of reminders considered."""
    now = now or utcnow()
    count = 0
    for kind, (due, done) in DEADLINES.items():
        # Each summons due within the hour with each officer of its department: one query a step.
        query = (
            select(Summons.id, Summons.whistle_id, due, RoleGrant.user_id)
            .join(Whistle, Summons.whistle_id == Whistle.id)
            .join(RoleGrant, RoleGrant.department_id == Summons.department_id)
            .join(User, RoleGrant.user_id == User.id)
            .where(
                User.active.is_(True),
                RoleGrant.role == Role.department_officer.value,
                Whistle.status == WhistleStatus.open.value,
                Summons.status.in_(ACTIVE_SUMMONS),
                due > now,
                due <= now + REMIND_BEFORE,
            )
            .order_by(Summons.id, RoleGrant.user_id)
        )
        if done is not None:
            query = query.where(done.is_(None))
        for summons_id, whistle_id, due_at, user_id in db.session.execute(query):
            values = {
                "user_id": user_id,
                "kind": kind,
                "whistle_id": whistle_id,
                "summons_id": summons_id,
                "due_at": due_at,
                "key": f"{kind}:{summons_id}:{due_at:%Y%m%d%H%M%S}",
                "created_at": now,
            }
            insert_ignore(Notice, values, ["user_id", "key"])
            count += 1
    return count


# --------------------------------------------------------------------------- reading

WORDS = {
    "summoned": _l("%(department)s is summoned by whistle %(whistle)s."),
    "handled": _l("%(department)s handled whistle %(whistle)s: rate it."),
    "declined": _l("%(department)s declined whistle %(whistle)s: summon the right department."),
    "escalated": _l("Whistle %(whistle)s was escalated one tier up."),
    "due_sign": _l("%(department)s must sign for whistle %(whistle)s by %(due)s."),
    "due_contact": _l("%(department)s must contact the blower of whistle %(whistle)s by %(due)s."),
    "due_handle": _l("%(department)s must handle whistle %(whistle)s by %(due)s."),
    "letter": _l("%(community)s sent feedback letter %(serial)s to %(agency)s: acknowledge its receipt."),
    "request": _l("A resident left a request with %(community)s: “%(what)s”. Triage it."),
}


def describe(notice: Notice) -> str:
    """The notice in the reader's language."""
    if notice.request is not None:
        what = " ".join(notice.request.what.split())
        return str(WORDS["request"]) % {
            "community": notice.request.community.name,
            "what": what if len(what) <= 30 else what[:30] + "…",
        }
    letter = notice.letter
    if letter is not None:
        return str(WORDS[notice.kind]) % {
            "community": letter.community.name,
            "serial": letter.serial,
            "agency": letter.agency.name,
        }
    return str(WORDS[notice.kind]) % {
        "whistle": f"{notice.whistle.serial} {notice.whistle.title}",
        "department": notice.summons.department.name if notice.summons else "",
        "due": format_datetime(notice.due_at, "yyyy-MM-dd HH:mm") if notice.due_at else "",
    }


def unread_notices(user_id: Any) -> Any:
    """How many notices ``user_id`` (a column or a value) has not read: a scalar subquery, which the login's
    user query carries, so the menu's count costs no statement of its own."""
    return (
        select(func.count())
        .select_from(Notice)
        .where(Notice.user_id == user_id, Notice.read_at.is_(None))
        .scalar_subquery()
    )


def notices_of(user: User, limit: int) -> list[Notice]:
    """The user's newest notices, with their whistle and summons' department for the words, and what
    the policy asks to decide whether the whistle's page may be linked (its area and summonses)."""
    return list(
        db.session.scalars(
            select(Notice)
            .where(Notice.user_id == user.id)
            .options(
                joinedload(Notice.whistle).options(joinedload(Whistle.area), selectinload(Whistle.summonses)),
                joinedload(Notice.summons).joinedload(Summons.department),
                joinedload(Notice.letter).options(
                    joinedload(FeedbackLetter.community), joinedload(FeedbackLetter.agency)
                ),
                joinedload(Notice.request).joinedload(ResidentRequest.community),
            )
            .order_by(Notice.id.desc())
            .limit(limit)
        )
    )


def mark_read(user: User, notice_id: int | None = None) -> int:
    """Mark one of the user's notices (or all of them) read; returns how many changed."""
    query = update(Notice).where(Notice.user_id == user.id, Notice.read_at.is_(None))
    if notice_id is not None:
        query = query.where(Notice.id == notice_id)
    return db.session.execute(query.values(read_at=utcnow())).rowcount
