from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional


class SearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=50)])


class RosterUploadForm(FlaskForm):
    file = FileField(_l("Roster file (.xlsx or .csv)"), validators=[FileRequired(_l("Choose a file to upload."))])


class MemberForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(_l("Enter the full name.")), Length(max=50)])
    phone = StringField(_l("Mobile phone"), validators=[DataRequired(_l("Enter the mobile number.")), Length(max=20)])
    post = StringField(_l("Post"), validators=[Optional(), Length(max=100)])
