"""Demo data for this feature, added by `flask seed-demo` after the places and people.

Most members are reported in to a community of their agency's district (most
confirmed, a few waiting), bulk-inserted in chunks so a city of 200,000 members
takes seconds. The demo member 张明 is confirmed at 翠湖社区; 昆明市民政局
机关第一党支部 co-builds with 翠湖社区 (agreement, a resource, projects); needs
with claims are published at 翠湖社区 and elsewhere.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, time, timedelta

from sqlalchemy import func, insert, select, text

from kmvolunteer.auth.models import User
from kmvolunteer.core.time import local_day_start_utc, local_today, utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Agency, Area, Branch, Member
from kmvolunteer.reportin import services
from kmvolunteer.reportin.models import ReportIn, report_in_category

SKILLS = [
    "法律咨询",
    "医疗急救",
    "心理疏导",
    "电脑维修",
    "政策宣讲",
    "文艺演出",
    "书法",
    "家电维修",
    "财务会计",
    "教育辅导",
    "摄影",
    "驾驶",
    "消防安全",
    "垃圾分类",
    "手语",
]
CHUNK = 5000


def _district_of(path: str) -> int | None:
    parts = [p for p in path.split("/") if p]
    return int(parts[1]) if len(parts) > 1 else None


def _bulk_member_report_ins(rng: random.Random, echo: Callable[[str], None]) -> int:
    """~90% of members reported in (about 94% of those confirmed), in chunks of plain INSERTs."""
    communities: dict[int | None, list[int]] = {}
    for area_id, path in db.session.execute(select(Area.id, Area.path).where(Area.level == "community")):
        communities.setdefault(_district_of(path), []).append(area_id)
        communities.setdefault(None, []).append(area_id)
    branch_district = {
        branch_id: _district_of(path)
        for branch_id, path in db.session.execute(
            select(Branch.id, Area.path)
            .join(Agency, Branch.agency_id == Agency.id)
            .join(Area, Agency.area_id == Area.id)
        )
    }
    special = set(
        db.session.scalars(
            select(Member.id)
            .join(User, Member.user_id == User.id)
            .where(User.username.in_(("member", "branch_secretary")))
        )
    )
    categories = [c.id for c in services.active_categories()]
    start_id = (db.session.scalar(select(func.max(ReportIn.id))) or 0) + 1
    year = local_today().year
    now = utcnow()
    rows: list[dict] = []
    links: list[dict] = []
    next_id = start_id
    total = 0
    result = db.session.execute(
        select(Member.id, Member.branch_id).where(Member.active.is_(True)).order_by(Member.id)
    ).yield_per(CHUNK)
    for member_id, branch_id in result:
        if member_id in special or rng.random() >= 0.9:
            continue
        choices = communities.get(branch_district.get(branch_id)) or communities[None]
        confirmed = rng.random() < 0.94
        submitted = now - timedelta(days=rng.randint(3, 400), minutes=rng.randint(0, 1440))
        rows.append(
            {
                "id": next_id,
                "kind": "member",
                "member_id": member_id,
                "branch_id": None,
                "community_id": rng.choice(choices),
                "status": "confirmed" if confirmed else "pending",
                "skills": "、".join(rng.sample(SKILLS, rng.randint(0, 2))),
                "contact_name": "",
                "contact_phone": "",
                "branch_commitments": "",
                "community_commitments": "",
                "reason": "",
                "submitted_at": submitted,
                "decided_at": submitted + timedelta(days=rng.randint(0, 3)) if confirmed else None,
                "serial": f"BD{year}-{next_id:06d}" if confirmed else None,
            }
        )
        if categories:
            links.append({"report_in_id": next_id, "category_id": rng.choice(categories)})
        next_id += 1
        if len(rows) >= CHUNK:
            total += _flush(rows, links)
    total += _flush(rows, links)
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('report_in', 'id'), "
                "COALESCE((SELECT MAX(id) FROM report_in), 0) + 1, false)"
            )
        )
    echo(f"member report-ins: {total}")
    return total


def _flush(rows: list[dict], links: list[dict]) -> int:
    if not rows:
        return 0
    count = len(rows)
    db.session.execute(insert(ReportIn), rows)
    if links:
        db.session.execute(insert(report_in_category), links)
    rows.clear()
    links.clear()
    return count


def _area(name: str) -> Area | None:
    return db.session.scalar(select(Area).where(Area.name == name, Area.level == "community").order_by(Area.id))


def _user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


# More branches co-building with 翠湖社区, so its year-end rating of branches has several to rate.
CO_BUILDERS = (
    ("五华区卫生健康局", "机关党支部", "周敏", "每季度开展1次健康义诊；为社区老人建立健康档案。"),
    ("昆明市城市管理局", "机关第一党支部", "陈刚", "协助开展背街小巷环境整治；每月参与1次文明劝导。"),
)


def _branch(agency_name: str, branch_name: str) -> Branch | None:
    return db.session.scalar(select(Branch).join(Agency).where(Agency.name == agency_name, Branch.name == branch_name))


def _since_january(report_in: ReportIn, today: date) -> None:
    """The demo member and the demo branch reported in to 翠湖社区 in January (their agreement's term starts on
    1 January), so the half-year behind them has figures and a feedback letter to 昆明市民政局."""
    sent = local_day_start_utc(date(today.year, 1, 8)) + timedelta(hours=2)
    if sent < report_in.submitted_at:
        report_in.submitted_at, report_in.decided_at = sent, sent + timedelta(days=1)
        db.session.flush()


def _curated_story(rng: random.Random) -> None:
    cuihu = _area("翠湖社区")
    if cuihu is None:
        return
    secretary = _user("cuihu_secretary")
    secretary_id = secretary.id if secretary else None
    today = local_today()
    cats = {c.name: c.id for c in services.active_categories()}

    # The demo member: confirmed at 翠湖社区.
    member_user = _user("member")
    if member_user is not None and member_user.member is not None:
        ri = services.report_in_member(
            member_user.member,
            cuihu,
            skills="政策宣讲、电脑维修",
            category_ids=[cats["政策宣传"], cats["专业服务"]],
            actor_id=member_user.id,
        )
        services.confirm_report_in(ri, actor_id=secretary_id)
        _since_january(ri, today)
    # The demo branch secretary (also a member) is waiting for 翠湖社区 to confirm.
    leader = _user("branch_secretary")
    if leader is not None and leader.member is not None:
        services.report_in_member(
            leader.member, cuihu, skills="法律咨询", category_ids=[cats["关爱帮扶"]], actor_id=leader.id
        )

    # A few more report-ins waiting at 翠湖社区, so the secretary's queue has work.
    unreported = list(
        db.session.scalars(
            select(Member)
            .where(
                Member.active.is_(True),
                ~Member.id.in_(select(ReportIn.member_id).where(ReportIn.member_id.is_not(None))),
            )
            .order_by(Member.id)
            .limit(4)
        )
    )
    for person in unreported:
        services.report_in_member(
            person, cuihu, skills=rng.choice(SKILLS), category_ids=[rng.choice(list(cats.values()))]
        )

    branch = _branch("昆明市民政局", "机关第一党支部")
    if branch is not None:
        cobuild = services.report_in_branch(
            branch,
            cuihu,
            term_start=date(today.year, 1, 1),
            term_end=date(today.year + 1, 12, 31),
            contact_name="刘洋",
            contact_phone="13900000002",
            branch_commitments="每月组织党员到社区开展志愿服务不少于1次；提供政策咨询和法律援助；结对帮扶困难家庭3户。",
            community_commitments="提供活动场地；及时发布需求清单；每季度向支部反馈党员表现。",
            actor_id=leader.id if leader else None,
        )
        services.confirm_report_in(cobuild, actor_id=secretary_id)
        _since_january(cobuild, today)
        taken = services.offer_resource(
            branch,
            cuihu,
            title="法律咨询进社区",
            category_id=cats["专业服务"],
            description="支部党员律师为居民提供免费法律咨询。",
            amount="每月2次，每次半天",
        )
        services.offer_resource(
            branch,
            cuihu,
            title="困难家庭结对帮扶",
            category_id=cats["关爱帮扶"],
            description="党员结对走访慰问困难家庭。",
            amount="3户，每季度走访",
        )
        project = services.take_up_resource(taken, actor_id=secretary_id)
        services.start_project(project, actor_id=secretary_id)

    for agency_name, branch_name, contact, commitments in CO_BUILDERS:
        other_branch = _branch(agency_name, branch_name)
        if other_branch is not None:
            services.confirm_report_in(
                services.report_in_branch(
                    other_branch,
                    cuihu,
                    term_start=date(today.year, 1, 1),
                    term_end=date(today.year, 12, 31),
                    contact_name=contact,
                    contact_phone="13900000003",
                    branch_commitments=commitments,
                    community_commitments="提供活动场地；及时发布需求清单。",
                ),
                actor_id=secretary_id,
            )

    needs = [
        (
            cuihu,
            "need",
            "垃圾分类宣传志愿者",
            "环境整治",
            "翠湖社区居委会门口",
            today + timedelta(days=5),
            time(9),
            time(11),
            "",
            6,
        ),
        (cuihu, "post", "平安巡逻岗", "平安巡逻", "翠湖公园周边", None, None, None, "每周六 19:00–21:00", 4),
        (cuihu, "need", "独居老人探访", "关爱帮扶", "翠湖社区", today + timedelta(days=10), time(14), time(17), "", 3),
        (
            cuihu,
            "need",
            "反诈宣传摆摊",
            "政策宣传",
            "翠湖社区文化广场",
            today + timedelta(days=2),
            time(9),
            time(12),
            "",
            2,
        ),
    ]
    for community_name in ("文化巷社区", "华山西路社区"):
        other = _area(community_name)
        if other is not None:
            needs.append(
                (
                    other,
                    "need",
                    "文明创建宣传",
                    "文明创建",
                    f"{community_name}活动室",
                    today + timedelta(days=7),
                    time(9),
                    time(11),
                    "",
                    5,
                )
            )
    for community, kind, title, category, place, on_date, start, end, recurrence, headcount in needs:
        need = services.publish_need(
            community,
            services.NeedData(
                kind=kind,
                title=title,
                category_id=cats.get(category),
                description=f"{title}，欢迎报到党员认领。",
                place=place,
                on_date=on_date,
                start_time=start,
                end_time=end,
                recurrence=recurrence,
                headcount=headcount,
            ),
            actor_id=secretary_id if community is cuihu else None,
        )
        confirmed_here = list(
            db.session.scalars(
                select(Member)
                .join(ReportIn, ReportIn.member_id == Member.id)
                .where(ReportIn.community_id == community.id, ReportIn.status == "confirmed")
                .order_by(Member.id)
                .limit(headcount - 1)
            )
        )
        for person in confirmed_here[: rng.randint(0, max(headcount - 1, 0))]:
            if member_user is not None and person.user_id == member_user.id:
                continue
            services.claim_need(need, member=person)
    if branch is not None:
        branch_need = services.publish_need(
            cuihu,
            services.NeedData(
                kind="need",
                title="社区文化活动室改造",
                category_id=cats["文明创建"],
                description="需要共建单位协助改造社区文化活动室。",
                place="翠湖社区活动室",
                on_date=today + timedelta(days=30),
                start_time=None,
                end_time=None,
                recurrence="",
                headcount=1,
            ),
            actor_id=secretary_id,
        )
        services.claim_need(branch_need, branch=branch)


def seed(*, rng: random.Random, generated: bool, echo: Callable[[str], None]) -> None:
    """Fill in this feature's demo data (bulk inserts when ``generated`` is a city-scale run)."""
    services.ensure_default_categories()
    db.session.flush()
    _bulk_member_report_ins(rng, echo)
    _curated_story(rng)
    db.session.flush()
