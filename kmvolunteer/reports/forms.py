from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from kmvolunteer.core.forms import DateField, IdField
from kmvolunteer.years.rules import (
    FREQUENCY_LABELS,
    REPORT_PERIOD_LABELS,
    YEAR_MAX,
    YEAR_MIN,
)


class YearForm(FlaskForm):
    class Meta:
        csrf = False

    year = IntegerField(_l("Year"), validators=[Optional(), NumberRange(YEAR_MIN, YEAR_MAX)])


class ReportForm(FlaskForm):
    body = TextAreaField(
        _l("Your report"),
        validators=[Length(max=5000)],
        description=_l("What you did, what you learned, what you plan next. A few lines are enough."),
    )
    action = StringField(default="save")


class AckForm(FlaskForm):
    comment = TextAreaField(_l("Comment (optional)"), validators=[Optional(), Length(max=1000)])


class RuleForm(FlaskForm):
    min_hours = DecimalField(
        _l("Minimum approved hours"),
        places=1,
        validators=[
            DataRequired(_l("Enter the minimum hours (0 for none).")),
            NumberRange(0, 1000, _l("Between 0 and 1000 hours.")),
        ],
        description=_l("In steps of 0.5 hours."),
    )
    min_activities = IntegerField(
        _l("Minimum activities"), validators=[Optional(), NumberRange(0, 366, _l("Between 0 and 366."))]
    )
    report_required = BooleanField(_l("A member report is required"))
    report_period = SelectField(_l("Members report"), choices=list(REPORT_PERIOD_LABELS.items()))
    report_due = DateField(_l("Reports due by"), validators=[Optional()])
    evaluation_due = DateField(_l("Evaluations due by"), validators=[Optional()])
    feedback_frequency = SelectField(_l("Communities send feedback"), choices=list(FREQUENCY_LABELS.items()))


class SheetForm(FlaskForm):
    note = TextAreaField(_l("General remarks"), validators=[Optional(), Length(max=2000)])


class GenerateForm(FlaskForm):
    branch_id = IdField(validators=[DataRequired()])
    period = StringField(validators=[DataRequired(), Length(max=4)])


class BulkRateForm(FlaskForm):
    rating = StringField(default="good", validators=[DataRequired(), Length(max=16)])
