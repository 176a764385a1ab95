"""One-time submission keys: a form that creates something, sent twice, creates it once.

A write can be committed while its answer never reaches the user (a dropped connection, a killed
worker); the user then sends the form again. Every form that creates something carries a hidden
``submission_key`` (``{{ submission_key() }}`` in the template, fresh at each rendering). When a
request that carries a key commits changes, a ``Submission`` row with that key is written in the same
transaction, so the key is recorded exactly when the record is. The answer (a 303's location) is
added to the row after the view returns. A request whose key is already recorded gets the first
answer again instead of running the view: a 303 to the same place, or, if the first answer was never
recorded, a page saying it was already saved. Two identical requests at once both run, and the
second one's commit fails on the unique key; errors.py then answers it as a repeat.

No view has to do anything: the key in the form is the whole opt-in.
"""

from __future__ import annotations

import re
import secrets
import time
from datetime import datetime, timedelta
from typing import Any

from flask import (
    Flask,
    Response,
    flash,
    g,
    has_request_context,
    render_template,
    request,
)
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import (
    DateTime,
    ForeignKey,
    SmallInteger,
    String,
    delete,
    event,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column

from kmvolunteer.core.htmx import is_htmx, referrer_path, safe_next, see_other
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db

FIELD = "submission_key"
KEY_RE = re.compile(r"[0-9a-f]{32}")
KEEP = timedelta(days=7)
# A repeat that arrives while the first request is still answering waits this long for its answer.
FIRST_ANSWER_WAIT = 1.0


class Submission(db.Model):
    __tablename__ = "submission"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    status: Mapped[int | None] = mapped_column(SmallInteger)
    location: Mapped[str | None] = mapped_column(String(2000))


def hidden_field() -> Markup:
    """``{{ submission_key() }}``: the hidden input a create form carries (new at each rendering)."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, secrets.token_hex(16))


def _user_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def _request_key() -> str | None:
    """The key of this POST, if it carries a well-formed one (anything else is simply not a key)."""
    if request.method != "POST":
        return None
    key = request.form.get(FIELD, "")
    return key if KEY_RE.fullmatch(key) else None


def _recorded(key: str) -> tuple[int | None, str | None] | None:
    row = db.session.execute(
        select(Submission.status, Submission.location).where(Submission.key == key, Submission.user_id == _user_id())
    ).first()
    return None if row is None else (row.status, row.location)


def _answer(key: str, recorded: tuple[int | None, str | None]) -> Response:
    """The first answer again: a 303 to where it went, or a page saying it was already saved."""
    deadline = time.monotonic() + FIRST_ANSWER_WAIT
    while recorded[0] is None and time.monotonic() < deadline:
        time.sleep(0.1)  # the first request has committed and is writing its answer right now
        recorded = _recorded(key) or recorded
    location = recorded[1]
    if location:
        flash(_("This form had already been sent. It was saved the first time and not again."), "info")
        return see_other(location)
    back = safe_next(referrer_path(), "/")
    template = "errors/_already_saved.html" if is_htmx() else "errors/already_saved.html"
    return Response(render_template(template, back=back), 200)


def answer_repeat() -> Response | None:
    """After a failed commit: if this request's key was recorded meanwhile (by a twin request), its answer."""
    key = g.get("submission_key")
    if key is None:
        return None
    try:
        recorded = _recorded(key)
    except SQLAlchemyError:  # the database may be the reason the commit failed
        db.session.rollback()
        return None
    return None if recorded is None else _answer(key, recorded)


def _check_repeat() -> Response | None:
    key = _request_key()
    if key is None:
        return None
    g.submission_key = key
    recorded = _recorded(key)
    return None if recorded is None else _answer(key, recorded)


def _record_answer(response: Response) -> Response:
    """Write the answer next to the key recorded with the change, and forget keys older than KEEP.

    A request that saved nothing and was refused is answered as a repeat if its key was saved meanwhile.
    """
    key = g.get("submission_key")
    if key is None:
        return response
    if not g.get("submission_recorded"):
        # Refused because a twin request with the same key got there first (say, as a duplicate entry)?
        return (answer_repeat() or response) if response.status_code >= 400 else response
    location = response.headers.get("Location") if 300 <= response.status_code < 400 else None
    try:
        db.session.execute(
            update(Submission).where(Submission.key == key).values(status=response.status_code, location=location)
        )
        db.session.execute(delete(Submission).where(Submission.created_at < utcnow() - KEEP))
        db.session.commit()
    except SQLAlchemyError:  # the change itself is saved; a repeat will say so without the link
        db.session.rollback()
    return response


@event.listens_for(Session, "after_flush")
def _wrote(session: Session, flush_context: Any) -> None:
    if has_request_context() and g.get("submission_key"):
        g.submission_wrote = True


@event.listens_for(Session, "do_orm_execute")
def _wrote_in_bulk(state: Any) -> None:
    if (state.is_insert or state.is_update or state.is_delete) and has_request_context() and g.get("submission_key"):
        g.submission_wrote = True


@event.listens_for(Session, "before_commit")
def _record_key(session: Session) -> None:
    """The key goes into the transaction that saves the change (once per request)."""
    if session.in_nested_transaction() or not has_request_context():
        return
    key = g.get("submission_key")
    if key is None or g.get("submission_recorded"):
        return
    session.flush()
    if g.get("submission_wrote"):
        session.add(Submission(key=key, user_id=_user_id()))
        g.submission_recorded = True


def init_app(app: Flask) -> None:
    app.jinja_env.globals["submission_key"] = hidden_field
    app.before_request(_check_repeat)
    app.after_request(_record_answer)
