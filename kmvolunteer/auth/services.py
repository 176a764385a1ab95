"""Accounts: login with throttling, passwords, creating users, granting roles.

Services never touch ``request``; they raise ``ServiceError`` with a message
the user can read, and leave committing to the caller.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from kmvolunteer.auth.models import GRANT_SCOPE, LoginFailure, Role, RoleGrant, User
from kmvolunteer.core import audit
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.text import mask_username
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area, Branch, Department

# Compared against when the username is unknown, so both answers take as long.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="pbkdf2:sha256:1000")
# Readable initial passwords: no 0/O, 1/l/I.
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def new_initial_password() -> tuple[str, str]:
    """A readable one-time password and its hash."""
    password = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(10))
    return password, generate_password_hash(
        password, method=current_app.config["INITIAL_PASSWORD_HASH_METHOD"]
    )


def normalize_username(username: str) -> str:
    return (username or "").strip().lower()[:64]


@dataclass
class LoginResult:
    user: User | None
    error: str | None = None


def _recent_failures(username: str) -> int:
    window = timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"])
    stmt = select(func.count(LoginFailure.id)).where(
        LoginFailure.username == username, LoginFailure.at >= utcnow() - window
    )
    return db.session.scalar(stmt) or 0


def authenticate(username: str, password: str, ip: str = "") -> LoginResult:
    """Check a login. Unknown users and wrong passwords get the same answer.

    After LOGIN_MAX_FAILURES failures within LOGIN_WINDOW_MINUTES the account
    name is locked for the rest of the window, whether or not it exists.
    Commits its own small transaction so failures count across workers.
    """
    name = normalize_username(username)
    minutes = current_app.config["LOGIN_WINDOW_MINUTES"]
    locked_message = _(
        "Too many failed attempts. This account is locked for %(minutes)d minutes.", minutes=minutes
    )
    if _recent_failures(name) >= current_app.config["LOGIN_MAX_FAILURES"]:
        return LoginResult(None, locked_message)
    user = db.session.scalar(select(User).where(User.username == name))
    valid = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "")
    if not valid or user is None or not user.active:
        db.session.add(LoginFailure(username=name, ip=ip[:64]))
        db.session.commit()
        if _recent_failures(name) >= current_app.config["LOGIN_MAX_FAILURES"]:
            return LoginResult(None, locked_message)
        return LoginResult(None, _("Wrong username or password."))
    db.session.execute(delete(LoginFailure).where(LoginFailure.username == name))
    audit.record("auth.login", user, scope_path=user.home_area.path, actor_id=user.id,
                 summary=user.username)
    db.session.commit()
    return LoginResult(user)


def validate_new_password(user: User, password: str) -> None:
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        raise ServiceError(_("The new password must have at least %(n)d characters.", n=minimum))
    if password.isdigit() or password.isalpha():
        raise ServiceError(_("The new password must mix letters and digits."))
    if password.lower() == user.username.lower():
        raise ServiceError(_("The new password must not be the username."))


def change_password(user: User, current: str, new: str) -> None:
    if not check_password_hash(user.password_hash, current or ""):
        raise ServiceError(_("The current password is wrong."))
    validate_new_password(user, new)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.session_version += 1
    audit.record("user.password_changed", user, scope_path=user.home_area.path)


def set_locale(user: User, locale: str) -> None:
    if locale not in current_app.config["LANGUAGES"]:
        raise ServiceError(_("Unknown language."))
    user.locale = locale


def create_user(*, username: str, display_name: str, home_area: Area) -> tuple[User, str]:
    """A new account with a one-time initial password, which is returned once."""
    name = normalize_username(username)
    if not name:
        raise ServiceError(_("Enter a username."))
    if db.session.scalar(select(User.id).where(User.username == name)) is not None:
        raise ServiceError(_("The username %(name)s is taken.", name=name))
    password, password_hash = new_initial_password()
    user = User(
        username=name,
        display_name=display_name.strip(),
        password_hash=password_hash,
        must_change_password=True,
        home_area=home_area,
    )
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", user, scope_path=home_area.path, summary=user.display_name,
                 after={"username": mask_username(name), "display_name": user.display_name})
    return user, password


def _check_manages(actor: User | None, user: User) -> None:
    """``actor`` None is the operator at the command line."""
    from kmvolunteer.auth.policy import can

    if actor is not None and not can(actor, "user.manage", user):
        raise ServiceError(_("This account is not within your reach."))


def reset_password(user: User, *, actor: User | None) -> str:
    _check_manages(actor, user)
    password, user.password_hash = new_initial_password()
    user.must_change_password = True
    user.session_version += 1
    db.session.execute(delete(LoginFailure).where(LoginFailure.username == user.username))
    audit.record("user.password_reset", user, scope_path=user.home_area.path, summary=user.display_name)
    return password


def set_active(user: User, active: bool, *, actor: User) -> None:
    if user.id == actor.id and not active:
        raise ServiceError(_("You cannot deactivate your own account."))
    _check_manages(actor, user)
    if user.active == active:
        return
    user.active = active
    user.session_version += 1
    audit.record("user.activated" if active else "user.deactivated", user,
                 scope_path=user.home_area.path, summary=user.display_name,
                 before={"active": not active}, after={"active": active})


def build_grant(role: Role, *, user: User, area: Area | None = None, branch: Branch | None = None,
                department: Department | None = None) -> RoleGrant:
    """A grant for ``user`` checked for shape (right kind of scope), not yet added: ask the policy
    (``grant.give``) before adding it."""
    if role not in GRANT_SCOPE:
        raise ServiceError(_("This role cannot be granted."))
    kind = GRANT_SCOPE[role]
    grant = RoleGrant(role=role.value, user_id=user.id)
    if kind == "branch":
        if branch is None:
            raise ServiceError(_("Choose the branch for this role."))
        grant.branch = branch
    elif kind == "department":
        if department is None:
            raise ServiceError(_("Choose the department for this role."))
        grant.department = department
    else:
        if area is None:
            raise ServiceError(_("Choose the place for this role."))
        expected = {
            Role.community_secretary: {"community"},
            Role.subdistrict_officer: {"subdistrict"},
            Role.org_department: {"city", "district"},
        }[role]
        if area.level not in expected:
            raise ServiceError(_("This role must be bound to a place of the right level."))
        grant.area = area
    return grant


def _check_gives(actor: User | None, grant: RoleGrant) -> None:
    """``actor`` None is the operator at the command line."""
    from kmvolunteer.auth.policy import can

    if actor is not None and not can(actor, "grant.give", grant):
        raise ServiceError(_("Nobody can give or take away roles of their own account, or outside their reach."))


def add_grant(user: User, grant: RoleGrant, *, actor: User | None) -> RoleGrant:
    """Add ``grant`` (from build_grant for this user); ``actor`` None is the operator at the command line."""
    _check_gives(actor, grant)
    for existing in user.grants:
        if (existing.role, existing.area_id, existing.branch_id, existing.department_id) == (
            grant.role, grant.area.id if grant.area else None,
            grant.branch.id if grant.branch else None,
            grant.department.id if grant.department else None,
        ):
            raise ServiceError(_("The user already has this role here."))
    grant.granted_by_id = actor.id if actor is not None else None
    user.grants.append(grant)
    db.session.flush()
    audit.record("grant.added", grant, scope_path=grant.scope_area().path,
                 summary=f"{user.display_name} {grant.role} {grant.scope_name}",
                 after={"user": user.display_name, "role": grant.role, "scope": grant.scope_name})
    return grant


def revoke_grant(grant: RoleGrant, *, actor: User) -> None:
    _check_gives(actor, grant)
    audit.record("grant.revoked", grant, scope_path=grant.scope_area().path,
                 summary=f"{grant.user.display_name} {grant.role} {grant.scope_name}",
                 before={"user": grant.user.display_name, "role": grant.role, "scope": grant.scope_name})
    grant.user.grants.remove(grant)
    db.session.delete(grant)
