"""Demo grids and estates of 翠湖社区, where most of its reported-in members live, and a need in one estate."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import time, timedelta

from sqlalchemy import select

from kmvolunteer.core.time import local_today
from kmvolunteer.estates import red_property, services
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area
from kmvolunteer.reportin import services as lists
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
            company = "翠湖物业服务有限公司" if branch else ""
            estates.append(
                services.save_estate(community, None, name, grid.id, branch, property_company=company, actor_id=None)
            )
    served = estates[0]
    scores = {"leadership": 5, "members": 4, "mechanism": 5, "cobuilding": 4, "service": 5, "residents": 4}
    year = local_today().year
    red_property.rate_company(community, served.property_company_id, year, "", scores, "", actor_id=None)
    red_property.rate_company(community, served.property_company_id, year, served.id, scores, "", actor_id=None)
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
    lists.publish_need(
        community,
        lists.NeedData(
            kind="need",
            title="义诊进小区",
            category_id=None,
            description="为小区老人量血压、讲解常用药的用法，需要有医护特长的党员。",
            place="小区中心广场",
            on_date=local_today() + timedelta(days=4),
            start_time=time(9),
            end_time=time(11, 30),
            recurrence="",
            headcount=3,
            skills="医疗、护理",
            spot=f"estate:{served.id}",
        ),
    )
    echo(f"estates: {len(estates)} estates in {len(GRIDS)} grids at 翠湖社区, {homes} members' homes")
