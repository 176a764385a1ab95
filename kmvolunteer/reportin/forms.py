from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from kmvolunteer.core.forms import DateField
from kmvolunteer.core.text import parse_id
from kmvolunteer.reportin.services import NeedData


def _int_or_none(value):
    return parse_id(value)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PlaceForm(FlaskForm):
    """District → subdistrict → community; the chosen community is what counts."""

    district = SelectField(_l("District"), coerce=_int_or_none, validate_choice=False)
    subdistrict = SelectField(_l("Subdistrict"), coerce=_int_or_none, validate_choice=False)
    community = SelectField(
        _l("Community"),
        coerce=_int_or_none,
        validate_choice=False,
        validators=[DataRequired(_l("Choose your community."))],
    )


class MemberReportInForm(PlaceForm):
    skills = StringField(
        _l("Skills"),
        validators=[Optional(), Length(max=255)],
        description=_l("For example: law, first aid, computers. Separate them with commas."),
    )
    categories = MultiCheckboxField(_l("Service categories you offer"), coerce=int)


class BranchReportInForm(PlaceForm):
    community = SelectField(
        _l("Community"),
        coerce=_int_or_none,
        validate_choice=False,
        validators=[DataRequired(_l("Choose the community the branch will co-build with."))],
    )
    term_start = DateField(_l("Agreement starts"), validators=[DataRequired(_l("Enter the start date."))])
    term_end = DateField(_l("Agreement ends"), validators=[DataRequired(_l("Enter the end date."))])
    contact_name = StringField(
        _l("Contact person"), validators=[DataRequired(_l("Enter the contact person.")), Length(max=50)]
    )
    contact_phone = StringField(
        _l("Contact phone"), validators=[DataRequired(_l("Enter the contact phone.")), Length(max=20)]
    )
    branch_commitments = TextAreaField(
        _l("What the branch commits to"),
        validators=[DataRequired(_l("Say what the branch commits to.")), Length(max=2000)],
    )
    community_commitments = TextAreaField(
        _l("What the community commits to"), validators=[Optional(), Length(max=2000)]
    )


class ReasonForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(_l("Give a reason.")), Length(max=255)])


class NeedForm(FlaskForm):
    kind = RadioField(_l("Kind"), choices=[("need", _l("Need")), ("post", _l("Volunteer post"))], default="need")
    title = StringField(_l("Title"), validators=[DataRequired(_l("Enter a title.")), Length(max=100)])
    category = SelectField(_l("Service category"), coerce=_int_or_none, validate_choice=False)
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])
    spot = SelectField(_l("Estate or grid"), validate_choice=False)
    place = StringField(
        _l("Place"), validators=[Optional(), Length(max=100)], description=_l("For example: building 3, the square")
    )
    skills = StringField(
        _l("Skills wanted (optional)"),
        validators=[Optional(), Length(max=255)],
        description=_l("Separate them with commas, for example: medicine, law"),
    )
    on_date = DateField(_l("Date"), validators=[Optional()])
    start_time = TimeField(_l("Start time"), validators=[Optional()])
    end_time = TimeField(_l("End time"), validators=[Optional()])
    recurrence = StringField(
        _l("Or a recurring schedule"),
        validators=[Optional(), Length(max=100)],
        description=_l("For example: every Saturday 9:00–11:00"),
    )
    headcount = IntegerField(
        _l("Number of places"),
        default=1,
        validators=[DataRequired(_l("Enter the number of places.")), NumberRange(1, 1000, _l("Between 1 and 1000."))],
    )

    def need_data(self) -> NeedData:
        """What services.publish_need takes, from the form's fields."""
        return NeedData(
            kind=self.kind.data,
            title=self.title.data,
            category_id=self.category.data,
            description=self.description.data,
            place=self.place.data,
            on_date=self.on_date.data,
            start_time=self.start_time.data,
            end_time=self.end_time.data,
            recurrence=self.recurrence.data,
            headcount=self.headcount.data,
            skills=self.skills.data or "",
            spot=self.spot.data or "",
        )


class ResourceForm(FlaskForm):
    community = SelectField(
        _l("Community"),
        coerce=_int_or_none,
        validate_choice=False,
        validators=[DataRequired(_l("Choose the community."))],
    )
    title = StringField(_l("Title"), validators=[DataRequired(_l("Enter a title.")), Length(max=100)])
    category = SelectField(_l("Service category"), coerce=_int_or_none, validate_choice=False)
    description = TextAreaField(_l("What is offered"), validators=[Optional(), Length(max=2000)])
    amount = StringField(_l("How much / how often"), validators=[Optional(), Length(max=100)])


class OutcomeForm(FlaskForm):
    outcome = TextAreaField(
        _l("Outcome"), validators=[DataRequired(_l("Describe the outcome in a few words.")), Length(max=2000)]
    )


class CategoryForm(FlaskForm):
    name = StringField(
        _l("Category name"), validators=[DataRequired(_l("Enter the name of the category.")), Length(max=32)]
    )


class RosterFilterForm(FlaskForm):
    class Meta:
        csrf = False

    branch = SelectField(_l("Branch"), coerce=_int_or_none, validate_choice=False)
    category = SelectField(_l("Service category"), coerce=_int_or_none, validate_choice=False)
    skill = StringField(_l("Skill"), validators=[Optional(), Length(max=50)])


class MarketFilterForm(FlaskForm):
    """项目超市: where, what kind of service, a skill the need wants, and words to look for."""

    class Meta:
        csrf = False

    area = SelectField(_l("District"), coerce=_int_or_none, validate_choice=False)
    category = SelectField(_l("Service category"), coerce=_int_or_none, validate_choice=False)
    q = StringField(_l("Search words"), validators=[Optional(), Length(max=50)])
    skill = StringField(_l("Skill"), validators=[Optional(), Length(max=30)])
