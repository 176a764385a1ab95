from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField, TimeField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.forms import DateField
from kmvolunteer.core.text import parse_id
from kmvolunteer.core.time import local_today


def _optional_int(value):
    return parse_id(value)


class EntryForm(FlaskForm):
    """One service entry, as quick as possible on a phone: date, hours, what you did."""

    service_date = DateField(
        _l("Date of the service"),
        default=local_today,
        validators=[DataRequired(_l("Enter the date of the service, such as 2026-05-01."))],
    )
    hours = StringField(
        _l("Hours"),
        validators=[Optional(), Length(max=8)],
        description=_l("In steps of half an hour, such as 1, 1.5 or 2. Not counting travel."),
    )
    start_time = TimeField(_l("Start time"), validators=[Optional()])
    end_time = TimeField(_l("End time"), validators=[Optional()])
    content = TextAreaField(
        _l("What you did"), validators=[DataRequired(_l("Describe the service you gave.")), Length(max=2000)]
    )
    community_id = SelectField(_l("Community"), coerce=_optional_int, validate_choice=False)
    need_id = SelectField(_l("Need or post (if any)"), coerce=_optional_int, validate_choice=False)
    place = StringField(_l("Place"), validators=[Optional(), Length(max=100)])
    organizer = StringField(_l("Organizer"), validators=[Optional(), Length(max=100)])
    person_in_charge = StringField(_l("Person in charge"), validators=[Optional(), Length(max=50)])
    late_reason = StringField(
        _l("Why is it recorded late?"),
        validators=[Optional(), Length(max=255)],
        description=_l("Needed when the service was more than 10 working days ago."),
    )

    def validate_hours(self, field) -> None:
        from kmvolunteer.service.services import parse_hours

        try:
            parse_hours(field.data)
        except ServiceError as exc:
            raise ValidationError(exc.message) from exc

    def validate(self, extra_validators=None) -> bool:
        """Also the hours against the times, so every mistake shows at once (on a phone, not one per try)."""
        from kmvolunteer.service.services import half_hours_from, parse_hours

        valid = super().validate(extra_validators)
        if not (self.hours.errors or self.start_time.errors or self.end_time.errors):
            try:
                half_hours_from(self.start_time.data, self.end_time.data, parse_hours(self.hours.data))
            except ServiceError as exc:
                getattr(self, exc.field or "hours").errors.append(exc.message)
                valid = False
        return valid


class ReasonForm(FlaskForm):
    """A reason for return, reject or revoke. The CSRF token comes with the page's header or the
    enclosing form (the app-wide CSRF protection checks every POST)."""

    class Meta:
        csrf = False

    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=255)])


class QueueFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField(_l("Status"), default="submitted")
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
    member = StringField(_l("Member (name or phone)"), validators=[Optional(), Length(max=50)])
    branch = SelectField(_l("Branch"), coerce=_optional_int, validate_choice=False)
    need = SelectField(_l("Need or post"), coerce=_optional_int, validate_choice=False)
    sort = SelectField(_l("Sort by"), default="submitted", validate_choice=False)


class AttendanceForm(FlaskForm):
    need_id = SelectField(
        _l("Need or post"),
        coerce=_optional_int,
        validate_choice=False,
        validators=[DataRequired(_l("Choose the need or post."))],
    )
    service_date = DateField(
        _l("Date"), default=local_today, validators=[DataRequired(_l("Enter the date of the activity."))]
    )
    hours = StringField(_l("Hours for each attendee"), validators=[Optional(), Length(max=8)])
    start_time = TimeField(_l("Start time"), validators=[Optional()])
    end_time = TimeField(_l("End time"), validators=[Optional()])
    content = StringField(
        _l("What was done"),
        validators=[Optional(), Length(max=2000)],
        description=_l("Leave empty to use the need's title."),
    )
    late_reason = StringField(_l("Why is it recorded late?"), validators=[Optional(), Length(max=255)])

    def validate_hours(self, field) -> None:
        from kmvolunteer.service.services import parse_hours

        try:
            parse_hours(field.data)
        except ServiceError as exc:
            raise ValidationError(exc.message) from exc


class CertificateForm(FlaskForm):
    year = SelectField(_l("Year"), coerce=_optional_int, validators=[DataRequired(_l("Choose a year."))])


class WorkdayForm(FlaskForm):
    day = DateField(_l("Date"), validators=[DataRequired(_l("Choose a date."))])
    kind = SelectField(
        _l("In Kunming this day is"),
        choices=[("off", _l("a day off (holiday)")), ("work", _l("a working day (make-up day)"))],
    )
    note = StringField(
        _l("Note"), validators=[Optional(), Length(max=100)], description=_l("E.g. the notice that sets it.")
    )
