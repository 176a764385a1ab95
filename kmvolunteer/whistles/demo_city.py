"""The generated city's whistles (`flask seed-demo --scale city`): three years of them, about forty a year
per community (the city counted 19,226 in a year: 91 % community → subdistrict, 8.6 % subdistrict →
district, a few district → city), bulk-inserted, as the services would have written them.

Each whistle is played out from the moment it is blown, step by step, up to now: its summonses' deadlines
from deadlines.py, each step's status change and audit entry (with ``late`` as services._step writes it),
progress notes, settling, rating, closing; a decline the blower re-routes; a summons left without its step
that the worker's pass escalates a few minutes after the deadline (a new linked whistle one tier up, which
its area routes); a whistle blown one tier up by hand; a 不满意 that sends the work back. What has not
happened by now is not written, so the recent whistles are under way. District whistles (nothing above
them to escalate to) may be handled late, and some of those are overdue now.

Rows get their ids here and are written in chunks with ``insert()``: the services, one by one, would take
hours for 60,000 whistles.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from kmvolunteer.auth.models import Role, RoleGrant
from kmvolunteer.auth.policy import BLOWERS
from kmvolunteer.core import audit
from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.core.db import bulk_insert
from kmvolunteer.core.time import LOCAL_TZ, to_local, utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area, Department
from kmvolunteer.whistles import deadlines
from kmvolunteer.whistles.models import (
    TIERS,
    EscalationReason,
    Rating,
    Summons,
    SummonsProgress,
    SummonsStatus,
    Urgency,
    Whistle,
    WhistleStatus,
)
from kmvolunteer.whistles.services import ESCALATES, ensure_default_categories
from kmvolunteer.years.workdays import overrides_between

YEARS = 3
PER_COMMUNITY_YEAR = 40  # 500 communities: 20,000 whistles a year
# Of the whistles first blown: the escalations (about 2 % of the lower tiers') then add to the tiers above,
# to the article's mix of 91 % / 8.6 % / 0.2 %.
TIER_SHARE = {"community": 0.93, "subdistrict": 0.068, "district": 0.002}
URGENT = 0.12
DEPARTMENTS_SUMMONED = ((1, 0.85), (2, 0.12), (3, 0.03))
# What becomes of a summons: declined (the blower re-routes), left without a step (escalated by the pass,
# or late for a district's whistle), else worked through.
DECLINED = 0.05
STALLED = 0.015
LATE_STEP = 0.05  # a step taken late: by minutes before the pass, by hours for a district's whistle
MANUAL_ESCALATION = 0.005
RATINGS = ((Rating.satisfied.value, 0.78), (Rating.basic.value, 0.18), (Rating.unsatisfied.value, 0.04))
LEFT_HANDLED = 0.04  # the blower never closes it
PASS_MINUTES = 5  # the worker's whistle pass interval (config.JobSettings default)

TEXTS = {
    "道路交通": [
        ("{street}路面坑洼", "{address}路段路面出现多处坑洼，雨天积水，电动车通行存在安全隐患。"),
        ("{street}井盖破损", "{address}门前雨水井盖破损松动，行人易踩空。"),
        ("{street}路灯不亮", "{address}附近 5 盏路灯损坏，居民夜间出行不便。"),
    ],
    "供水排水": [
        ("{street}下水道堵塞", "{address}污水井堵塞外溢，异味严重，影响居民出行。"),
        ("{street}停水未通知", "{address}连续两天停水，物业称管网故障，请求供水部门查明。"),
    ],
    "环境卫生": [
        ("{street}垃圾清运不及时", "{address}垃圾收集点满溢，已三天未清运。"),
        ("{street}油烟扰民", "{address}底商餐馆未安装油烟净化设施，楼上住户反映强烈。"),
    ],
    "安全隐患": [
        ("{street}电动车楼道充电", "{address}多户居民在楼道内为电动车充电，存在火灾隐患。"),
        ("{street}广告牌松动", "{address}临街广告牌固定件锈蚀松动，大风天有坠落风险。"),
    ],
    "住房物业": [
        ("{street}屋面漏水", "{address}老旧小区屋面防水层老化，雨天多户漏水。"),
        ("{street}电梯故障", "{address}小区电梯频繁故障，物业维修不及时，老人上下楼困难。"),
    ],
    "市场秩序": [
        ("{street}占道经营", "{address}早市摊贩占用人行道，影响通行。"),
        ("{street}无证经营", "{address}有商户无证经营，居民多次反映。"),
    ],
    "其他": [("{street}噪音扰民", "{address}附近工地夜间施工，噪音扰民。")],
}
STREETS = ("青年路", "人民中路", "北京路", "东风西路", "金碧路", "白塔路", "环城南路", "春城路", "滇池路", "学府路")
PLACES = ("", "", "第一网格", "第二网格", "第三网格", "阳光小区", "金色家园")
NOTES = ("已电话联系社区书记，约定上门查看。", "已与吹哨人电话沟通，了解具体情况。", "已派人到现场核实。")
PROGRESS = ("已到现场查看，安排人员处理。", "已协调施工班组，材料已到位。", "已约谈相关责任方，限期整改。")
RESULTS = ("已处理完毕，现场恢复正常。", "已完成整改，经现场复核无问题。", "已修复，并安排后续巡查。")
DECLINE_REASONS = ("该事项不属于本部门职责，建议联系住建部门。", "经核实属物业管理范围，请转相关部门。")
UNSATISFIED = ("问题仍未彻底解决，居民仍有反映。", "整改不到位，请重新处理。")
COMMENTS = ("处理及时，居民满意。", "", "", "态度很好，效果明显。")
MANUAL_REASONS = ("问题涉及多个部门，需上级协调解决。", "街道层面无法解决，请求区级部门支持。")


def _pick(rng: random.Random, weighted: tuple[tuple[Any, float], ...]) -> Any:
    return rng.choices([v for v, _w in weighted], [w for _v, w in weighted])[0]


@dataclass
class _Place:
    id: int
    name: str
    level: str
    path: str
    parent_id: int | None
    staff: int | None  # the user who blows its whistles
    departments: list[tuple[int, str, int | None]] = field(default_factory=list)  # (id, name, officer) summoned


class _Writer:
    """Rows with ids given here, written some 20,000 audit entries at a time, in the order the foreign keys
    need."""

    CHUNK = 20_000
    ORDER = (Whistle, Summons, SummonsProgress, AuditEntry)

    def __init__(self) -> None:
        self.rows: dict[type, list[dict]] = {model: [] for model in self.ORDER}
        self.next_id = {model: (db.session.scalar(select(func.max(model.id))) or 0) + 1 for model in self.ORDER}
        self.written = dict.fromkeys(self.ORDER, 0)

    def new_id(self, model: type) -> int:
        value = self.next_id[model]
        self.next_id[model] += 1
        return value

    def add(self, model: type, row: dict) -> None:
        self.rows[model].append(row)

    def flush(self, force: bool = False) -> None:
        if not force and len(self.rows[AuditEntry]) < self.CHUNK:
            return
        for model in self.ORDER:
            rows = self.rows[model]
            bulk_insert(model, rows)
            self.written[model] += len(rows)
            rows.clear()


class _City:
    def __init__(self, rng: random.Random, now: datetime, writer: _Writer) -> None:
        self.rng, self.now, self.out = rng, now, writer
        self.categories = [(c.id, c.name) for c in ensure_default_categories()]
        self.places = self._places()
        first = (now - timedelta(days=365 * YEARS + 1)).date()
        self.overrides = overrides_between(first, now.date() + timedelta(days=deadlines.HORIZON_DAYS))
        self.periods = deadlines.working_periods()
        self.limits = {(t, u.value): deadlines.limits_for(t, u.value) for t in TIERS for u in Urgency}
        self.queue: list[tuple[datetime, int, dict]] = []  # whistles to blow, by time
        self.serial = 0

    def _places(self) -> dict[int, _Place]:
        places = {
            a.id: _Place(a.id, a.name, a.level, a.path, a.parent_id, None)
            for a in db.session.execute(select(Area.id, Area.name, Area.level, Area.path, Area.parent_id))
        }
        blower_roles = {role.value: level for level, role in BLOWERS.items()}
        grants = select(RoleGrant.user_id, RoleGrant.role, RoleGrant.area_id, RoleGrant.department_id).order_by(
            RoleGrant.id
        )
        officers: dict[int, int] = {}
        for user_id, role, area_id, department_id in db.session.execute(grants):
            if area_id in places and blower_roles.get(role) == places[area_id].level:
                places[area_id].staff = places[area_id].staff or user_id
            elif role == Role.department_officer.value:
                officers.setdefault(department_id, user_id)
        departments = select(Department.id, Department.name, Department.area_id).where(Department.active.is_(True))
        for department_id, name, area_id in db.session.execute(departments.order_by(Department.id)):
            places[area_id].departments.append((department_id, name, officers.get(department_id)))
        return places

    # ----------------------------------------------------------------------- time

    def _moment(self, day_offset: float) -> datetime:
        """A moment ``day_offset`` days before now, moved into office hours mostly (local time)."""
        local = to_local(self.now - timedelta(days=day_offset)).replace(tzinfo=None)
        hour = self.rng.choice((8, 9, 9, 10, 10, 11, 14, 14, 15, 15, 16, 17, 19, 21))
        local = datetime.combine(local.date(), time(hour, self.rng.randrange(60), self.rng.randrange(60)))
        moment = local.replace(tzinfo=LOCAL_TZ).astimezone(UTC).replace(tzinfo=None)
        return moment if moment < self.now else moment - timedelta(days=1)

    def _between(self, start: datetime, end: datetime, low: float = 0.05, high: float = 0.9) -> datetime:
        return start + (end - start) * self.rng.uniform(low, high)

    # ----------------------------------------------------------------------- rows

    def _audit(self, at: datetime, action: str, kind: str, obj_id: int, place: _Place, summary: str, **kw) -> None:
        row = audit.row(action, kind, obj_id, scope_path=place.path, summary=summary, at=at, **kw)
        row["id"] = self.out.new_id(AuditEntry)
        self.out.add(AuditEntry, row)

    def plan(self) -> int:
        """The whistles of YEARS years, queued by the moment each is blown."""
        levels = {level: [p for p in self.places.values() if p.level == level and p.staff] for level in TIERS}
        communities = len(levels["community"])
        for level, share in TIER_SHARE.items():
            blowing = [p for p in levels[level] if self.places[p.parent_id].departments]
            for _n in range(round(communities * PER_COMMUNITY_YEAR * YEARS * share) if blowing else 0):
                self._queue(self._moment(self.rng.uniform(0, 365 * YEARS)), self._new(self.rng.choice(blowing)))
        return len(self.queue)

    def _new(self, place: _Place) -> dict:
        """What ``place``'s staff write when they blow a whistle."""
        rng = self.rng
        category_id, category = rng.choice(self.categories)
        title, problem = rng.choice(TEXTS.get(category, TEXTS["其他"]))
        street = rng.choice(STREETS)
        address = f"{street}{rng.randint(1, 300)}号"
        return {
            "title": title.format(street=street),
            "problem": problem.format(address=address),
            "address": address,
            "place": rng.choice(PLACES),
            "category_id": category_id,
            "urgency": Urgency.urgent.value if rng.random() < URGENT else Urgency.normal.value,
            "area_id": place.id,
            "blower_id": place.staff,
        }

    def _queue(self, at: datetime, row: dict) -> None:
        self.serial += 1
        heapq.heappush(self.queue, (at, self.serial, row))

    def play(self) -> None:
        while self.queue:
            at, _serial, row = heapq.heappop(self.queue)
            _Whistle(self, row, at).play()
            self.out.flush()
        self.out.flush(force=True)


class _Whistle:
    """One whistle played from its blowing to now (or to its escalation). Its area's staff account (who blew
    it, or who took it over when it was escalated to the area) routes, rates and closes it."""

    def __init__(self, city: _City, row: dict, at: datetime) -> None:
        self.city, self.rng = city, city.rng
        self.place = city.places[row["area_id"]]
        self.id = city.out.new_id(Whistle)
        self.row = {
            "id": self.id,
            "status": WhistleStatus.open.value,
            "reason": row.pop("reason", ""),
            "escalated_from_id": row.pop("escalated_from_id", None),
            "escalation_reason": row.pop("escalation_reason", ""),
            "created_at": at,
            "handled_at": None,
            "closed_at": None,
            **row,
        }
        self.serial = f"CS{at.year}-{self.id:06d}"
        self.limits = city.limits[(self.place.level, self.row["urgency"])]
        self.end = city.now  # nothing after this happens: now, or the whistle's escalation
        self.summonses: list[dict] = []

    # ----------------------------------------------------------------------- writing

    def _audit(self, at: datetime, action: str, summary: str | None = None, **kw) -> None:
        self.city._audit(at, action, "Whistle", self.id, self.place, summary or self.serial, **kw)

    def _summons_audit(self, s: dict, at: datetime, action: str, suffix: str = "", **kw) -> None:
        summary = f"{self.serial} {s['_name']}{suffix}"
        self.city._audit(at, action, "Summons", s["id"], self.place, summary, **kw)

    def _move(self, s: dict, at: datetime, action: str, target: str, actor: int | None, late_of: str = "", **kw):
        """A transition of summons ``s`` as SUMMONSES.perform writes it (with ``late`` as services._step)."""
        after = {"status": target, **kw.pop("after", {})}
        if late_of:
            after["late"] = at > s[late_of]
        before = {"status": s["status"], **kw.pop("before", {})}
        s["status"] = target
        self._summons_audit(s, at, action, before=before, after=after, actor_id=actor)

    def _whistle_move(self, at: datetime, action: str, target: str, actor: int | None, **kw) -> None:
        before, after = (
            {"status": self.row["status"], **kw.pop("before", {})},
            {"status": target, **kw.pop("after", {})},
        )
        self.row["status"] = target
        self._audit(at, action, before=before, after=after, actor_id=actor)

    # ----------------------------------------------------------------------- the story

    def play(self) -> None:
        row, city = self.row, self.city
        self._audit(
            row["created_at"],
            "whistle.blown",
            f"{self.serial} {row['title']}",
            after={"title": row["title"], "urgency": row["urgency"], "escalation_reason": row["escalation_reason"]},
            actor_id=row["blower_id"],
        )
        choices = self.place_departments()
        if row["escalated_from_id"] is None:
            count = min(_pick(self.rng, DEPARTMENTS_SUMMONED), len(choices))
            self._summon(row["created_at"], self.rng.sample(choices, count), row["blower_id"])
        else:  # escalated here: the area routes it after a while
            routed = row["created_at"] + timedelta(hours=self.rng.uniform(0.3, 20))
            if routed <= self.end and choices:
                self._summon(routed, [self.rng.choice(choices)], self.place.staff)
        manual = None
        if self.rng.random() < MANUAL_ESCALATION and self.place.level in ESCALATES:
            manual = row["created_at"] + timedelta(hours=self.rng.uniform(4, 60))  # a day or two later
            self.end = min(self.end, manual)
        for s in list(self.summonses):  # a re-routed summons is worked on by _decline
            self._work(s)
        self._settle_and_rate()
        if manual is not None and manual <= city.now:  # unless the pass escalated it before
            self._escalate(manual, EscalationReason.manual, self.rng.choice(MANUAL_REASONS), self.place.staff)
        city.out.add(Whistle, row)
        for s in self.summonses:
            city.out.add(Summons, {k: v for k, v in s.items() if not k.startswith("_")})

    def place_departments(self) -> list[tuple[int, str, int | None]]:
        return self.city.places[self.place.parent_id].departments

    def _summon(self, at: datetime, departments: list, actor: int | None) -> None:
        due = deadlines.deadlines_from(at, self.limits, self.city.overrides)
        for department_id, name, officer in departments:
            s = {
                "id": self.city.out.new_id(Summons),
                "whistle_id": self.id,
                "department_id": department_id,
                "status": SummonsStatus.summoned.value,
                "summoned_at": at,
                "sign_due_at": due.sign,
                "contact_due_at": due.contact,
                "handle_due_at": due.handle,
                "signed_at": None,
                "signed_by_id": None,
                "contacted_at": None,
                "contact_note": "",
                "handled_at": None,
                "handled_by_id": None,
                "result": "",
                "reason": "",
                "rating": None,
                "rating_comment": "",
                "rated_at": None,
                "rated_by_id": None,
                "unsatisfied_count": 0,
                "_name": name,
                "_officer": officer,
            }
            self.summonses.append(s)
            after = {"sign_due_at": due.sign, "contact_due_at": due.contact, "handle_due_at": due.handle}
            self._summons_audit(s, at, "summons.summoned", after=after, actor_id=actor)

    def _first_due(self, s: dict) -> datetime:
        """The earliest deadline of ``s`` whose step is not taken: what the pass judges it by."""
        open_steps = [s["handle_due_at"]]
        if s["signed_at"] is None:
            open_steps.append(s["sign_due_at"])
        if s["contacted_at"] is None:
            open_steps.append(s["contact_due_at"])
        return min(open_steps)

    def _take(self, s: dict, start: datetime, due_column: str | None) -> datetime | None:
        """When the next step of ``s`` is taken (``due_column`` None: never): before the earliest open
        deadline mostly; late by minutes on a whistle the pass escalates (later, and the pass escalates it
        first), by hours on a district's whistle. None when it has not happened by the end."""
        first = self._first_due(s)
        if due_column is None:
            at = None
        elif self.rng.random() >= LATE_STEP:
            at = self.city._between(start, max(min(s[due_column], first), start + timedelta(minutes=5)))
        elif self.place.level in ESCALATES:
            at = max(start, s[due_column]) + timedelta(minutes=self.rng.uniform(0.2, PASS_MINUTES - 1))
        else:
            at = max(start, s[due_column]) + timedelta(hours=self.rng.uniform(0.5, 30))
        if self.place.level in ESCALATES and (at is None or at > first + timedelta(minutes=PASS_MINUTES)):
            passed = first + timedelta(minutes=self.rng.uniform(0.5, PASS_MINUTES))
            reason = _("%(department)s passed a deadline.", department=s["_name"])
            self._escalate(passed, EscalationReason.overdue, reason, None)
            return None
        return at if at is not None and at <= self.end else None

    def _work(self, s: dict) -> None:
        """The department's steps on ``s`` up to the end."""
        rng, officer = self.rng, s["_officer"]
        fate = rng.random()
        if fate < DECLINED:
            return self._decline(s)
        stall = ""
        if fate < DECLINED + STALLED and (self.place.level in ESCALATES or rng.random() < 0.2):
            stall = rng.choice(("sign", "sign", "sign", "contact", "handle"))
        signed = self._take(s, s["summoned_at"], None if stall == "sign" else "sign_due_at")
        if signed is None:
            return None
        self._move(s, signed, "summons.signed", SummonsStatus.signed.value, officer, "sign_due_at")
        s.update(signed_at=signed, signed_by_id=officer)
        contacted = self._take(s, signed, None if stall == "contact" else "contact_due_at")
        if contacted is None:
            return None
        note = rng.choice(NOTES)
        self._move(s, contacted, "summons.contacted", "contacted", officer, "contact_due_at", after={"note": note})
        s.update(contacted_at=contacted, contact_note=note)
        return self._handle(s, contacted, stall == "handle")

    def _handle(self, s: dict, start: datetime, stalled: bool = False) -> datetime | None:
        handled = self._take(s, start, None if stalled else "handle_due_at")
        progress = self.city._between(start, handled or self.end, 0.2, 0.8)
        if progress <= self.end:
            self._progress(s, progress)
        if handled is None:
            return None
        result = self.rng.choice(RESULTS)
        officer = s["_officer"]
        self._move(s, handled, "summons.handled", "handled", officer, "handle_due_at", after={"result": result})
        s.update(handled_at=handled, handled_by_id=officer, result=result)
        return handled

    def _progress(self, s: dict, at: datetime) -> None:
        text = self.rng.choice(PROGRESS)
        progress_id = self.city.out.new_id(SummonsProgress)
        self.city.out.add(SummonsProgress, {"id": progress_id, "summons_id": s["id"], "text": text,
                                            "by_id": s["_officer"], "at": at})  # fmt: skip
        after = {"progress_id": progress_id}
        self._summons_audit(s, at, "summons.progress", f": {text}", after=after, actor_id=s["_officer"])

    def _decline(self, s: dict) -> None:
        """Not the department's matter (declined at once, or after signing): the blower summons another."""
        rng = self.rng
        at = self._take(s, s["summoned_at"], "sign_due_at")
        if at is None:
            return
        if rng.random() < 0.3:
            self._move(s, at, "summons.signed", "signed", s["_officer"], "sign_due_at")
            s.update(signed_at=at, signed_by_id=s["_officer"])
            at = self._take(s, at, "contact_due_at")
            if at is None:
                return
        reason = rng.choice(DECLINE_REASONS)
        self._move(
            s, at, "summons.declined", "declined", s["_officer"], before={"reason": ""}, after={"reason": reason}
        )
        s.update(reason=reason, _declined_at=at)
        others = [d for d in self.place_departments() if d[0] not in {x["department_id"] for x in self.summonses}]
        rerouted = at + timedelta(hours=rng.uniform(0.3, 6))
        if others and rerouted <= self.end:
            self._summon(rerouted, [rng.choice(others)], self.place.staff)
            self._work(self.summonses[-1])

    def _escalate(self, at: datetime, kind: EscalationReason, reason: str, actor: int | None) -> None:
        if self.row["status"] not in (WhistleStatus.open.value, WhistleStatus.handled.value) or at > self.end:
            return
        old = self.row["reason"]
        self.row["reason"] = reason
        self._whistle_move(
            at,
            "whistle.escalated",
            WhistleStatus.escalated.value,
            actor,
            before={"reason": old},
            after={"reason": reason, "escalation_reason": kind.value},
        )
        self.end = at
        template = {k: self.row[k] for k in ("title", "problem", "address", "place", "category_id", "urgency")}
        higher = {**template, "area_id": self.place.parent_id, "blower_id": actor, "reason": reason}
        higher |= {"escalated_from_id": self.id, "escalation_reason": kind.value}
        self.city._queue(at, higher)

    def _settle_and_rate(self) -> None:
        """Handled once no summons is left to act on (at its last handling or decline); the blower rates
        each, then closes it."""
        live = [s for s in self.summonses if s["status"] != SummonsStatus.declined.value]
        if not live or any(s["status"] != SummonsStatus.handled.value for s in live):
            return
        settled = max(
            [s["handled_at"] for s in live] + [s["_declined_at"] for s in self.summonses if "_declined_at" in s]
        )
        self._whistle_move(settled, "whistle.handled", WhistleStatus.handled.value, None)
        self.row["handled_at"] = settled
        last = settled
        for s in live:
            rated = settled + timedelta(hours=self.rng.uniform(0.5, 40))
            last = max(last, self._rate(s, rated))
        if any(s["status"] != SummonsStatus.rated.value for s in live) or self.rng.random() < LEFT_HANDLED:
            return
        closed = last + timedelta(hours=self.rng.uniform(0.1, 24))
        if closed <= self.end and self.row["status"] == WhistleStatus.handled.value:
            self._whistle_move(closed, "whistle.closed", WhistleStatus.closed.value, self.place.staff)
            self.row["closed_at"] = closed

    def _rate(self, s: dict, at: datetime) -> datetime:
        """The blower's rating; 不满意 sends it back (the whistle reopens), and the department handles it
        again; twice 不满意, and the pass escalates the whistle."""
        if at > self.end or self.rng.random() < LEFT_HANDLED / 2:
            return at
        blower = self.place.staff
        rating = _pick(self.rng, RATINGS)
        if s["unsatisfied_count"] >= 2 or len(self.summonses) > 1:  # (one 不满意 cycle at a time, kept simple)
            rating = rating if rating != Rating.unsatisfied.value else Rating.basic.value
        values = {"rating": rating, "rated_at": at, "rated_by_id": blower}
        if rating != Rating.unsatisfied.value:
            comment = self.rng.choice(COMMENTS)
            self._move(s, at, "summons.rated", SummonsStatus.rated.value, blower, after={"rating": rating})
            s.update(values, rating_comment=comment)
            return at
        comment = self.rng.choice(UNSATISFIED)
        due = deadlines.add_working_days(at, self.limits.handle_days, self.city.periods, self.city.overrides)
        old = s["reason"]
        self._move(s, at, "summons.rated_unsatisfied", "contacted", blower,
                   before={"reason": old}, after={"rating": rating, "reason": comment})  # fmt: skip
        s.update(values, rating_comment=comment, unsatisfied_count=s["unsatisfied_count"] + 1, handle_due_at=due,
                 handled_at=None, handled_by_id=None, reason=comment)  # fmt: skip
        if self.row["status"] in (WhistleStatus.handled.value, WhistleStatus.closed.value):
            old = self.row["reason"]
            self.row["reason"] = comment
            self._whistle_move(at, "whistle.reopened", WhistleStatus.open.value, blower,
                               before={"reason": old}, after={"reason": comment})  # fmt: skip
        if s["unsatisfied_count"] >= 2 and self.place.level in ESCALATES:
            reason = _("%(department)s was rated unsatisfied twice.", department=s["_name"])
            self._escalate(at + timedelta(minutes=self.rng.uniform(0.5, PASS_MINUTES)),
                           EscalationReason.unsatisfied, reason, None)  # fmt: skip
            return at
        handled = self._handle(s, at)
        if handled is None or any(x["status"] in ("summoned", "signed", "contacted") for x in self.summonses):
            return at
        self._whistle_move(handled, "whistle.handled", WhistleStatus.handled.value, None)
        self.row["handled_at"] = handled
        return self._rate(s, handled + timedelta(hours=self.rng.uniform(0.5, 40)))


def seed(rng: random.Random, echo: Callable[[str], None]) -> dict[str, int]:
    """Write the generated city's whistles; returns what was written, by table."""
    writer = _Writer()
    city = _City(rng, utcnow(), writer)
    planned = city.plan()
    echo(f"whistles: playing {planned} (and their escalations) over {YEARS} years…")
    city.play()
    counts = {model.__tablename__: writer.written[model] for model in writer.ORDER}
    echo(", ".join(f"{name}: {count}" for name, count in counts.items()))
    return counts
