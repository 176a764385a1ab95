"""Settings, read from the environment. The embedded SQLite database is the default."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("KMV_INSTANCE_DIR", PROJECT_ROOT / "instance"))


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_secret_key(instance_dir: Path = INSTANCE_DIR) -> str:
    """SECRET_KEY from the environment, else the one kept in instance/secret_key.

    The file is created on first use so that every gunicorn worker (and every
    restart) signs sessions with the same key.
    """
    from_env = os.environ.get("SECRET_KEY")
    if from_env:
        return from_env
    key_file = instance_dir / "secret_key"
    if not key_file.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def default_database_url(instance_dir: Path = INSTANCE_DIR) -> str:
    return f"sqlite:///{instance_dir / 'kmvolunteer.db'}"


@dataclass(frozen=True)
class JobSettings:
    """The background worker's (kmvolunteer/jobs.py), read when that module is imported: its tasks are
    declared against one queue. Redis when REDIS_URL is set (several hosts share the queue), else huey's
    SQLite file in the instance folder; HUEY_IMMEDIATE runs each task at once, in the caller."""

    redis_url: str = ""
    path: Path = INSTANCE_DIR / "huey.db"
    name: str = "kmvolunteer"
    immediate: bool = False
    pass_minutes: int = 5  # how often the whistle pass (escalation, then reminders) runs

    @classmethod
    def from_env(cls) -> JobSettings:
        return cls(
            redis_url=os.environ.get("REDIS_URL", ""),
            path=Path(os.environ.get("HUEY_FILE") or INSTANCE_DIR / "huey.db"),
            name=os.environ.get("HUEY_NAME", "kmvolunteer"),
            immediate=_flag("HUEY_IMMEDIATE"),
            pass_minutes=int(os.environ.get("WHISTLE_PASS_MINUTES", "5")),
        )


class Config:
    """Production-like defaults; every value can be set by an environment variable."""

    def __init__(self) -> None:
        self.SECRET_KEY = load_secret_key()
        self.SECRET_KEY_FROM_ENV = bool(os.environ.get("SECRET_KEY"))
        self.PUBLIC_URL = os.environ.get("PUBLIC_URL", "")
        # Where to report a security problem (mailto: or https: URI), served at /.well-known/security.txt.
        self.SECURITY_CONTACT = os.environ.get("SECURITY_CONTACT", "")
        self.SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or default_database_url()
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        # How long a write waits for SQLite's lock before the request answers 503 (issue 13).
        self.SQLITE_BUSY_TIMEOUT_MS = int(os.environ.get("SQLITE_BUSY_TIMEOUT_MS", "5000"))
        self.SESSION_COOKIE_SECURE = _flag("COOKIE_SECURE")
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.PROXY_HOPS = int(os.environ.get("PROXY_HOPS", "0"))
        self.WEB_HOSTS = int(os.environ.get("WEB_HOSTS", "1"))
        self.DEBUG = _flag("FLASK_DEBUG")
        # Service records (issue 4): late after this many working days; pending highlighted after N days.
        self.LATE_WORKING_DAYS = int(os.environ.get("LATE_WORKING_DAYS", "10"))
        self.PENDING_WARN_DAYS = int(os.environ.get("PENDING_WARN_DAYS", "7"))
        # 吹哨报到 (issue 15): the office hours whistle deadlines count in (Kunming's government offices).
        self.WORKING_HOURS = os.environ.get("WORKING_HOURS", "09:00-12:00,14:00-18:00")
        # Failed logins one client address may make before it waits (see LOGIN_MAX_FAILURES below): raise it
        # when many new users log in for the first time from behind one office address.
        self.LOGIN_MAX_FAILURES_PER_ADDRESS = int(os.environ.get("LOGIN_MAX_FAILURES_PER_ADDRESS", "100"))
        # Requests one client address may send on the residents' public form before it waits (see
        # RESIDENT_REQUEST_DELAY_SECONDS below): raise it where many residents share one address.
        self.RESIDENT_REQUESTS_FREE = int(os.environ.get("RESIDENT_REQUESTS_FREE", "5"))
        # Whistle photos (issue 15): kept outside the web root, served only to those who may read the whistle.
        self.PHOTO_DIR = Path(os.environ.get("PHOTO_DIR") or INSTANCE_DIR / "photos")
        # The open API (issue 18): calls one token may make (Flask-Limiter's notation), counted where every
        # worker and host sees the same counts — Redis when REDIS_URL is set; otherwise in each worker's memory
        # (a token then gets the limit once per worker; set REDIS_URL wherever the site runs several workers).
        self.API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "600 per minute")
        self.RATELIMIT_STORAGE_URI = (
            os.environ.get("RATELIMIT_STORAGE_URI") or os.environ.get("REDIS_URL") or "memory://"
        )

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 8 * 3600
    MAX_CONTENT_LENGTH = 5 * 1024 * 1024
    ROSTER_MAX_BYTES = 2 * 1024 * 1024
    ROSTER_MAX_ROWS = 5000
    ROSTER_XLSX_MAX_UNPACKED = 8 * 1024 * 1024  # all the parts of an XLSX, unpacked
    # Photos of a whistle or a progress note: JPEG or PNG, each at most PHOTO_MAX_BYTES and PHOTO_MAX_PIXELS
    # (a larger picture is refused before it is decoded), at most PHOTO_MAX_FILES in one form. The forms that
    # carry photos accept requests up to PHOTO_MAX_FILES * PHOTO_MAX_BYTES + MAX_CONTENT_LENGTH.
    PHOTO_MAX_BYTES = 8 * 1024 * 1024
    PHOTO_MAX_PIXELS = 50_000_000
    PHOTO_MAX_FILES = 6
    WTF_CSRF_TIME_LIMIT = None
    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = {"zh_Hans_CN": "简体中文", "en": "English"}
    # Login throttling (auth/throttle.py), counted in the database: the first LOGIN_MAX_FAILURES failed tries
    # for an account name (LOGIN_MAX_FAILURES_PER_ADDRESS from one client address) are free; after that every
    # try waits LOGIN_DELAY_SECONDS, doubling with each further failure up to LOGIN_MAX_DELAY_SECONDS. A counter
    # with no failure for LOGIN_FORGET_HOURS starts again. At an address the account logged in from within
    # LOGIN_USUAL_ADDRESS_DAYS it counts on a counter of its own, so a stranger's failures do not keep the owner out.
    LOGIN_MAX_FAILURES = 5
    LOGIN_DELAY_SECONDS = 30
    LOGIN_MAX_DELAY_SECONDS = 900
    LOGIN_FORGET_HOURS = 24
    LOGIN_USUAL_ADDRESS_DAYS = 30
    # 居民点单, the public form of residents' requests (resident/services.py), counted per client address in the
    # login throttle's table: RESIDENT_REQUESTS_FREE requests pass, then each further one waits
    # RESIDENT_REQUEST_DELAY_SECONDS, doubling, at most RESIDENT_REQUEST_MAX_DELAY_SECONDS. Wrong status codes:
    # RESIDENT_WRONG_CODES_FREE, then the login delays. The form must have been open at least
    # RESIDENT_FORM_MIN_SECONDS (a person reads and types; a script posts at once) and at most
    # RESIDENT_FORM_MAX_SECONDS. A request's body is at most RESIDENT_FORM_MAX_BYTES.
    RESIDENT_REQUEST_DELAY_SECONDS = 600
    RESIDENT_REQUEST_MAX_DELAY_SECONDS = 24 * 3600
    RESIDENT_WRONG_CODES_FREE = 10
    # The public checks of a certificate's or a letter's serial: wrong serials a client may look up before each
    # further lookup waits (auth/public.py).
    PUBLIC_WRONG_LOOKUPS_FREE = 20
    RESIDENT_FORM_MIN_SECONDS = 4
    RESIDENT_FORM_MAX_SECONDS = 2 * 3600
    RESIDENT_FORM_MAX_BYTES = 16 * 1024
    # A user's own password: werkzeug's current default, scrypt with n=2**15, r=8, p=1 (32 MiB), spelt out so
    # that a hash made any other way is recognised and made again at the owner's next login.
    PASSWORD_HASH_METHOD = "scrypt:32768:8:1"
    # Initial passwords are random (about 58 bits) and must be changed at first
    # login, so a cheaper hash is safe for them and lets a 500-row roster import
    # finish in seconds instead of a minute. The password the user then chooses
    # gets PASSWORD_HASH_METHOD.
    INITIAL_PASSWORD_HASH_METHOD = "pbkdf2:sha256:20000"
    PASSWORD_MIN_LENGTH = 10
    PAGE_SIZE = 50
    # The open API's OpenAPI document (flask-smorest): served at /api/v1/openapi.json, read at /api/v1/docs.
    API_TITLE = "kmvolunteer"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.1.0"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_ENABLED = True


class TestConfig(Config):
    TESTING = True
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    INITIAL_PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    # The browser tests' pages fetch the style sheets and scripts once per browser, not again on every page.
    SEND_FILE_MAX_AGE_DEFAULT = 3600

    def __init__(self, database_url: str) -> None:
        super().__init__()
        self.SECRET_KEY = "test-secret-key-not-for-production"
        self.SQLALCHEMY_DATABASE_URI = database_url
