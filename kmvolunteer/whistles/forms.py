"""Forms of the 吹哨报到 pages. The rules (lengths, the tier of a department, the category) are the
services'; the forms carry the fields and the limits a browser can show."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from kmvolunteer.core.text import parse_id
from kmvolunteer.whistles.services import WhistleData


class WhistleForm(FlaskForm):
    """吹哨: what, where, what kind, how urgent, whom to summon, and photos. Missing fields are refused by
    services.blow, with its message under the field; the photos are checked by photos.prepare."""

    title = StringField(_l("The problem in one line"), validators=[Optional(), Length(max=100)])
    problem = TextAreaField(_l("What is the problem"), validators=[Optional(), Length(max=2000)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=200)])
    spot = SelectField(_l("Estate or grid (optional)"), validate_choice=False)
    category_id = SelectField(_l("Category"), coerce=parse_id, validate_choice=False)
    urgency = RadioField(
        _l("Urgency"),
        choices=[("normal", _l("Normal")), ("urgent", _l("Urgent"))],
        default="normal",
        validate_choice=False,
    )
    departments = SelectMultipleField(
        _l("Departments summoned"),
        coerce=str,
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    photos = MultipleFileField(_l("Photos (optional)"))

    def whistle_data(self) -> WhistleData:
        """What services.blow takes, from the form's fields."""
        return WhistleData(
            title=self.title.data or "",
            problem=self.problem.data or "",
            address=self.address.data or "",
            category_id=self.category_id.data,
            urgency=self.urgency.data or "",
            spot=self.spot.data or "",
        )


class FilterForm(FlaskForm):
    """The status filter of the whistle list and the department queue (a GET form)."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"), validate_choice=False)


class RuleForm(FlaskForm):
    """One tier and urgency's deadlines; the ranges are deadlines.RANGES, checked by deadlines.set_rule."""

    tier = StringField()
    urgency = StringField()
    sign_minutes = StringField(_l("Sign within (working minutes)"), validators=[Length(max=6)])
    contact_hours = StringField(_l("Contact within (hours)"), validators=[Length(max=6)])
    handle_days = StringField(_l("Handle within (working days)"), validators=[Length(max=6)])
