"""The forms that make API tokens."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from kmvolunteer.core.text import parse_id


class TokenForm(FlaskForm):
    """A token's name, what it may do and for how long; the rules (and their messages) are api/tokens.py's."""

    name = StringField(_l("Used by (system or app)"), description=_l("For example: 云岭先锋 app, 五华区智慧党建平台"))
    scopes = SelectMultipleField(
        _l("It may"),
        coerce=str,
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    days = IntegerField(_l("Valid for (days)"), default=90, validators=[Optional()])


class IntegrationTokenForm(TokenForm):
    area = SelectField(_l("Reads within"), coerce=parse_id, validate_choice=False)
