"""Demo data for this feature, added by `flask seed-demo` after the places and people.

Service records over last year and this year for every member, in a realistic mix of
states: mostly approved, some pending (about 40 at 翠湖社区, a third of them overdue, for
`cuihu_secretary`), some returned with reasons, a few rejected, withdrawn or revoked.
Rows are bulk-inserted with ids given here; the per-member-year counters are built at the
end with one INSERT … SELECT … GROUP BY, so they equal a recount by construction.
Members who have no confirmed report-in yet (the report-in seeder may not have made one)
get one here, because a member serves in the community they reported in to.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from time import monotonic

from sqlalchemy import func, select

from kmvolunteer.auth.models import Role, RoleGrant, User
from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.core.db import bulk_insert
from kmvolunteer.core.time import local_today, utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.demo import reset_sequences
from kmvolunteer.org.models import Area, Member
from kmvolunteer.reportin.models import Need, ReportIn
from kmvolunteer.service.models import ServiceRecord

CHUNK = 20_000
HOME_COMMUNITY = "翠湖社区"
HOME_PENDING = 40
ACTIVITIES = [
    ("反诈宣传进社区，发放宣传资料、讲解防骗知识", "社区广场"),
    ("垃圾分类宣传引导，值守分类投放点", "小区垃圾分类投放点"),
    ("小区环境卫生整治，清理楼道杂物", "小区楼道"),
    ("走访慰问独居老人，帮助购买生活用品", "独居老人家中"),
    ("夜间平安巡逻", "社区主干道"),
    ("文明交通劝导", "路口岗亭"),
    ("党的政策宣讲", "社区党群服务中心"),
    ("协助社区义诊，维持秩序、登记信息", "社区卫生服务站"),
    ("助老助残服务，陪同就医", "社区卫生服务站"),
    ("网格化入户走访，收集居民诉求", "网格片区"),
    ("创建文明城市志愿服务，清理小广告", "背街小巷"),
    ("河道沿岸清洁", "河道沿岸"),
    ("青少年课后托管辅导作业", "社区四点半课堂"),
    ("法律咨询服务", "社区党群服务中心"),
    ("协助开展消防安全检查", "沿街商铺"),
    ("社区图书室整理与借阅服务", "社区图书室"),
]
RETURN_REASONS = [
    "请补充服务地点和负责人",
    "服务时长与活动安排不符，请核实后重新提交",
    "服务内容过于简单，请具体说明",
    "日期有误，活动实际在次日举行",
]
REJECT_REASONS = ["该活动不属于社区志愿服务", "与已登记的服务记录重复"]
REVOKE_REASONS = ["经核实当天未参加活动，撤销此前的审核"]
LATE_REASONS = ["外出培训，回来后补录", "手机故障，延后登记", "出差期间无法登录平台"]


def seed(*, rng: random.Random, generated: bool, echo: Callable[[str], None]) -> None:
    """Fill in this feature's demo data (bulk inserts when ``generated`` is a city-scale run)."""
    started = monotonic()
    today = local_today()
    communities = [
        row
        for row in db.session.execute(
            select(Area.id, Area.name, Area.path)
            .where(Area.level == "community", Area.active.is_(True))
            .order_by(Area.id)
        )
    ]
    if not communities:
        return
    home = next((c for c in communities if c.name == HOME_COMMUNITY), communities[0])
    members = [
        row
        for row in db.session.execute(
            select(Member.id, Member.user_id).where(Member.active.is_(True)).order_by(Member.id)
        )
    ]
    where = _confirmed_communities()
    members = [m for m in members if m.id in where]  # only members who reported in serve somewhere
    secretaries = _secretaries()
    paths = {c.id: c.path for c in communities}
    needs = _needs_by_community()
    demo_member = db.session.scalar(
        select(Member.id).join(User, Member.user_id == User.id).where(User.username == "member")
    )
    plan = _Plan(rng, today, generated, secretaries, paths, needs)
    for member_id, user_id in members:
        community_id = where[member_id]
        plan.member(member_id, user_id, community_id, home_id=home.id, demo=member_id == demo_member)
        if len(plan.records) >= CHUNK:
            plan.flush()
    plan.home_queue(home.id, [m for m in members if where[m.id] == home.id])
    plan.flush()
    reset_sequences(("report_in", "service_record", "audit_entry", "year_rule"))
    echo(f"service: {plan.total} records in {monotonic() - started:.1f} s")


def _confirmed_communities() -> dict[int, int]:
    """Each member's confirmed report-in community (the report-in seeder decides who reported in where)."""
    return dict(
        db.session.execute(
            select(ReportIn.member_id, ReportIn.community_id).where(
                ReportIn.kind == "member", ReportIn.status == "confirmed"
            )
        )
        .tuples()
        .all()
    )


def _secretaries() -> dict[int, int]:
    """community id → the user id of its secretary (the one who decides its entries)."""
    return dict(
        db.session.execute(
            select(RoleGrant.area_id, func.min(RoleGrant.user_id))
            .where(RoleGrant.role == Role.community_secretary.value, RoleGrant.area_id.is_not(None))
            .group_by(RoleGrant.area_id)
        )
        .tuples()
        .all()
    )


def _needs_by_community() -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for need_id, community_id in db.session.execute(select(Need.id, Need.community_id)):
        found.setdefault(community_id, []).append(need_id)
    return found


def _utc(day: date, hour: int, minute: int = 0) -> datetime:
    """A local (Asia/Shanghai) moment as the naive UTC the columns store."""
    return datetime.combine(day, time(hour, minute)) - timedelta(hours=8)


class _Plan:
    def __init__(
        self,
        rng: random.Random,
        today: date,
        generated: bool,
        secretaries: dict[int, int],
        paths: dict[int, str],
        needs: dict[int, list[int]],
    ) -> None:
        self.rng = rng
        self.today = today
        self.generated = generated
        self.secretaries = secretaries
        self.paths = paths
        self.needs = needs
        self.start = date(today.year - 1, 1, 1)
        self.span = (today - self.start).days
        self.now = utcnow()
        self.next_id = (db.session.scalar(select(func.max(ServiceRecord.id))) or 0) + 1
        self.next_audit = (db.session.scalar(select(func.max(AuditEntry.id))) or 0) + 1
        self.records: list[dict] = []
        self.audits: list[dict] = []
        self.total = 0
        self.used: dict[int, set[date]] = {}

    # -- one record
    def add(
        self,
        member_id: int,
        user_id: int | None,
        community_id: int,
        day: date,
        status: str,
        *,
        submitted_days: int | None = None,
        reason: str = "",
    ) -> None:
        rng = self.rng
        content, place = rng.choice(ACTIVITIES)
        half_hours = rng.choice((2, 2, 3, 4, 4, 4, 5, 6, 6, 8))
        start_time = end_time = None
        if rng.random() < 0.6:
            start_hour = rng.choice((8, 9, 9, 10, 14, 15, 19))
            start_time = time(start_hour, 0)
            end_minutes = start_hour * 60 + half_hours * 30
            end_time = time(end_minutes // 60, end_minutes % 60)
        late = False
        if submitted_days is None:
            submitted_days = rng.choice((0, 0, 0, 1, 1, 2, 3, 5))
            if rng.random() < 0.04 and (self.today - day).days > 40:
                submitted_days = rng.randint(20, 35)
                late = True
        submitted_day = min(day + timedelta(days=submitted_days), self.today)
        submitted_at = min(_utc(submitted_day, rng.randint(8, 21), rng.randint(0, 59)), self.now)
        decider = self.secretaries.get(community_id)
        decided_at = None
        if status != "submitted" and status != "withdrawn":
            decided_at = min(submitted_at + timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 8)), self.now)
        need_ids = self.needs.get(community_id)
        record_id = self.next_id
        self.next_id += 1
        self.records.append(
            {
                "id": record_id,
                "member_id": member_id,
                "community_id": community_id,
                "need_id": rng.choice(need_ids) if need_ids and rng.random() < 0.3 else None,
                "service_date": day,
                "year": day.year,
                "start_time": start_time,
                "end_time": end_time,
                "half_hours": half_hours,
                "place": place,
                "content": content,
                "organizer": "",
                "person_in_charge": "",
                "status": status,
                "late": late,
                "late_reason": rng.choice(LATE_REASONS) if late else "",
                "recorded_by_organizer": False,
                "reason": reason,
                "created_at": submitted_at,
                "created_by_id": user_id,
                "submitted_at": submitted_at,
                "decided_at": decided_at,
                "decided_by_id": decider if decided_at else None,
            }
        )
        if not self.generated:
            self._history(
                record_id,
                member_id,
                user_id,
                community_id,
                status,
                submitted_at,
                decided_at,
                decider,
                reason,
                half_hours,
                day,
            )

    def _history(
        self,
        record_id: int,
        member_id: int,
        user_id: int | None,
        community_id: int,
        status: str,
        submitted_at: datetime,
        decided_at: datetime | None,
        decider: int | None,
        reason: str,
        half_hours: int,
        day: date,
    ) -> None:
        path = self.paths[community_id]
        hours = f"{half_hours // 2}.5" if half_hours % 2 else str(half_hours // 2)
        steps = [("service.logged", submitted_at, user_id, None, {"status": "submitted"})]
        if status in ("approved", "returned", "rejected"):
            after = {"status": status, **({"reason": reason} if reason else {})}
            steps.append((f"service.{status}", decided_at, decider, {"status": "submitted"}, after))
        elif status == "revoked":
            steps.append(("service.approved", decided_at, decider, {"status": "submitted"}, {"status": "approved"}))
            later = min(decided_at + timedelta(days=20), self.now) if decided_at else self.now
            steps.append(
                ("service.revoked", later, decider, {"status": "approved"}, {"status": "revoked", "reason": reason})
            )
        elif status == "withdrawn":
            steps.append(
                (
                    "service.withdrawn",
                    submitted_at + timedelta(hours=2),
                    user_id,
                    {"status": "submitted"},
                    {"status": "withdrawn"},
                )
            )
        import json

        for action, at, actor, before, after in steps:
            self.audits.append(
                {
                    "id": self.next_audit,
                    "at": at or self.now,
                    "actor_id": actor,
                    "action": action,
                    "object_type": "ServiceRecord",
                    "object_id": record_id,
                    "summary": f"{day.isoformat()} {hours} h",
                    "before": json.dumps(before, ensure_ascii=False) if before else None,
                    "after": json.dumps(after, ensure_ascii=False),
                    "ip": "",
                    "scope_path": path,
                }
            )
            self.next_audit += 1

    def _free_day(self, member_id: int, low: date, high: date) -> date | None:
        used = self.used.setdefault(member_id, set())
        for _ in range(8):
            day = low + timedelta(days=self.rng.randint(0, max((high - low).days, 0)))
            if day not in used:
                used.add(day)
                return day
        return None

    # -- a member's two years
    def member(self, member_id: int, user_id: int | None, community_id: int, *, home_id: int, demo: bool) -> None:
        rng = self.rng
        count = rng.choice((3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 18)) if not demo else 12
        for _ in range(count):
            day = self._free_day(member_id, self.start, self.today)
            if day is None:
                continue
            age = (self.today - day).days
            roll = rng.random()
            reason = ""
            if age <= 14 and community_id != home_id:
                status = "submitted" if roll < 0.55 else "approved"
            elif roll < 0.86 or (community_id == home_id and age <= 14):
                status = "approved"
            elif roll < 0.90:
                status, reason = "returned", rng.choice(RETURN_REASONS)
            elif roll < 0.92:
                status, reason = "rejected", rng.choice(REJECT_REASONS)
            elif roll < 0.95:
                status = "withdrawn"
            elif roll < 0.96:
                status, reason = "revoked", rng.choice(REVOKE_REASONS)
            elif community_id != home_id and age <= 60:
                status = "submitted"  # waiting too long somewhere: shows as overdue
            else:
                status = "approved"
            if status == "returned" and age > 120:
                status, reason = "approved", ""  # old returns have long been fixed
            self.add(member_id, user_id, community_id, day, status, reason=reason)
        if demo:  # the demo member always has one returned and one pending entry to look at
            for status, reason in (("returned", RETURN_REASONS[0]), ("submitted", "")):
                day = self._free_day(member_id, self.today - timedelta(days=6), self.today - timedelta(days=1))
                if day is not None:
                    self.add(member_id, user_id, community_id, day, status, reason=reason, submitted_days=0)

    def home_queue(self, home_id: int, members: list) -> None:
        """About 40 pending entries at 翠湖社区, a third of them waiting longer than a week."""
        if not members:
            return
        waiting = sum(1 for r in self.records if r["community_id"] == home_id and r["status"] == "submitted")
        for index in range(max(HOME_PENDING - waiting, 0)):
            member_id, user_id = self.rng.choice(members)
            overdue = index % 3 == 0
            low = self.today - timedelta(days=30 if overdue else 6)
            high = self.today - timedelta(days=9 if overdue else 0)
            day = self._free_day(member_id, low, high)
            if day is None:
                continue
            self.add(member_id, user_id, home_id, day, "submitted", submitted_days=0)

    def flush(self) -> None:
        if self.records:
            bulk_insert(ServiceRecord, self.records)
            self.total += len(self.records)
            self.records.clear()
        if self.audits:
            bulk_insert(AuditEntry, self.audits)
            self.audits.clear()
