"""Demo grids and estates of 翠湖社区, and where most of its reported-in members live."""

from __future__ import annotations

import random
from collections.abc import Callable

from sqlalchemy import select

from kmvolunteer.estates import services
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area
from kmvolunteer.reportin.models import ReportIn

# grid, its leader, and its estates with their party branch
GRIDS = [
    ("第一网格", "杨丽", [("翠湖小区", "翠湖小区党支部"), ("青云街3号院", "")]),
    ("第二网格", "周强", [("钱局街小区", "钱局街小区党支部"), ("文林街宿舍", "")]),
    ("第三网格", "赵敏", [("圆通花园", "圆通花园党支部")]),
]


def seed(*, rng: random.Random, generated: bool, echo: Callable[[str], None]) -> None:
    if generated:
        return  # the generated city's communities have no estates yet
    community = db.session.scalar(select(Area).where(Area.name == "翠湖社区"))
    if community is None:
        return
    estates = []
    for grid_name, leader, estate_rows in GRIDS:
        grid = services.save_grid(community, None, grid_name, leader, actor_id=None)
        for name, branch in estate_rows:
            estates.append(services.save_estate(community, None, name, grid.id, branch, actor_id=None))
    report_ins = db.session.scalars(
        select(ReportIn)
        .where(ReportIn.community_id == community.id, ReportIn.kind == "member", ReportIn.status == "confirmed")
        .order_by(ReportIn.id)
    ).all()
    homes = 0
    rng = random.Random("estates")  # its own, so the features seeded after it get the same data as before
    for report_in in report_ins:
        if rng.random() < 0.7:
            households = rng.choice((0, 0, 1, 2, 3, 5))
            note = "每月走访一次" if households else ""
            services.set_home(report_in, rng.choice(estates).id, "", households, note, actor_id=None)
            homes += 1
    echo(f"estates: {len(estates)} estates in {len(GRIDS)} grids at 翠湖社区, {homes} members' homes")
