"""A small city for tests: two districts, three communities, two agencies, one user per role."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from functools import cache

from werkzeug.security import generate_password_hash

from kmvolunteer.auth.models import Role, RoleGrant, User
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Agency, Area, Branch, Department, Member


def make_area(name: str, level: str, parent: Area | None = None) -> Area:
    area = Area(name=name, level=level, parent=parent)
    db.session.add(area)
    db.session.flush()
    area.path = f"{parent.path if parent else '/'}{area.id}/"
    return area


@cache
def _password_hash(password: str) -> str:
    """Hashed once per password and reused: a test's dozen users need not each pay for it."""
    return generate_password_hash(password, method="pbkdf2:sha256:1000")


def make_user(username: str, password: str, home_area: Area, *grants: RoleGrant, name: str | None = None) -> User:
    user = User(
        username=username,
        display_name=name or username,
        home_area=home_area,
        password_hash=_password_hash(password),
        grants=list(grants),
    )
    db.session.add(user)
    return user


def make_member(name: str, phone: str, branch: Branch, user: User | None = None) -> Member:
    member = Member(name=name, phone=phone, post="科员", branch=branch, user=user)
    db.session.add(member)
    return member


@dataclass
class World:
    city: Area
    district: Area
    other_district: Area
    subdistrict: Area
    community: Area
    community2: Area
    other_community: Area
    agency: Agency
    branch: Branch
    branch2: Branch
    other_agency: Agency
    other_branch: Branch
    department: Department
    users: dict[str, User] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def attached(self) -> World:
        """Copies of the (committed, detached) objects in the current session, loaded from the database as
        they are used, like objects just committed."""

        def copy(thing):
            return db.session.merge(thing, load=False)

        places = {
            f.name: copy(getattr(self, f.name)) for f in fields(self) if f.name not in ("users", "members", "extra")
        }
        return replace(
            self,
            **places,
            users={name: copy(user) for name, user in self.users.items()},
            members={name: copy(member) for name, member in self.members.items()},
            extra={},
        )


def build_world(password: str) -> World:
    city = make_area("昆明市", "city")
    district = make_area("五华区", "district", city)
    other_district = make_area("官渡区", "district", city)
    subdistrict = make_area("华山街道", "subdistrict", district)
    community = make_area("翠湖社区", "community", subdistrict)
    community2 = make_area("文化巷社区", "community", subdistrict)
    other_sub = make_area("关上街道", "subdistrict", other_district)
    other_community = make_area("云秀社区", "community", other_sub)
    agency = Agency(name="五华区民政局", area=district)
    branch = Branch(name="机关党支部", agency=agency)
    branch2 = Branch(name="离退休干部党支部", agency=agency)
    other_agency = Agency(name="官渡区城市管理局", area=other_district)
    other_branch = Branch(name="机关党支部", agency=other_agency)
    department = Department(name="五华区住房和城乡建设局", area=district)
    db.session.add_all([agency, branch, branch2, other_agency, other_branch, department])
    db.session.flush()

    w = World(
        city,
        district,
        other_district,
        subdistrict,
        community,
        community2,
        other_community,
        agency,
        branch,
        branch2,
        other_agency,
        other_branch,
        department,
    )
    u = w.users
    u["city_org"] = make_user("city_org", password, city, RoleGrant(role=Role.org_department.value, area=city))
    u["district_org"] = make_user(
        "district_org", password, district, RoleGrant(role=Role.org_department.value, area=district)
    )
    u["other_org"] = make_user(
        "other_org", password, other_district, RoleGrant(role=Role.org_department.value, area=other_district)
    )
    u["subdistrict_officer"] = make_user(
        "subdistrict_officer", password, district, RoleGrant(role=Role.subdistrict_officer.value, area=subdistrict)
    )
    u["community_secretary"] = make_user(
        "community_secretary", password, district, RoleGrant(role=Role.community_secretary.value, area=community)
    )
    u["other_secretary"] = make_user(
        "other_secretary",
        password,
        other_district,
        RoleGrant(role=Role.community_secretary.value, area=other_community),
    )
    u["branch_secretary"] = make_user(
        "branch_secretary", password, district, RoleGrant(role=Role.branch_secretary.value, branch=branch)
    )
    u["other_branch_secretary"] = make_user(
        "other_branch_secretary",
        password,
        other_district,
        RoleGrant(role=Role.branch_secretary.value, branch=other_branch),
    )
    u["department_officer"] = make_user(
        "department_officer", password, district, RoleGrant(role=Role.department_officer.value, department=department)
    )
    u["member"] = make_user("13800000001", password, district, name="张明")
    u["member2"] = make_user("13800000002", password, district, name="李红")
    u["other_member"] = make_user("13800000003", password, other_district, name="王刚")
    w.members["member"] = make_member("张明", "13800000001", branch, u["member"])
    w.members["member2"] = make_member("李红", "13800000002", branch2, u["member2"])
    w.members["other_member"] = make_member("王刚", "13800000003", other_branch, u["other_member"])
    db.session.commit()
    return w


# --- 双报到 (report-ins) helpers ---


def make_report_in(member: Member, community: Area, status: str = "pending", **fields) -> ReportIn:  # noqa: F821
    """A member report-in in the given state (confirmed ones get a receipt serial)."""
    from kmvolunteer.core.time import utcnow
    from kmvolunteer.reportin.models import ReportIn

    report_in = ReportIn(
        kind="member", member=member, community=community, status=status, submitted_at=utcnow(), **fields
    )
    db.session.add(report_in)
    db.session.flush()
    if status in ("confirmed", "ended"):
        report_in.decided_at = utcnow()
        report_in.serial = report_in.serial or f"BD2026-{report_in.id:06d}"
    return report_in


def make_branch_report_in(branch: Branch, community: Area, status: str = "confirmed") -> ReportIn:  # noqa: F821
    from datetime import date

    from kmvolunteer.core.time import utcnow
    from kmvolunteer.reportin.models import ReportIn

    report_in = ReportIn(
        kind="branch",
        branch=branch,
        community=community,
        status=status,
        term_start=date(2026, 1, 1),
        term_end=date(2027, 12, 31),
        contact_name="刘洋",
        contact_phone="13900000009",
        branch_commitments="每月一次志愿服务",
        community_commitments="提供活动场地",
        submitted_at=utcnow(),
    )
    db.session.add(report_in)
    db.session.flush()
    if status == "confirmed":
        report_in.decided_at = utcnow()
        report_in.serial = f"BD2026-{report_in.id:06d}"
    return report_in


def make_need(
    community: Area,
    title: str = "周末垃圾分类宣传",
    headcount: int = 3,
    on_date=None,
    status: str = "open",
    **fields,
) -> Need:  # noqa: F821
    from datetime import timedelta

    from kmvolunteer.core.time import local_today
    from kmvolunteer.reportin.models import Need

    need = Need(
        community=community,
        title=title,
        headcount=headcount,
        status=status,
        on_date=on_date if on_date is not None else local_today() + timedelta(days=7),
        **fields,
    )
    db.session.add(need)
    db.session.flush()
    return need


def add_members(branch: Branch, count: int, password: str, home_area: Area, prefix: str = "1370000") -> list[Member]:
    """``count`` more members of ``branch``, each with an account named by their phone."""
    members = []
    for index in range(count):
        phone = f"{prefix}{index:04d}"
        user = make_user(phone, password, home_area, name=f"党员{index}")
        members.append(make_member(f"党员{index}", phone, branch, user))
    db.session.flush()
    return members


# --- 双报告 (reports) helpers: report-ins, service records and year rules created directly ---


def report_in_at(
    community: Area,
    *,
    member: Member | None = None,
    branch: Branch | None = None,
    status: str = "confirmed",
    decided_at=None,
    ended_at=None,
):
    from datetime import datetime

    from kmvolunteer.reportin.models import ReportIn

    report_in = ReportIn(
        kind="member" if member is not None else "branch",
        member=member,
        branch=branch,
        community=community,
        status=status,
        submitted_at=decided_at or datetime(2020, 1, 1),
        decided_at=decided_at or datetime(2020, 1, 1),
        ended_at=ended_at,
    )
    db.session.add(report_in)
    db.session.flush()
    return report_in


def make_record(
    member: Member, community: Area, day, half_hours: int = 4, status: str = "approved", content: str = "政策宣传"
):
    from kmvolunteer.service.models import ServiceRecord

    record = ServiceRecord(
        member=member,
        community=community,
        service_date=day,
        year=day.year,
        half_hours=half_hours,
        content=content,
        status=status,
    )
    db.session.add(record)
    db.session.flush()
    return record


def make_rule(area: Area, year: int, **values):
    from datetime import date

    from kmvolunteer.years.models import YearRule

    defaults = {
        "min_half_hours": 40,
        "min_activities": 4,
        "report_required": True,
        "report_period": "year",
        "report_due": date(year + 1, 1, 15),
        "evaluation_due": date(year + 1, 1, 31),
        "feedback_frequency": "quarter",
    }
    defaults.update(values)
    rule = YearRule(year=year, area=area, **defaults)
    db.session.add(rule)
    db.session.flush()
    return rule


# --- 服务记录 service records (issue 4): report-ins, needs, claims and year rules made directly ---


def service_report_in(member: Member, community: Area, status: str = "confirmed"):
    from kmvolunteer.reportin.models import ReportIn

    row = ReportIn(kind="member", member=member, community=community, status=status)
    db.session.add(row)
    db.session.flush()
    return row


def service_need(
    community: Area,
    title: str = "反诈宣传摊位",
    on_date=None,
    headcount: int = 10,
    place: str = "社区广场",
):
    from kmvolunteer.reportin.models import Need

    need = Need(community=community, title=title, on_date=on_date, headcount=headcount, place=place)
    db.session.add(need)
    db.session.flush()
    return need


def make_claim(need, member: Member):
    from kmvolunteer.reportin.models import Claim

    claim = Claim(need=need, member=member, status="active")
    need.claimed += 1
    db.session.add(claim)
    db.session.flush()
    return claim


def make_year_rule(area: Area, year: int, min_half_hours: int = 40, min_activities: int = 4):
    from kmvolunteer.years.models import YearRule

    rule = YearRule(area=area, year=year, min_half_hours=min_half_hours, min_activities=min_activities)
    db.session.add(rule)
    db.session.flush()
    return rule


# --- the agency's party organization (机关党委) and the work committee (机关工委) ---


def make_results_readers(w: World, password: str) -> dict:
    """A party organization of the world's agency, work committees of its district and of the city, and a
    sibling agency in the same district (with a branch) that the party organization does not read."""
    sibling = Agency(name="五华区卫生健康局", area=w.district)
    sibling_branch = Branch(name="机关党支部", agency=sibling)
    db.session.add_all([sibling, sibling_branch])
    readers = {
        "sibling": sibling,
        "sibling_branch": sibling_branch,
        "party": make_user(
            "wuhua_party", password, w.district, RoleGrant(role=Role.agency_party_org.value, agency=w.agency)
        ),
        "committee": make_user(
            "wuhua_committee", password, w.district, RoleGrant(role=Role.agency_work_committee.value, area=w.district)
        ),
        "city_committee": make_user(
            "city_committee", password, w.city, RoleGrant(role=Role.agency_work_committee.value, area=w.city)
        ),
    }
    db.session.commit()
    return readers


def letters_world(w: World, year: int, password: str) -> World:
    """For feedback letters, in ``year`` under a city rule asking for feedback every half year: 张明 (机关党支部 of
    五华区民政局) reported in to 翠湖社区, served 3 h there in the first half and 1 h in the second, submitted the
    year's report and was rated 合格 (published); his branch co-builds there, finished a project in May and was
    rated 良好. 五华区民政局 has a party organization and a work committee above it (``w.extra["readers"]``)."""
    from datetime import date, datetime

    from kmvolunteer.reportin.models import Project
    from kmvolunteer.reports.models import Evaluation, Report, UnitRating

    make_rule(w.city, year, feedback_frequency="half", min_half_hours=4, min_activities=1)
    report_in_at(w.community, branch=w.branch)
    report_in_at(w.community, member=w.members["member"])
    make_record(w.members["member"], w.community, date(year, 3, 1), half_hours=6)
    make_record(w.members["member"], w.community, date(year, 9, 1), half_hours=2)
    member, community = w.members["member"], w.community
    db.session.add_all(
        [
            Report(
                kind="member",
                member=member,
                branch=w.branch,
                community=community,
                year=year,
                period="Y",
                status="submitted",
            ),
            Evaluation(
                community=community, member=member, year=year, rating="good", comment="积极参加志愿服务", published=True
            ),
            UnitRating(community=community, branch=w.branch, year=year, rating="good", comment="按协议开展活动"),
            Project(
                community=community, branch=w.branch, title="助老食堂", status="done", done_at=datetime(year, 5, 1)
            ),
        ]
    )
    w.extra["readers"] = make_results_readers(w, password)
    db.session.commit()
    return w


# --- 通报 bulletins ---


def make_bulletin(area: Area, agency: Agency, branch: Branch, status: str = "published", number: int | None = 1):
    """A bulletin of ``area`` for 2026 ranking ``agency`` alone and naming ``branch`` as falling short."""
    from kmvolunteer.bulletins.models import Bulletin, BulletinShortfall, BulletinUnit

    published = status == "published"
    bulletin = Bulletin(
        area=area,
        year=2026,
        status=status,
        number=number if published else None,
        serial=f"TB2026-{area.id}-{number:03d}" if published else None,
        title=f"{area.name}2026年度双报到工作通报",
        issuer=f"中共{area.name}委组织部",
        preamble="现将有关情况通报如下。",
        closing="请各单位对照整改。",
    )
    bulletin.units = [
        BulletinUnit(
            position=0,
            agency_id=agency.id,
            name=agency.name,
            headcount=2,
            reported_in=1,
            half_hours=8,
            rate_rank=1,
            hours_rank=1,
        )
    ]
    bulletin.shortfalls = [
        BulletinShortfall(
            position=0,
            kind="branch",
            branch_id=branch.id,
            agency=agency.name,
            branch=branch.name,
            reasons='[["unit_not_reported_in", []]]',
        )
    ]
    db.session.add(bulletin)
    db.session.flush()
    return bulletin
