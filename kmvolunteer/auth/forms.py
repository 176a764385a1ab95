from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from kmvolunteer.auth.models import GRANTABLE_ROLES


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(_l("Enter your username.")), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=200)])
    next = HiddenField()


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(_l("Enter your current password."))])
    new = PasswordField(_l("New password"), validators=[DataRequired(_l("Enter a new password.")), Length(max=200)])
    confirm = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(_l("Enter the new password again.")),
            EqualTo("new", _l("The two new passwords differ.")),
        ],
    )


class LanguageForm(FlaskForm):
    locale = HiddenField(validators=[DataRequired()])
    next = HiddenField()


class UserSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Name or username"), validators=[Optional(), Length(max=64)])


class NewUserForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(_l("Enter a username.")), Length(max=64)],
        description=_l("Letters, digits, dots or a mobile number."),
    )
    display_name = StringField(_l("Full name"), validators=[DataRequired(_l("Enter the full name.")), Length(max=50)])
    home_area = SelectField(_l("Administered by"), coerce=int)


def role_choices() -> list[tuple[str, str]]:
    from kmvolunteer.auth.labels import ROLE_LABELS

    return [(role.value, str(ROLE_LABELS[role])) for role in GRANTABLE_ROLES]


class GrantForm(FlaskForm):
    role = SelectField(_l("Role"), validators=[DataRequired()])
    scope = SelectField(_l("Where"), validators=[DataRequired(_l("Choose where the role applies."))])
    # Its own id, not "q" (the accounts list's search box): ids stay unique as pages are swapped in place.
    q = StringField(_l("Find a branch (branch or agency name)"), validators=[Optional(), Length(max=50)], id="grant-q")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices()
