"""The points scheme's form: whole numbers typed in boxes; their ranges and order are checked by
services.set_scheme, whose message goes under the field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length

from kmvolunteer.points.models import RATES, STARS

LABELS = {
    "per_hour": _l("Per approved hour of service"),
    "per_activity": _l("Per approved activity"),
    "per_report": _l("Per report handed in"),
    "grade_excellent": _l("Rated excellent"),
    "grade_good": _l("Rated satisfactory"),
    "grade_fair": _l("Rated basically satisfactory"),
    "grade_poor": _l("Rated unsatisfactory"),
    "per_whistle": _l("Per whistle handled (department officers)"),
    "star_1": _l("One star"),
    "star_2": _l("Two stars"),
    "star_3": _l("Three stars"),
    "star_4": _l("Four stars"),
    "star_5": _l("Five stars"),
}


class SchemeForm(FlaskForm):
    """积分方案 of one year: the points of each kind of work, and the points each star needs."""


for _name in RATES + STARS:
    setattr(SchemeForm, _name, StringField(LABELS[_name], validators=[Length(max=7)]))


def whole_numbers(form: SchemeForm) -> dict[str, int | None]:
    """Each box as a whole number, or None (refused by set_scheme with the range)."""
    values: dict[str, int | None] = {}
    for name in RATES + STARS:
        text = (form[name].data or "").strip()
        values[name] = int(text) if text.isascii() and text.isdigit() and len(text) <= 7 else None
    return values
