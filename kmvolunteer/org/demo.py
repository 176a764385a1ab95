"""The demo city: Kunming's real districts with sample subdistricts, communities,
agencies, members and one account per role; or a generated city of any size.

Rows are bulk-inserted with ids assigned here, so a city of 200,000 members is
written in a minute rather than an hour.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from itertools import count

from sqlalchemy import func, insert, select, text
from werkzeug.security import generate_password_hash

from kmvolunteer.auth.models import Role, RoleGrant, User
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.extensions import db
from kmvolunteer.org import demo_places as places
from kmvolunteer.org.models import Agency, Area, Branch, Department, Member

DEMO_PASSWORD = "demo2026"
CITY = "昆明市"
BUREAUS = [
    "民政局",
    "教育体育局",
    "卫生健康局",
    "住房和城乡建设局",
    "城市管理局",
    "市场监督管理局",
    "人力资源和社会保障局",
    "财政局",
    "审计局",
    "统计局",
    "司法局",
    "文化和旅游局",
    "农业农村局",
    "水务局",
    "交通运输局",
    "自然资源局",
    "应急管理局",
    "退役军人事务局",
    "医疗保障局",
    "生态环境分局",
    "科学技术局",
    "商务局",
    "工业和信息化局",
    "发展和改革局",
    "林业和草原局",
    "档案馆",
    "图书馆",
    "融媒体中心",
    "政务服务管理局",
    "信访局",
    "机关事务管理局",
    "总工会",
    "团委",
    "妇联",
    "残联",
    "红十字会",
    "科协",
    "党校",
    "纪委监委",
    "组织部",
]
# Rosters list on-duty members (在职党员) only: retired cadres' branches (离退休干部党支部) do not
# report in this way, so the demo city has none — their members would be counted as on duty.
BRANCH_NAMES = [
    "机关第一党支部",
    "机关第二党支部",
    "机关第三党支部",
    "机关第四党支部",
    "机关第五党支部",
    "综合党支部",
    "业务党支部",
    "青年党支部",
]
# The functional departments each tier of a generated city has (吹哨报到 summons them): a subdistrict's
# teams, a district's and the city's bureaus, named after their area.
TIER_DEPARTMENTS = {
    "subdistrict": ["综合执法队", "派出所", "社区卫生服务中心", "便民服务中心", "城建环保办", "平安建设办"],
    "district": [
        "城市管理局",
        "住房和城乡建设局",
        "市场监督管理局",
        "水务局",
        "交通运输局",
        "生态环境分局",
        "应急管理局",
    ],
    "city": ["城市管理局", "住房和城乡建设局", "市场监督管理局", "水务局", "交通运输局", "生态环境局", "应急管理局"],
}
POSTS = ["科员", "副科长", "科长", "主任科员", "四级调研员", "一级科员", "办公室主任", "副局长", "工作人员"]

# (username, display name, role, scope kind, scope name) — one account per role.
DEMO_ACCOUNTS = [
    ("city_org", "市委组织部 李华", Role.org_department, "area", CITY),
    ("wuhua_org", "五华区委组织部 王芳", Role.org_department, "area", "五华区"),
    ("huashan_officer", "华山街道党工委 赵强", Role.subdistrict_officer, "area", "华山街道"),
    ("cuihu_secretary", "翠湖社区书记 陈静", Role.community_secretary, "area", "翠湖社区"),
    (
        "branch_secretary",
        "市民政局机关第一党支部书记 刘洋",
        Role.branch_secretary,
        "branch",
        ("昆明市民政局", "机关第一党支部"),
    ),
    ("dept_officer", "五华区住建局 孙磊", Role.department_officer, "department", "五华区住房和城乡建设局"),
    ("huashan_team", "华山街道综合执法队 周斌", Role.department_officer, "department", "华山街道综合执法队"),
    ("minzheng_party", "昆明市民政局机关党委 杨敏", Role.agency_party_org, "agency", "昆明市民政局"),
    ("wuhua_committee", "五华区委直属机关工委 何军", Role.agency_work_committee, "area", "五华区"),
]
DEMO_MEMBER = ("member", "张明", "13900000001", ("昆明市民政局", "机关第一党支部"), "科员")


@dataclass
class Sizes:
    """How big a generated city is. The curated demo city ignores these."""

    communities: int = 500
    branches: int = 5000
    members: int = 200_000


@dataclass
class _Plan:
    areas: list[dict] = field(default_factory=list)
    agencies: list[dict] = field(default_factory=list)
    branches: list[dict] = field(default_factory=list)
    departments: list[dict] = field(default_factory=list)
    by_name: dict[str, int] = field(default_factory=dict)

    def area(self, name: str, level: str, parent: dict | None) -> dict:
        area_id = len(self.areas) + 1
        path = f"{parent['path'] if parent else '/'}{area_id}/"
        row = {
            "id": area_id,
            "name": name,
            "level": level,
            "parent_id": parent["id"] if parent else None,
            "path": path,
            "active": True,
        }
        self.areas.append(row)
        self.by_name.setdefault(name, area_id)
        return row

    def agency(self, name: str, area_id: int) -> dict:
        row = {"id": len(self.agencies) + 1, "name": name, "area_id": area_id, "active": True}
        self.agencies.append(row)
        return row

    def branch(self, name: str, agency_id: int) -> dict:
        row = {"id": len(self.branches) + 1, "name": name, "agency_id": agency_id, "active": True}
        self.branches.append(row)
        return row


def database_is_empty() -> bool:
    return (db.session.scalar(select(func.count(Area.id))) or 0) == 0 and (
        db.session.scalar(select(func.count(User.id))) or 0
    ) == 0


def _curated_plan() -> _Plan:
    plan = _Plan()
    city = plan.area(CITY, "city", None)
    for district_name, subdistricts in places.DISTRICTS:
        district = plan.area(district_name, "district", city)
        for subdistrict_name, communities in subdistricts:
            subdistrict = plan.area(subdistrict_name, "subdistrict", district)
            for community_name in communities:
                plan.area(community_name, "community", subdistrict)
    for agency_name, district_name, branch_names in places.AGENCIES:
        agency = plan.agency(agency_name, plan.by_name[district_name or CITY])
        for branch_name in branch_names:
            plan.branch(branch_name, agency["id"])
    for name, tier in places.DEPARTMENTS:
        plan.departments.append(
            {"id": len(plan.departments) + 1, "name": name, "area_id": plan.by_name[tier], "active": True}
        )
    return plan


def _generated_plan(sizes: Sizes, rng: random.Random) -> _Plan:
    """Kunming's real districts, then as many generated subdistricts and communities as asked."""
    plan = _curated_plan()
    districts = [a for a in plan.areas if a["level"] == "district"]
    prefixes, suffixes = places.COMMUNITY_NAME_PREFIXES, places.COMMUNITY_NAME_SUFFIXES
    existing = sum(1 for a in plan.areas if a["level"] == "community")
    serial = count(1)
    while existing < sizes.communities:
        district = districts[existing % len(districts)]
        subdistrict = plan.area(f"{district['name'][:2]}第{next(serial)}街道", "subdistrict", district)
        for _ in range(min(8, sizes.communities - existing)):
            stem = rng.choice(prefixes) + rng.choice(suffixes)
            plan.area(f"{stem[:-2]}{next(serial)}{stem[-2:]}", "community", subdistrict)
            existing += 1
    city_id = plan.by_name[CITY]
    area_ids = [city_id] + [d["id"] for d in districts]
    agency_serial = count(1)
    while len(plan.branches) < sizes.branches:
        area_id = rng.choice(area_ids)
        area_name = next(a["name"] for a in plan.areas if a["id"] == area_id)
        agency = plan.agency(f"{area_name}{rng.choice(BUREAUS)}（{next(agency_serial)}）", area_id)
        for branch_name in BRANCH_NAMES[: rng.randint(2, 8)]:
            if len(plan.branches) >= sizes.branches:
                break
            plan.branch(branch_name, agency["id"])
    names = {d["name"] for d in plan.departments}
    for area in plan.areas:
        for suffix in TIER_DEPARTMENTS.get(area["level"], ()):
            name = area["name"] + suffix
            if name not in names:
                names.add(name)
                plan.departments.append(
                    {"id": len(plan.departments) + 1, "name": name, "area_id": area["id"], "active": True}
                )
    return plan


def _person_name(rng: random.Random) -> str:
    given = "".join(rng.choice(places.GIVEN_CHARS) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(places.SURNAMES) + given


def _bulk(model: type, rows: list[dict], chunk: int = 5000) -> None:
    for start in range(0, len(rows), chunk):
        db.session.execute(insert(model), rows[start : start + chunk])


def reset_sequences(tables: tuple[str, ...]) -> None:
    """PostgreSQL: ids were given explicitly, so move each table's sequence past them."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in tables:
        db.session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f'COALESCE((SELECT MAX(id) FROM "{table}"), 0) + 1, false)'
            )
        )


def seed_org(
    *, generated: Sizes | None = None, members_per_branch: int = 10, seed_value: int = 2026, echo=print
) -> tuple[random.Random, dict[str, int]]:
    """Fill an empty database with the demo city's places, branches, members and demo accounts
    (kmvolunteer.demo adds the features' data); the random source goes on to the features."""
    if not database_is_empty():
        raise ServiceError("The database is not empty; seed-demo only fills an empty database.")
    rng = random.Random(seed_value)
    plan = _generated_plan(generated, rng) if generated else _curated_plan()
    _bulk(Area, plan.areas)
    _bulk(Agency, plan.agencies)
    _bulk(Branch, plan.branches)
    _bulk(Department, plan.departments)
    echo(f"places: {len(plan.areas)}, agencies: {len(plan.agencies)}, branches: {len(plan.branches)}")

    agency_area = {a["id"]: a["area_id"] for a in plan.agencies}
    password_hash = generate_password_hash(DEMO_PASSWORD, method="pbkdf2:sha256:100000")
    total_members = generated.members if generated else members_per_branch * len(plan.branches)
    users: list[dict] = []
    members: list[dict] = []
    phones = rng.sample(range(10**8, 10**9), total_members)
    for index in range(total_members):
        branch = plan.branches[index % len(plan.branches)]
        phone = f"13{phones[index]:09d}"
        name = _person_name(rng)
        user_id = index + 1
        users.append(
            {
                "id": user_id,
                "username": phone,
                "display_name": name,
                "password_hash": password_hash,
                "active": True,
                "must_change_password": False,
                "session_version": 1,
                "home_area_id": agency_area[branch["agency_id"]],
            }
        )
        members.append(
            {
                "id": index + 1,
                "name": name,
                "phone": phone,
                "post": rng.choice(POSTS),
                "branch_id": branch["id"],
                "user_id": user_id,
                "active": True,
            }
        )
        if len(users) >= 20_000:
            _bulk(User, users)
            _bulk(Member, members)
            users.clear()
            members.clear()
    _bulk(User, users)
    _bulk(Member, members)
    echo(f"members: {total_members}")
    if generated:
        staff = _staff_accounts(plan, password_hash, rng, first_id=total_members + 1)
        echo(f"staff accounts: {staff}")
    reset_sequences(("area", "agency", "branch", "department", "member", "user", "role_grant"))
    db.session.flush()
    _demo_accounts(password_hash)
    db.session.commit()
    return rng, {"areas": len(plan.areas), "branches": len(plan.branches), "members": total_members}


# The role that blows an area's whistles (auth.policy.BLOWERS) and what the account is called.
STAFF_ROLES = {
    "community": (Role.community_secretary, "社区书记"),
    "subdistrict": (Role.subdistrict_officer, "街道党工委"),
    "district": (Role.org_department, "区委组织部"),
}


def _staff_accounts(plan: _Plan, password_hash: str, rng: random.Random, first_id: int) -> int:
    """A generated city's people who blow and answer whistles: one account per community, subdistrict and
    district (``staff<area id>``) and one officer per department (``officer<department id>``)."""
    by_id = {a["id"]: a for a in plan.areas}

    def home(area: dict) -> int:  # the district (or the city) an area lies in, as _district_of
        parts = area["path"].strip("/").split("/")
        return int(parts[1]) if len(parts) > 1 else area["id"]

    users: list[dict] = []
    grants: list[dict] = []

    def account(username: str, title: str, area: dict, grant: dict) -> None:
        user_id = first_id + len(users)
        users.append(
            {
                "id": user_id,
                "username": username,
                "display_name": f"{title} {_person_name(rng)}"[:50],
                "password_hash": password_hash,
                "active": True,
                "must_change_password": False,
                "session_version": 1,
                "home_area_id": home(area),
            }
        )
        grants.append({"id": len(grants) + 1, "user_id": user_id, "area_id": None, "department_id": None, **grant})

    for area in plan.areas:
        if area["level"] in STAFF_ROLES:
            role, title = STAFF_ROLES[area["level"]]
            account(f"staff{area['id']}", area["name"] + title, area, {"role": role.value, "area_id": area["id"]})
    for department in plan.departments:
        grant = {"role": Role.department_officer.value, "department_id": department["id"]}
        account(f"officer{department['id']}", department["name"], by_id[department["area_id"]], grant)
    _bulk(User, users)
    _bulk(RoleGrant, grants)
    return len(users)


def _demo_accounts(password_hash: str) -> None:
    city = db.session.scalar(select(Area).where(Area.level == "city"))
    for username, display_name, role, kind, scope in DEMO_ACCOUNTS:
        if kind == "area":
            target = db.session.scalar(select(Area).where(Area.name == scope).order_by(Area.id))
            home = target if target.level in ("city", "district") else _district_of(target)
            grant = RoleGrant(role=role.value, area=target)
        elif kind == "branch":
            target = _branch(*scope)
            home = target.agency.area
            grant = RoleGrant(role=role.value, branch=target)
        elif kind == "agency":
            target = db.session.scalar(select(Agency).where(Agency.name == scope))
            home = target.area
            grant = RoleGrant(role=role.value, agency=target)
        else:
            target = db.session.scalar(select(Department).where(Department.name == scope))
            home = _district_of(target.area) if target.area.level != "city" else city
            grant = RoleGrant(role=role.value, department=target)
        user = User(
            username=username, display_name=display_name, password_hash=password_hash, home_area=home, grants=[grant]
        )
        db.session.add(user)
    username, name, phone, (agency_name, branch_name), post = DEMO_MEMBER
    branch = _branch(agency_name, branch_name)
    user = User(username=username, display_name=name, password_hash=password_hash, home_area=branch.agency.area)
    db.session.add(Member(name=name, phone=phone, post=post, branch=branch, user=user))
    # The demo branch secretary is also a member of the branch they lead.
    secretary = db.session.scalar(select(User).where(User.username == "branch_secretary"))
    db.session.add(Member(name="刘洋", phone="13900000002", post="支部书记", branch=branch, user=secretary))


def _branch(agency_name: str, branch_name: str) -> Branch:
    return db.session.scalar(select(Branch).join(Agency).where(Agency.name == agency_name, Branch.name == branch_name))


def _district_of(area: Area) -> Area:
    node = area
    while node.level not in ("city", "district"):
        node = node.parent
    return node
