"""Form fields shared by every feature."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import DateField as _WTFormsDateField
from wtforms import IntegerField
from wtforms.validators import StopValidation

from kmvolunteer.core.text import MAX_ID

FIRST_DATE = date(2000, 1, 1)
LAST_DATE = date(2100, 12, 31)


class DateField(_WTFormsDateField):
    """A date between FIRST_DATE and LAST_DATE. 0001-01-01 or 9999-12-31 is nobody's date, and
    reaches no query (shifting it to UTC or adding a day would overflow)."""

    def pre_validate(self, form) -> None:
        super().pre_validate(form)
        if self.data is not None and not FIRST_DATE <= self.data <= LAST_DATE:
            self.data = None
            raise StopValidation(
                _l(
                    "Enter a date between %(first)s and %(last)s.",
                    first=FIRST_DATE.isoformat(),
                    last=LAST_DATE.isoformat(),
                )
            )


class IdField(IntegerField):
    """The id of a row, as a hidden field or a choice: a number beyond what the database holds is no id
    (and must never reach a query, where PostgreSQL would refuse it with an error)."""

    def pre_validate(self, form) -> None:
        super().pre_validate(form)
        if self.data is not None and not 0 < self.data <= MAX_ID:
            self.data = None
            raise StopValidation(_l("Choose from the list."))
