"""kmvolunteer: 双报到双服务双报告 for Kunming's on-duty party members."""

from __future__ import annotations

import logging
import re
import uuid

from flask import Flask, abort, g, has_request_context, request, session
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import joinedload
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from kmvolunteer.config import PROJECT_ROOT, Config
from kmvolunteer.core.text import MAX_ID
from kmvolunteer.core.time import to_local
from kmvolunteer.extensions import babel, csrf, db, login_manager, migrate

HTMX_SCRIPT = "js/htmx-4.0.1.min.js"
# C0 control characters and DEL, but tab, line feed and carriage return.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
RESERVED_QUERY_ARGUMENTS = frozenset({"endpoint", "_anchor", "_method", "_scheme", "_external"})


class IdConverter(IntegerConverter):
    """<int:…> in URLs: ids only, so /areas/99999999999999999999 is a 404 and not a database overflow."""

    def __init__(self, url_map, **kwargs) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, **kwargs)


def create_app(config: object | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_object(config or Config())
    app.url_map.converters["int"] = IdConverter
    if app.config.get("PROXY_HOPS"):
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    _sqlite_busy_timeout(app)
    _init_extensions(app)
    _register_blueprints(app)
    _init_templates(app)

    from kmvolunteer import cli, errors
    from kmvolunteer.core import htmx, security, submissions

    errors.init_app(app)
    htmx.init_app(app)
    security.init_app(app)
    submissions.init_app(app)
    cli.init_app(app)

    @app.before_request
    def _request_id() -> None:
        g.request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex[:12]

    @app.before_request
    def _refuse_control_characters() -> None:
        """Control characters (but tab and line breaks) are never real input, and PostgreSQL cannot store
        a NUL: refuse them in query arguments and form fields up front. Uploaded files are not looked at."""
        for values in (request.args, request.form):
            for key, value in values.items(multi=True):
                if CONTROL_CHARACTERS.search(key) or CONTROL_CHARACTERS.search(value):
                    abort(
                        400,
                        description=str(
                            _l(
                                "The form contained control characters, which cannot be used. "
                                "Remove them (they often come with text pasted from another "
                                "program) and try again."
                            )
                        ),
                    )

    @app.before_request
    def _refuse_url_for_parameters() -> None:
        """No page takes a query argument named like url_for's own parameters; a template that passes the
        query on to url_for would take ?_method=POST or ?endpoint=x as one and fail."""
        if RESERVED_QUERY_ARGUMENTS.intersection(request.args):
            abort(400, description=str(_l("The address contains a parameter this site does not use.")))

    logging.basicConfig(level=logging.INFO)
    return app


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """WAL and foreign keys for every SQLite connection (the busy timeout is set in _sqlite_busy_timeout)."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def _sqlite_busy_timeout(app: Flask) -> None:
    """A writer waits this long for SQLite's write lock, then the request gets a 503 (errors.py).

    Short, so that waiting writers do not hold every worker thread while readers (which WAL never
    blocks) queue behind them.
    """
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
        options["connect_args"] = {
            **options.get("connect_args", {}),
            "timeout": app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000,
        }
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _init_extensions(app: Flask) -> None:
    # Every model must be imported for Alembic.
    from kmvolunteer.api import models as api_models  # noqa: F401
    from kmvolunteer.auth.models import RoleGrant, User
    from kmvolunteer.bulletins import models as bulletins_models  # noqa: F401
    from kmvolunteer.core import audit, submissions  # noqa: F401
    from kmvolunteer.letters import models as letters_models  # noqa: F401
    from kmvolunteer.notices import models as notices_models  # noqa: F401
    from kmvolunteer.notices.services import unread_notices
    from kmvolunteer.onsite import models as onsite_models  # noqa: F401
    from kmvolunteer.org import models  # noqa: F401
    from kmvolunteer.org.models import Agency, Branch, Member
    from kmvolunteer.reportin import models as reportin_models  # noqa: F401
    from kmvolunteer.reports import models as reports_models  # noqa: F401
    from kmvolunteer.resident import models as resident_models  # noqa: F401
    from kmvolunteer.service import models as service_models  # noqa: F401
    from kmvolunteer.tallies import models as tallies_models  # noqa: F401
    from kmvolunteer.whistles import models as whistles_models  # noqa: F401
    from kmvolunteer.years import models as years_models  # noqa: F401

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"

    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"

    # Every page asks for the grants and their places, and a member's pages for their branch, agency
    # and its place: one query for all, its options built once rather than for every request.
    user_options = [
        joinedload(User.grants).options(
            joinedload(RoleGrant.area),
            joinedload(RoleGrant.branch),
            joinedload(RoleGrant.department),
            joinedload(RoleGrant.agency).joinedload(Agency.area),
        ),
        joinedload(User.member).joinedload(Member.branch).joinedload(Branch.agency).joinedload(Agency.area),
    ]

    @login_manager.user_loader
    def _load_user(session_id: str) -> User | None:
        user_id, _, version = session_id.partition(":")
        if not user_id.isdigit():
            return None
        # The user, their grants and member row (user_options), and the menu's unread notices: one query.
        query = select(User, unread_notices(User.id)).where(User.id == int(user_id)).options(*user_options)
        row = db.session.execute(query).unique().one_or_none()
        if row is None or not row[0].active or str(row[0].session_version) != version:
            return None
        g.unread_notices = row[1]
        return row[0]

    def select_locale() -> str:
        languages = app.config["LANGUAGES"]
        if not has_request_context():
            return app.config["BABEL_DEFAULT_LOCALE"]
        if current_user.is_authenticated and current_user.locale in languages:
            return current_user.locale
        chosen = session.get("locale")
        return chosen if chosen in languages else app.config["BABEL_DEFAULT_LOCALE"]

    babel.init_app(app, locale_selector=select_locale)


def _register_blueprints(app: Flask) -> None:
    from kmvolunteer.agencyorg.views import bp as agencyorg_bp
    from kmvolunteer.api import setup as api_setup
    from kmvolunteer.api.pages import bp as api_tokens_bp
    from kmvolunteer.audit.views import bp as audit_bp
    from kmvolunteer.auth.admin import bp as accounts_bp
    from kmvolunteer.auth.views import bp as auth_bp
    from kmvolunteer.bodies.views import bp as bodies_bp
    from kmvolunteer.bulletins.views import bp as bulletins_bp
    from kmvolunteer.estates.views import bp as estates_bp
    from kmvolunteer.home.views import bp as home_bp
    from kmvolunteer.letters.views import bp as letters_bp
    from kmvolunteer.notices.views import bp as notices_bp
    from kmvolunteer.onsite.views import bp as onsite_bp
    from kmvolunteer.org.views import bp as org_bp
    from kmvolunteer.points.views import bp as points_bp
    from kmvolunteer.reportin.views import bp as reportin_bp
    from kmvolunteer.reports.views import bp as reports_bp
    from kmvolunteer.resident.views import bp as resident_bp
    from kmvolunteer.service.views import bp as service_bp
    from kmvolunteer.tallies.views import bp as tallies_bp
    from kmvolunteer.whistles.views import bp as whistles_bp

    for blueprint in (
        home_bp,
        auth_bp,
        accounts_bp,
        org_bp,
        audit_bp,
        reportin_bp,
        estates_bp,
        bodies_bp,
        service_bp,
        reports_bp,
        letters_bp,
        tallies_bp,
        points_bp,
        agencyorg_bp,
        bulletins_bp,
        whistles_bp,
        notices_bp,
        resident_bp,
        onsite_bp,
        api_tokens_bp,
    ):
        app.register_blueprint(blueprint)
    api_setup.init_app(app)


def _init_templates(app: Flask) -> None:
    from flask_babel import get_locale

    from kmvolunteer.auth.labels import LEVEL_LABELS, ROLE_LABELS
    from kmvolunteer.auth.policy import can
    from kmvolunteer.core.htmx import page_url
    from kmvolunteer.core.text import catalog, mask_mobiles, mask_phone, mask_username, scroll_box

    app.jinja_env.globals.update(
        can=can,
        htmx_script=HTMX_SCRIPT,
        get_locale=get_locale,
        page_url=page_url,
        role_labels=ROLE_LABELS,
        level_labels=LEVEL_LABELS,
        scroll_box=scroll_box,
    )
    app.jinja_env.filters["mask_phone"] = mask_phone
    app.jinja_env.filters["mask_username"] = mask_username
    app.jinja_env.filters["mask_mobiles"] = mask_mobiles
    app.jinja_env.filters["datetime"] = lambda value, fmt="yyyy-MM-dd HH:mm": (
        format_datetime(value, fmt) if value else ""
    )
    # A list's rows give their times by strftime: numbers only, the same in every language, and a tenth
    # of what |datetime (Babel's patterns) takes a row.
    app.jinja_env.filters["local_time"] = lambda value, fmt: to_local(value).strftime(fmt) if value else ""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: catalog().ugettext(s),
        ngettext=lambda s, p, n: catalog().ungettext(s, p, n),
        pgettext=lambda c, s: catalog().upgettext(c, s),
        npgettext=lambda c, s, p, n: catalog().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.add_extension("jinja2.ext.loopcontrols")
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
