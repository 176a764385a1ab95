"""Accounts: login with throttling, passwords, creating users, granting roles.

Services never touch ``request``; they raise ``ServiceError`` with a message
the user can read, and leave committing to the caller.
"""

from __future__ import annotations

import gzip
import math
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from kmvolunteer.auth import throttle
from kmvolunteer.auth.models import GRANT_SCOPE, LoginFailure, Role, RoleGrant, User
from kmvolunteer.core import audit
from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.passwords import new_initial_password
from kmvolunteer.core.text import mask_username
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Agency, Area, Branch, Department

# The 10,000 most common passwords; where the list comes from is said in its first lines.
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt.gz")


def hash_password(password: str) -> str:
    """A user's own password, always with today's full-strength method."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


@cache
def _stand_in_hash(method: str) -> str:
    """Checked against when the name is unknown, so that answer costs what a known name costs."""
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


def _outdated(password_hash: str) -> bool:
    """Made by another method than today's (an initial password, or an older or cheaper one)."""
    return password_hash.split("$", 1)[0] != current_app.config["PASSWORD_HASH_METHOD"]


def _verify(password_hash: str | None, password: str) -> bool:
    """Check a password doing at least one full-strength verification, whatever the account or its hash,
    so that neither an unknown name nor a cheaper hash answers sooner."""
    full_strength = _stand_in_hash(current_app.config["PASSWORD_HASH_METHOD"])
    if password_hash is None:
        check_password_hash(full_strength, password)
        return False
    valid = check_password_hash(password_hash, password)
    if _outdated(password_hash):
        check_password_hash(full_strength, password)
    return valid


def normalize_username(username: str) -> str:
    return (username or "").strip().lower()[:64]


@dataclass
class LoginResult:
    user: User | None
    error: str | None = None
    wait: int | None = None  # seconds: the attempt was refused unchecked (throttled)
    # Failed attempts since the account's last login, for its owner to be told.
    failures: int = 0
    last_failure_ip: str = ""
    last_failure_at: datetime | None = None


def _usual_address(user: User, address: str) -> bool:
    """Whether the account logged in from this address lately (its owner's office, home or phone)."""
    since = utcnow() - timedelta(days=current_app.config["LOGIN_USUAL_ADDRESS_DAYS"])
    return (
        bool(address)
        and db.session.scalar(
            select(AuditEntry.id)
            .where(
                AuditEntry.object_type == "User",
                AuditEntry.object_id == user.id,
                AuditEntry.action == "auth.login",
                AuditEntry.ip == address,
                AuditEntry.at >= since,
            )
            .limit(1)
        )
        is not None
    )


def _throttled_message(wait: int) -> str:
    if wait < 60:
        return ngettext(
            "Too many failed login attempts for this account or from your network. Try again in %(num)d second.",
            "Too many failed login attempts for this account or from your network. Try again in %(num)d seconds.",
            wait,
        )
    return ngettext(
        "Too many failed login attempts for this account or from your network. Try again in %(num)d minute.",
        "Too many failed login attempts for this account or from your network. Try again in %(num)d minutes.",
        math.ceil(wait / 60),
    )


def authenticate(username: str, password: str, ip: str = "") -> LoginResult:
    """Check a login. Unknown names and wrong passwords get the same answer after the same work.

    Throttled in the database (auth/throttle.py) per account name and per client address, before any
    password is checked; commits its own small transactions so that every worker and host counts alike.
    """
    name = normalize_username(username)
    user = db.session.scalar(select(User).where(User.username == name))
    # Read before the throttle's commit expires them: reloading only for known names would take time.
    password_hash, active = (user.password_hash, user.active) if user else (None, False)
    counters = throttle.counters(
        name, user.id if user else None, ip, usual=user is not None and _usual_address(user, ip)
    )
    reservation = throttle.take(counters)
    if reservation.wait is not None:
        return LoginResult(None, _throttled_message(reservation.wait), wait=reservation.wait)
    if not _verify(password_hash, password or "") or user is None or not active:
        db.session.add(LoginFailure(username=name, ip=ip[:64]))
        db.session.commit()
        return LoginResult(None, _("Wrong username or password."))
    if _outdated(user.password_hash) and not user.must_change_password:  # a one-time password is replaced soon
        user.password_hash = hash_password(password)
    # After the account's row, like a password reset: rows are always locked in the same order.
    throttle.give_back(reservation)
    throttle.clear(counters[0].key)
    result = LoginResult(user)
    earlier = select(LoginFailure).where(LoginFailure.username == name)
    result.failures = db.session.scalar(select(func.count()).select_from(earlier.subquery()))
    if result.failures:
        last = db.session.scalars(earlier.order_by(LoginFailure.id.desc()).limit(1)).one()
        result.last_failure_ip, result.last_failure_at = last.ip, last.at
        db.session.execute(delete(LoginFailure).where(LoginFailure.username == name))
    audit.record("auth.login", user, scope_path=user.home_area.path, actor_id=user.id, summary=user.username)
    db.session.commit()
    return result


@cache
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as lines:
        return frozenset(line.rstrip("\n") for line in lines if line.strip() and not line.startswith("#"))


def validate_new_password(user: User, password: str) -> None:
    """The rules a password a user chooses must meet; the password form explains them in the same words."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        raise ServiceError(_("The new password must have at least %(n)d characters.", n=minimum))
    if password.isdigit() or password.isalpha():
        raise ServiceError(_("The new password must mix letters and digits."))
    lowered = password.lower()
    if user.username.lower() in lowered:
        raise ServiceError(_("The new password must not contain your username."))
    # "Password2026!" is "password" with a year and a sign: as easy to guess as the word itself.
    signs = string.punctuation + string.whitespace
    variants = {lowered, lowered.strip(signs), lowered.strip(string.digits + signs)}
    if variants & common_passwords():
        raise ServiceError(
            _("This is one of the most common passwords, the first that anyone would try. Choose another.")
        )


def end_sessions(user: User) -> None:
    """End every session of the account (on every device): the session id carries this number."""
    user.session_version += 1


class Throttled(ServiceError):
    """Refused unchecked: too many wrong tries; ``wait`` seconds until the next may come."""

    def __init__(self, message: str, wait: int) -> None:
        super().__init__(message)
        self.wait = wait


def change_password(user: User, current: str, new: str) -> None:
    """Counted like a login: a stolen session cannot guess the current password without limit."""
    counter = throttle.Counter(f"password:{user.id}", current_app.config["LOGIN_MAX_FAILURES"])
    reservation = throttle.take([counter])  # commits, so the try counts whatever follows
    if reservation.wait is not None:
        raise Throttled(
            ngettext(
                "The current password was wrong too many times. Try again in %(num)d minute.",
                "The current password was wrong too many times. Try again in %(num)d minutes.",
                math.ceil(reservation.wait / 60),
            ),
            reservation.wait,
        )
    if not check_password_hash(user.password_hash, current or ""):
        raise ServiceError(_("The current password is wrong."))
    throttle.give_back(reservation)
    throttle.clear(counter.key)
    if new == current:
        if user.must_change_password:
            raise ServiceError(_("Choose a password of your own, not the one-time password you were given."))
        raise ServiceError(_("The new password must differ from the current one."))
    validate_new_password(user, new)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    end_sessions(user)
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
    audit.record(
        "user.created",
        user,
        scope_path=home_area.path,
        summary=user.display_name,
        after={"username": mask_username(name), "display_name": user.display_name},
    )
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
    end_sessions(user)
    throttle.clear_account(user.username, user.id)  # the owner may log in at once, from anywhere
    audit.record("user.password_reset", user, scope_path=user.home_area.path, summary=user.display_name)
    return password


def set_active(user: User, active: bool, *, actor: User) -> None:
    if user.id == actor.id and not active:
        raise ServiceError(_("You cannot deactivate your own account."))
    _check_manages(actor, user)
    if user.active == active:
        return
    user.active = active
    end_sessions(user)
    audit.record(
        "user.activated" if active else "user.deactivated",
        user,
        scope_path=user.home_area.path,
        summary=user.display_name,
        before={"active": not active},
        after={"active": active},
    )


def build_grant(
    role: Role,
    *,
    user: User,
    area: Area | None = None,
    branch: Branch | None = None,
    department: Department | None = None,
    agency: Agency | None = None,
) -> RoleGrant:
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
    elif kind == "agency":
        if agency is None:
            raise ServiceError(_("Choose the agency for this role."))
        if not agency.active:
            raise ServiceError(_("This agency is no longer active."))
        grant.agency = agency
    else:
        if area is None:
            raise ServiceError(_("Choose the place for this role."))
        expected = {
            Role.community_secretary: {"community"},
            Role.subdistrict_officer: {"subdistrict"},
            Role.org_department: {"city", "district"},
            Role.agency_work_committee: {"city", "district"},
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
        if (existing.role, existing.area_id, existing.branch_id, existing.department_id, existing.agency_id) == (
            grant.role,
            grant.area.id if grant.area else None,
            grant.branch.id if grant.branch else None,
            grant.department.id if grant.department else None,
            grant.agency.id if grant.agency else None,
        ):
            raise ServiceError(_("The user already has this role here."))
    grant.granted_by_id = actor.id if actor is not None else None
    user.grants.append(grant)
    db.session.flush()
    audit.record(
        "grant.added",
        grant,
        scope_path=grant.scope_area().path,
        summary=f"{user.display_name} {grant.role} {grant.scope_name}",
        after={"user": user.display_name, "role": grant.role, "scope": grant.scope_name},
    )
    return grant


def revoke_grant(grant: RoleGrant, *, actor: User) -> None:
    _check_gives(actor, grant)
    audit.record(
        "grant.revoked",
        grant,
        scope_path=grant.scope_area().path,
        summary=f"{grant.user.display_name} {grant.role} {grant.scope_name}",
        before={"user": grant.user.display_name, "role": grant.role, "scope": grant.scope_name},
    )
    end_sessions(grant.user)
    grant.user.grants.remove(grant)
    db.session.delete(grant)
