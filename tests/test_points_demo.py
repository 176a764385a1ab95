"""The demo city's points: the city's scheme for this year, the demo member's page and their branch's ranking,
whose points are those of the tallies' kept facts."""

from __future__ import annotations

from sqlalchemy import select

from kmvolunteer.core.time import local_today
from kmvolunteer.demo import DEMO_PASSWORD
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Member
from kmvolunteer.points import services
from kmvolunteer.points.demo import DEMO_SCHEME
from kmvolunteer.tallies.facts import Scope, is_kept


def test_the_demo_member_sees_the_citys_scheme_and_the_branch_ranking_agrees(demo_city, ctx, login):
    year = local_today().year
    scheme = services.scheme_for(year)
    assert not scheme.is_default and scheme.values == DEMO_SCHEME and is_kept(year)
    member = db.session.scalar(select(Member).where(Member.phone == "13900000001"))
    earned = services.member_points(member, year)
    assert earned.points > 0
    ranking = services.ranking(year, Scope("branch", id=member.branch_id))
    assert next(row for row in ranking if row.member_id == member.id).half == earned.half
    browser = login("member", DEMO_PASSWORD)
    html = browser.get(f"/points/members/{member.id}").get_data(as_text=True)
    assert f"data-points>{earned.points}<" in html and "按默认方案计分" not in html
