"""Demo on-site sign-ins at 翠湖社区, made through the services as the secretary and the members would: a
session held yesterday and closed into approved records (recorded on site), and one under way now that the
demo member has signed in to (so the organizer's sheet and the member's 签退 button have something to show)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import time, timedelta

from sqlalchemy import select

from kmvolunteer.auth.models import User
from kmvolunteer.core.time import local_today, to_local, utcnow
from kmvolunteer.extensions import db
from kmvolunteer.onsite import services
from kmvolunteer.org.models import Area, Member
from kmvolunteer.reportin.models import Need, ReportIn


def _sign_in(session, member: Member, moment) -> None:
    services.sign_in(session, member.user, services.code_at(session.id, services.minute_of(moment)), moment)


def seed(*, rng: random.Random, generated: bool, echo: Callable[[str], None]) -> None:
    if generated:
        return  # the generated city's communities have other names
    community = db.session.scalar(select(Area).where(Area.name == "翠湖社区"))
    secretary = db.session.scalar(select(User).where(User.username == "cuihu_secretary"))
    if community is None or secretary is None:
        return
    need = db.session.scalar(
        select(Need).where(Need.community_id == community.id, Need.status == "open").order_by(Need.id).limit(1)
    )
    members = list(
        db.session.scalars(
            select(Member)
            .join(ReportIn, ReportIn.member_id == Member.id)
            .where(
                ReportIn.kind == "member",
                ReportIn.status == "confirmed",
                ReportIn.community_id == community.id,
                Member.user_id.is_not(None),
                Member.user_id != secretary.id,
            )
            .order_by(Member.id)
        )
    )
    members.sort(key=lambda m: m.name != "张明")  # the demo member first
    members = members[:4]
    if need is None or not members:
        return
    today = local_today()

    # Yesterday morning: three came, one left early, the rest were signed out at the end when it closed.
    held = services.open_session(need, secretary, today - timedelta(days=1), time(9, 0), time(11, 30), today=today)
    for offset, member in zip((0, 10, 25), members[:3], strict=False):
        _sign_in(held, member, held.starts_at + timedelta(minutes=offset))
    if len(members) > 1:
        services.sign_out(held, members[1].user, now=held.starts_at + timedelta(hours=1, minutes=40))
    services.close(held, secretary, now=held.ends_at + timedelta(minutes=20), today=today)

    # Now: a session that began an hour ago and ends in two; the demo member (and another) signed in.
    now = utcnow()
    begins = to_local(now - timedelta(hours=1))
    ends = to_local(now + timedelta(hours=2))
    under_way = services.open_session(
        need,
        secretary,
        begins.date(),
        begins.time().replace(second=0, microsecond=0),
        ends.time().replace(second=0, microsecond=0),
        capacity=need.headcount if need.headcount > 1 else None,
        today=today,
    )
    for offset, member in zip((5, 20), members[:2], strict=False):
        _sign_in(under_way, member, under_way.starts_at + timedelta(minutes=offset))
    db.session.flush()
    echo("on-site sign-in sessions: 2 (one closed into records, one open)")
