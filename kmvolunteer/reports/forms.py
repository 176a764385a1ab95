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
    report_in_days = IntegerField(
        _l("Report in within (days)"),
        validators=[Optional(), NumberRange(1, 366, _l("Between 1 and 366 days."))],
        description=_l("Of the year's start, or of joining the roster later. Empty: no deadline."),
    )
    unit_report_in_rate = IntegerField(
        _l("A branch's members reported in, at least (%)"),
        validators=[Optional(), NumberRange(1, 100, _l("Between 1 and 100."))],
        description=_l("Empty: no threshold."),
    )
    unit_min_projects = IntegerField(
        _l("Co-building projects done per branch, at least"),
        validators=[Optional(), NumberRange(0, 50, _l("Between 0 and 50."))],
    )
    brand_city_min = IntegerField(
        _l("红色物业: a city-level brand from (score of 30)"),
        validators=[Optional(), NumberRange(6, 30, _l("Between 6 and 30."))],
    )
    brand_district_min = IntegerField(
        _l("红色物业: a district-level brand from (score of 30)"),
        validators=[Optional(), NumberRange(6, 30, _l("Between 6 and 30."))],
    )
    mark_review = BooleanField(_l("Falling short is marked in the democratic review (民主评议)"))
    bar_honours = BooleanField(_l("Falling short bars honours (评先评优) that year"))
    name_in_bulletin = BooleanField(_l("Falling short is named in the bulletin (通报)"))


class SheetForm(FlaskForm):
    note = TextAreaField(_l("General remarks"), validators=[Optional(), Length(max=2000)])


class GenerateForm(FlaskForm):
    branch_id = IdField(validators=[DataRequired()])
    period = StringField(validators=[DataRequired(), Length(max=4)])


class BulkRateForm(FlaskForm):
    rating = StringField(default="good", validators=[DataRequired(), Length(max=16)])
