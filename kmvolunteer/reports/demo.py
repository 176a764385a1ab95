"""Demo data for 双报告, added by `flask seed-demo` after the places, people, report-ins and records.

Year rules for this year and last (the city's, and a stricter one for 五华区); then, where
report-ins exist at 翠湖社区, a few submitted and acknowledged reports and published ratings.
Rows that need report-ins or records are skipped when there are none.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from datetime import date

from sqlalchemy import select

from kmvolunteer.auth.models import Role, RoleGrant
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area, Member
from kmvolunteer.reportin.models import ReportIn
from kmvolunteer.reports import services, units
from kmvolunteer.years import rules as rulebook

COMMENTS = [
    "积极参加社区活动，服务热情高",
    "按时参加巡逻值守",
    "协助开展政策宣传，群众反映好",
    "服务认真负责",
    "参与环境整治，表现突出",
]
REPORTS = [
    "今年在社区参加了政策宣传和环境整治，认领了周末巡逻岗位。通过服务更加了解群众需求，明年继续参加。",
    "参加社区文明创建和关爱帮扶活动，协助网格员走访独居老人。下一步将结合本职发挥专业特长。",
]


def seed(*, rng: random.Random, generated: bool, echo: Callable[[str], None]) -> None:
    today = local_today()
    city = db.session.scalar(select(Area).where(Area.level == "city").order_by(Area.id))
    if city is None:
        return
    wuhua = db.session.scalar(select(Area).where(Area.level == "district", Area.name == "五华区"))
    for year in (today.year - 1, today.year):
        rulebook.set_rule(
            city,
            year,
            rulebook.RuleValues(
                min_half_hours=40,
                min_activities=4,
                report_required=True,
                report_period="year",
                report_due=date(year + 1, 1, 15),
                evaluation_due=date(year + 1, 1, 31),
                feedback_frequency="quarter",
            ),
        )
        if wuhua is not None:
            rulebook.set_rule(
                wuhua,
                year,
                rulebook.RuleValues(
                    min_half_hours=48,
                    min_activities=6,
                    report_required=True,
                    report_period="year",
                    report_due=date(year + 1, 1, 10),
                    evaluation_due=date(year + 1, 1, 25),
                    feedback_frequency="quarter",
                ),
            )
    db.session.commit()
    echo("year rules: city and 五华区 for this year and last")
    _reports_and_ratings(rng, today, echo)


def _secretary_id(role: Role, **scope: int) -> int | None:
    grant = db.session.scalar(select(RoleGrant).filter_by(role=role.value, **scope).order_by(RoleGrant.id))
    return grant.user_id if grant is not None else None


def _reports_and_ratings(rng: random.Random, today: date, echo: Callable[[str], None]) -> None:
    cuihu = db.session.scalar(select(Area).where(Area.level == "community", Area.name == "翠湖社区").order_by(Area.id))
    if cuihu is None:
        return
    members = list(
        db.session.scalars(
            select(Member)
            .join(ReportIn, ReportIn.member_id == Member.id)
            .where(ReportIn.kind == "member", ReportIn.community_id == cuihu.id, ReportIn.status == "confirmed")
            .order_by(Member.id)
            .limit(12)
        )
    )
    if not members:
        echo("reports: no confirmed report-ins at 翠湖社区 yet, skipped")
        return
    community_secretary = _secretary_id(Role.community_secretary, area_id=cuihu.id)
    year = today.year - 1
    reports = ratings = 0
    for index, member in enumerate(members):
        if index < 6:
            try:
                report = services.submit_member_report(
                    member, year, "Y", REPORTS[index % len(REPORTS)], actor_id=member.user_id, today=today
                )
                branch_secretary = _secretary_id(Role.branch_secretary, branch_id=member.branch_id)
                if index < 4:
                    services.acknowledge(report, "community", "收到，感谢你的付出。", actor_id=community_secretary)
                if index < 2 and branch_secretary:
                    services.acknowledge(report, "branch", "已阅，纳入年度民主评议参考。", actor_id=branch_secretary)
            except ServiceError:
                db.session.rollback()  # e.g. not reported in during that year: skip this one
            else:
                db.session.commit()
                reports += 1
        try:
            rating = rng.choice(["excellent", "good", "good", "good", "fair"])
            services.set_rating(
                cuihu,
                member,
                year,
                rating,
                rng.choice(COMMENTS),
                "社区服务表现",
                actor_id=community_secretary,
                today=today,
            )
        except ServiceError:
            db.session.rollback()
        else:
            db.session.commit()
            ratings += 1
    if ratings:
        services.publish_evaluations(cuihu, year, actor_id=community_secretary)
    echo(f"reports: {reports} member reports, {ratings} published ratings at 翠湖社区 for {year}")
    _unit_ratings(cuihu, today.year, community_secretary, echo)


UNIT_COMMENTS = {
    "excellent": "严格履行共建协议，助老项目成效明显，党员参与积极。",
    "good": "按协议开展共建活动，党员参与较好。",
    "average": "共建活动开展较少，希望加强与社区的沟通。",
}


def _unit_ratings(community: Area, year: int, secretary_id: int | None, echo: Callable[[str], None]) -> None:
    """The community rates the branches that co-built with it this year, all but the last (left for the demo)."""
    rows = units.unit_rows(community, year)
    for row, rating in zip(rows[:-1], itertools.cycle(("excellent", "good", "average", "good")), strict=False):
        units.rate_unit(community, row.branch, year, rating, UNIT_COMMENTS[rating], actor_id=secretary_id)
    db.session.commit()
    echo(f"unit ratings: {max(len(rows) - 1, 0)} of {len(rows)} branches at {community.name} for {year}")
