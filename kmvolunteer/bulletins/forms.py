from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, NumberRange, Optional

from kmvolunteer.core.forms import IdField
from kmvolunteer.years.rules import YEAR_MAX, YEAR_MIN


class DraftForm(FlaskForm):
    area_id = IdField(_l("Area"), validators=[DataRequired(_l("Choose the area."))])  # a <select> in the page
    year = IntegerField(
        _l("Year"),
        validators=[
            DataRequired(_l("Enter the year.")),
            NumberRange(YEAR_MIN, YEAR_MAX, _l("Between %(min)d and %(max)d.", min=YEAR_MIN, max=YEAR_MAX)),
        ],
    )
    name_members = BooleanField(_l("Also name the members who fell short (where the year's rule says so)"))


class TextForm(FlaskForm):
    """Lengths are the service's to check: its message goes under the field."""

    title = StringField(_l("Title"))
    issuer = StringField(_l("Issuing department"))
    preamble = TextAreaField(_l("Preamble"))
    closing = TextAreaField(_l("Closing"))


class RefreshForm(FlaskForm):
    name_members = BooleanField(_l("Also name the members who fell short (where the year's rule says so)"))


class ExampleForm(FlaskForm):
    agency_id = IdField(_l("Agency"), validators=[Optional()])
    branch_id = IdField(_l("Branch"), validators=[Optional()])
    name = StringField(_l("Or a title of your own"))
    text = TextAreaField(_l("What they did, in a sentence"))


class RemoveExampleForm(FlaskForm):
    example_id = IdField(validators=[DataRequired()])
