"""Demo residents' requests at 翠湖社区, one at each stage, triaged through the services as a secretary would:
one still to triage, one answered, one made a need, one a whistle, and one closed as spam."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from kmvolunteer.auth.models import User
from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area, Department
from kmvolunteer.reportin import services as lists
from kmvolunteer.resident import services
from kmvolunteer.whistles import services as whistles

# (what, where, phone, how it was triaged)
REQUESTS = [
    ("单元门口的声控灯坏了一个多星期，晚上上下楼看不清。", "青云街 3 号院 2 单元", "13987650001", "received"),
    ("想问问社区有没有老年人智能手机培训，我母亲想学视频通话。", "钱局街小区", "", "answered"),
    ("楼下独居的王奶奶腿脚不便，想请志愿者每周帮她买一次菜。", "翠湖南路 52 号", "13987650002", "to_need"),
    ("小区后门的排水沟堵了，下雨就积水，已经反映过物业没有处理。", "文林街 18 号小区后门", "", "to_whistle"),
    ("低价出售二手家电，欢迎联系。", "翠湖", "", "rejected"),
]


def seed(*, rng: random.Random, generated: bool, echo: Callable[[str], None]) -> None:
    if generated:
        return  # the generated city's communities have other names
    community = db.session.scalar(select(Area).where(Area.name == "翠湖社区"))
    secretary = db.session.scalar(select(User).where(User.username == "cuihu_secretary"))
    team = db.session.scalar(select(Department).where(Department.name == "华山街道综合执法队"))
    if community is None or secretary is None or team is None:
        return
    for what, place, phone, triage in REQUESTS:
        req = services.submit(community, services.RequestData(what, place, phone))
        if triage == "answered":
            services.answer(req, secretary, "社区每月第二个周三下午在党群服务中心开设智能手机课，欢迎您母亲来参加。")
        elif triage == "to_need":
            need = lists.NeedData(
                kind="need",
                title="为独居老人每周代买一次菜",
                category_id=None,
                description="翠湖南路 52 号独居老人腿脚不便，需志愿者每周帮忙代买蔬菜。",
                place=place,
                on_date=local_today() + timedelta(days=3),
                start_time=None,
                end_time=None,
                recurrence="每周六上午",
                headcount=2,
            )
            services.to_need(req, secretary, need, "已发布为志愿服务需求，会有党员志愿者与您联系。")
        elif triage == "to_whistle":
            category = whistles.ensure_default_categories()[0]
            data = whistles.WhistleData("小区后门排水沟堵塞", what, place, category.id, "normal", "")
            services.to_whistle(req, secretary, data, [team.id])
        elif triage == "rejected":
            services.reject(req, secretary, "广告信息，与社区服务无关。")
    db.session.flush()
    echo(f"residents' requests: {len(REQUESTS)}")
