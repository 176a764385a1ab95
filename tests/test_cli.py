"""flask seed-demo and create-admin."""

from __future__ import annotations

from sqlalchemy import func, select

from kmvolunteer.auth.models import Role, User
from kmvolunteer.extensions import db
from kmvolunteer.org.demo import DEMO_ACCOUNTS
from kmvolunteer.org.models import Area, Member
from kmvolunteer.whistles.models import Summons, Whistle


def test_seed_demo_fills_an_empty_database_with_one_account_per_role(app, ctx):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    districts = db.session.scalars(select(Area.name).where(Area.level == "district")).all()
    for name in (
        "五华区",
        "盘龙区",
        "官渡区",
        "西山区",
        "东川区",
        "呈贡区",
        "晋宁区",
        "安宁市",
        "富民县",
        "宜良县",
        "石林彝族自治县",
        "嵩明县",
        "禄劝彝族苗族自治县",
        "寻甸回族彝族自治县",
        "滇中新区",
    ):
        assert name in districts
    roles = set()
    for username, *_ in DEMO_ACCOUNTS:
        user = db.session.scalar(select(User).where(User.username == username))
        roles |= user.roles()
    member = db.session.scalar(select(User).where(User.username == "member"))
    roles |= member.roles()
    assert roles == set(Role)
    # Paths are consistent with parents everywhere.
    for area in db.session.scalars(select(Area)):
        expected = (area.parent.path if area.parent else "/") + f"{area.id}/"
        assert area.path == expected
    # The demo's whistles, at every step, and each department officer's queue has some.
    statuses = set(db.session.scalars(select(Summons.status)))
    assert statuses == {"summoned", "signed", "contacted", "handled", "rated"}
    assert set(db.session.scalars(select(Whistle.status))) == {"open", "handled", "closed"}
    for username in ("huashan_team", "dept_officer"):
        officer = db.session.scalar(select(User).where(User.username == username))
        (grant,) = officer.grants
        assert db.session.scalar(select(func.count(Summons.id)).where(Summons.department_id == grant.department_id))
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code != 0 and "not empty" in again.output
    assert runner.invoke(args=["seed-demo", "--if-empty"]).exit_code == 0


def test_seed_with_explicit_sizes(app, ctx):
    result = app.test_cli_runner().invoke(
        args=["seed-demo", "--communities", "150", "--branches", "60", "--members", "500"]
    )
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count(Area.id)).where(Area.level == "community")) >= 150
    # 500 generated members plus the demo member and the demo branch secretary.
    assert db.session.scalar(select(func.count(Member.id))) == 502
    # New rows get fresh ids after the bulk insert (sequences were moved on PostgreSQL).
    area = Area(name="新社区", level="community", parent_id=None, path="")
    db.session.add(area)
    db.session.commit()


def test_create_admin(app, world):
    """(The world holds the city, 昆明市, that the account is the organization department of by default.)"""
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", "--username", "root1", "--name", "管理员"], input="weak\nweak\n")
    assert result.exit_code != 0
    result = runner.invoke(
        args=["create-admin", "--username", "root1", "--name", "管理员"], input="Strong2026pw\nStrong2026pw\n"
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "root1"))
    assert Role.org_department in user.roles() and not user.must_change_password


def test_commands_on_a_database_without_schema_say_to_run_db_upgrade(tmp_path):
    from kmvolunteer import create_app
    from kmvolunteer.config import TestConfig

    fresh = create_app(TestConfig(f"sqlite:///{tmp_path / 'fresh.db'}"))
    runner = fresh.test_cli_runner()
    for args in (["seed-demo"], ["seed-demo", "--if-empty"], ["tallies", "check"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1, (args, result.output)
        assert "run `flask --app app db upgrade` first" in result.output
        assert isinstance(result.exception, SystemExit), result.exception  # a message, not a traceback
