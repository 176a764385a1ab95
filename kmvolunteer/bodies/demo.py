"""Demo joint bodies: 翠湖社区大党委 and 华山街道党建联盟, with units, part-time members and the alliance's
rotating chair."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import select

from kmvolunteer.bodies import services
from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Agency, Area
from kmvolunteer.reportin.services import NeedData

# (area, units: (kind, name or agency name, part-time member, post))
BODIES = [
    (
        "翠湖社区",
        [
            ("agency", "昆明市民政局", "刘洋", "机关党委专职副书记"),
            ("agency", "五华区卫生健康局", "周敏", "机关党支部书记"),
            ("school", "翠湖小学", "李华清", "党支部书记、校长"),
            ("property", "翠湖物业服务有限公司", "王建", "项目经理"),
        ],
    ),
    (
        "华山街道",
        [
            ("agency", "昆明市城市管理局", "陈刚", "机关第一党支部书记"),
            ("hospital", "华山社区卫生服务中心", "赵丽", "党支部书记"),
            ("company", "云南华山建设集团", "孙强", "党委副书记"),
            ("social_org", "华山志愿者协会", "钱芳", "会长"),
        ],
    ),
]


def seed(*, rng: random.Random, generated: bool, echo: Callable[[str], None]) -> None:
    if generated:
        return  # the generated city's bodies are still to come
    today = local_today()
    count = 0
    for area_name, units in BODIES:
        area = db.session.scalar(select(Area).where(Area.name == area_name))
        if area is None:
            continue
        body = services.open_body(area, actor_id=None)
        added = []
        for kind, name, person, post in units:
            agency_id = db.session.scalar(select(Agency.id).where(Agency.name == name)) if kind == "agency" else None
            if kind == "agency" and agency_id is None:
                continue
            unit = services.add_unit(body, kind, name, agency_id, actor_id=None)
            services.add_member(
                body, unit.id, person, post, date(today.year, 1, 1), date(today.year + 2, 12, 31), actor_id=None
            )
            added.append(unit.id)
        if body.kind == "alliance" and added:
            services.set_rotation(body, today, added, actor_id=None)
        if body.kind == "committee" and added:
            services.record_meeting(
                body,
                today - timedelta(days=10),
                "翠湖社区党群服务中心",
                "研究冬季助老服务和背街小巷环境整治",
                "成员单位轮流开展每周助老理发；年底前完成钱局街背街小巷清理。",
                {unit_id: ("present" if n % 3 else "excused") for n, unit_id in enumerate(added)},
                (
                    area,
                    NeedData(
                        "need",
                        "冬季助老理发",
                        None,
                        "",
                        "翠湖社区党群服务中心",
                        today + timedelta(days=7),
                        None,
                        None,
                        "",
                        4,
                    ),
                ),
                actor_id=None,
            )
        count += 1
    echo(f"joint bodies: {count}")
