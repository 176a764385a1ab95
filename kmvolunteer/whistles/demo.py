"""Demo whistles: the generated city's three years of them (demo_city.py); in the curated city, a few of
翠湖社区's and 华山街道's, at each step, blown and worked through the services (so their timelines, deadlines
and notices are those the site makes), for the demo accounts to find.

Summonses still to sign pass their one-hour deadline soon after the demo is loaded; the worker's whistle
pass then escalates them, so a demo running for a while shows that too.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from sqlalchemy import select

from kmvolunteer.auth.models import User
from kmvolunteer.extensions import db
from kmvolunteer.org.demo import reset_sequences
from kmvolunteer.org.models import Area, Department, Estate, Grid
from kmvolunteer.whistles import demo_city, services
from kmvolunteer.whistles.models import Rating, Urgency

# (title, problem, address, place, category index, urgency, how far it has gone)
COMMUNITY_WHISTLES = [
    (
        "翠湖南路井盖缺失",
        "翠湖南路 52 号门前雨水井盖缺失，夜间行人易踩空。",
        "翠湖南路 52 号",
        "",
        0,
        "urgent",
        "closed",
    ),
    (
        "楼道堆放杂物",
        "青云街 3 号院 2 单元楼道长期堆放纸箱和旧家具，堵塞消防通道。",
        "青云街 3 号院",
        "第三网格",
        3,
        "normal",
        "contacted",
    ),
    (
        "小区路灯不亮",
        "钱局街 8 号小区内 4 盏路灯损坏，居民夜间出行不便。",
        "钱局街 8 号",
        "钱局街小区",
        0,
        "normal",
        "handled",
    ),
    ("占道经营", "文林街早市摊贩占用人行道，影响通行。", "文林街", "", 5, "normal", "summoned"),
]
SUBDISTRICT_WHISTLES = [
    (
        "老旧小区屋面漏水",
        "华山西路 12 号老旧小区屋面防水层老化，雨天多户漏水，需住建部门协调维修。",
        "华山西路 12 号",
        "",
        4,
        "urgent",
        "summoned",
    ),
    (
        "危旧房屋安全排查",
        "华山街道辖区内 3 栋 80 年代砖混住宅墙体开裂，请求住建部门鉴定。",
        "华山街道",
        "",
        4,
        "normal",
        "signed",
    ),
]


def seed(*, rng: random.Random, generated: bool, echo: Callable[[str], None]) -> None:
    if generated:
        written = demo_city.seed(rng, echo)
        reset_sequences(tuple(written))
        return
    community = db.session.scalar(select(Area).where(Area.name == "翠湖社区"))
    subdistrict = db.session.scalar(select(Area).where(Area.name == "华山街道"))
    if community is None or subdistrict is None:
        return
    categories = services.ensure_default_categories()
    users = {u.username: u for u in db.session.scalars(select(User).where(User.username.in_(ACTORS)))}
    team = db.session.scalar(select(Department).where(Department.name == "华山街道综合执法队"))
    bureau = db.session.scalar(select(Department).where(Department.name == "五华区住房和城乡建设局"))
    count = 0
    for blower, area, department, officer, whistles in (
        (users["cuihu_secretary"], community, team, users["huashan_team"], COMMUNITY_WHISTLES),
        (users["huashan_officer"], subdistrict, bureau, users["dept_officer"], SUBDISTRICT_WHISTLES),
    ):
        for title, problem, address, place, category, urgency, reached in whistles:
            spot = _spot(area, place)
            data = services.WhistleData(title, problem, address, categories[category].id, Urgency(urgency).value, spot)
            whistle = services.blow(area, blower, data, [department.id])
            _work_through(whistle, blower, officer, reached)
            count += 1
    db.session.flush()
    echo(f"whistles: {count}")


# The demo accounts that blow and answer the whistles (kmvolunteer/org/demo.py makes them).
ACTORS = ("cuihu_secretary", "huashan_officer", "huashan_team", "dept_officer")
STEPS = ("summoned", "signed", "contacted", "handled", "closed")


def _work_through(whistle, blower: User, officer: User, reached: str) -> None:
    (summons,) = whistle.summonses
    steps = STEPS[1 : STEPS.index(reached) + 1]
    if "signed" in steps:
        services.sign(summons, officer)
    if "contacted" in steps:
        services.record_contact(summons, officer, "已电话联系社区书记，约定上门查看。")
    if "handled" in steps:
        services.record_progress(summons, officer, "已到现场查看，安排施工班组处理。")
        services.handle(summons, officer, "已处理完毕，现场恢复正常。")
    if "closed" in steps:
        services.rate(summons, blower, Rating.satisfied.value, "处理及时，居民满意。")
        services.close(whistle, blower)


def _spot(area: Area, name: str) -> str:
    """The key of the community's estate or grid called ``name`` (the demo names them), or none."""
    for model, kind in ((Estate, "estate"), (Grid, "grid")):
        found = db.session.scalar(select(model.id).where(model.community_id == area.id, model.name == name))
        if found:
            return f"{kind}:{found}"
    return ""
