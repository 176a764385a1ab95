"""A refused change shown where the user asked for it.

A view needs nothing for most refusals: errors.py answers every ``ServiceError`` a view lets through
(rolled back; a flashed message and a 303 back to the page the request came from, or for an htmx
fragment a 422 message in the page's alert region). A view that shows the refusal itself — a form
re-rendered with the message under its field, a row re-rendered with the message in it — makes the
change inside ``with refused(form) as refusal:`` and, when refused, carries on after the block.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from wtforms import Form

from kmvolunteer.core.errors import ServiceError
from kmvolunteer.extensions import db


@dataclass
class Refusal:
    """What a ``refused`` block caught; false when the change went through."""

    error: ServiceError | None = None

    @property
    def message(self) -> str | None:
        return self.error.message if self.error is not None else None

    def __bool__(self) -> bool:
        return self.error is not None


@contextmanager
def refused(form: Form | None = None) -> Iterator[Refusal]:
    """Catch a ``ServiceError`` raised in the block and roll the session back.

    With a ``form``, the message goes under the field the error names (``error.field``), else to the
    form's own errors; either way the form's error summary shows it.
    """
    refusal = Refusal()
    try:
        yield refusal
    except ServiceError as error:
        db.session.rollback()
        refusal.error = error
        if form is not None:
            field = form[error.field] if error.field and error.field in form else None
            if field is not None:
                field.errors = [*field.errors, error.message]
            else:
                form.form_errors.append(error.message)
