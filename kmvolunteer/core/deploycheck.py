"""What is unsafe in a configuration, in words an operator can act on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

KNOWN_WEAK_KEYS = {"dev", "secret", "changeme", "change-me", "test-secret-key-not-for-production", "secret-key"}


def problems(config: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    if config.get("DEBUG") or config.get("TESTING"):
        found.append("Debug or testing mode is on: unset FLASK_DEBUG in production.")
    key = str(config.get("SECRET_KEY") or "")
    if key.lower() in KNOWN_WEAK_KEYS or len(key) < 32:
        found.append("SECRET_KEY is weak or a known default: set a random value of at least 32 characters.")
    hosts = int(config.get("WEB_HOSTS") or 1)
    public_url = str(config.get("PUBLIC_URL") or "")
    database = str(config.get("SQLALCHEMY_DATABASE_URI") or "")
    if hosts > 1 and database.startswith("sqlite"):
        found.append(
            f"WEB_HOSTS={hosts} but the database is SQLite: several hosts need one PostgreSQL (set DATABASE_URL)."
        )
    if hosts > 1 and not config.get("SECRET_KEY_FROM_ENV"):
        found.append(
            "Several web hosts but SECRET_KEY is not set in the environment: each host would "
            "generate its own key and log users out. Set the same SECRET_KEY on every host."
        )
    if public_url.startswith("https://") and not config.get("SESSION_COOKIE_SECURE"):
        found.append("The site is served over HTTPS but cookies are not marked Secure: set COOKIE_SECURE=1.")
    if (public_url.startswith("https://") or hosts > 1) and not int(config.get("PROXY_HOPS") or 0):
        found.append(
            "The site sits behind a proxy or load balancer but PROXY_HOPS=0: client addresses "
            "(login throttling, audit log) would all be the proxy's. Set PROXY_HOPS."
        )
    if not public_url:
        found.append(
            "PUBLIC_URL is not set: set the address users open (e.g. https://kmv.km.gov.cn) so "
            "the cookie and proxy settings can be checked."
        )
    if not config.get("SECURITY_CONTACT"):
        found.append(
            "SECURITY_CONTACT is not set: set where to report a security problem (mailto: or https: "
            "address); it is served at /.well-known/security.txt."
        )
    return found
