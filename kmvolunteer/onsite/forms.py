"""Forms of 现场签到: opening a session, the code a member types, the organizer's sheet. The rules are the
services'; the forms carry the fields."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, TimeField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from kmvolunteer.core.forms import DateField, IdField
from kmvolunteer.core.time import local_today


class OpenForm(FlaskForm):
    day = DateField(_l("Date"), default=local_today, validators=[DataRequired(_l("Enter the date of the activity."))])
    start_time = TimeField(_l("Start time"), validators=[DataRequired(_l("Enter the start time."))])
    end_time = TimeField(
        _l("End time"),
        validators=[DataRequired(_l("Enter the end time."))],
        description=_l("An end time before the start time is on the next day."),
    )
    capacity = IntegerField(
        _l("Places (optional)"),
        validators=[Optional(), NumberRange(min=1, max=10000, message=_l("Enter a number of places from 1."))],
        description=_l("Sign-ins stop when the places are taken. Leave empty for no limit."),
    )


class CodeForm(FlaskForm):
    code = StringField(
        _l("Sign-in code"),
        validators=[DataRequired(_l("Type the 6-digit code shown on the organizer's screen.")), Length(max=20)],
        description=_l("The 6 digits shown on the organizer's screen; they change every minute."),
    )


class AddForm(FlaskForm):
    member_id = IdField(_l("Member"), validators=[DataRequired(_l("Choose the member."))])


class CorrectForm(FlaskForm):
    signed_in = TimeField(_l("Came at"), validators=[DataRequired(_l("Enter the time of arrival."))])
    signed_out = TimeField(_l("Left at"), validators=[Optional()])
    reason = StringField(
        _l("Why is it corrected?"),
        validators=[DataRequired(_l("Say why the time is corrected.")), Length(max=255)],
    )


class CloseForm(FlaskForm):
    late_reason = StringField(
        _l("Why is it recorded late? (only when it is)"), validators=[Optional(), Length(max=255)]
    )


class CancelForm(FlaskForm):
    reason = StringField(
        _l("Why is the session cancelled?"),
        validators=[DataRequired(_l("Say why the session is cancelled.")), Length(max=255)],
    )
