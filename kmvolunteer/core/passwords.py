"""One-time passwords handed to new accounts: by account admin (auth) and by roster import (org)."""

from __future__ import annotations

import secrets

from flask import current_app
from werkzeug.security import generate_password_hash

# No 0/O, 1/l/I: read aloud and typed by hand.
ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_initial_password() -> tuple[str, str]:
    """A readable one-time password and its hash."""
    password = "".join(secrets.choice(ALPHABET) for _ in range(10))
    return password, generate_password_hash(password, method=current_app.config["INITIAL_PASSWORD_HASH_METHOD"])
