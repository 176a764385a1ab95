"""Forms of residents' requests: the public form, and the secretary's four ways to triage a request. The
rules (lengths, links, the challenge) are the services'; the forms carry the fields."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import Length

from kmvolunteer.reportin.forms import NeedForm
from kmvolunteer.whistles.forms import WhistleForm


class RequestForm(FlaskForm):
    """The public form. ``website`` is the honeypot: hidden from people (and screen readers), filled by scripts."""

    what = TextAreaField(
        _l("What would you like the community to do?"),
        description=_l("For example: the street lamp at the gate has been out for a week. No links, please."),
    )
    place = StringField(_l("Where?"), description=_l("Estate, building or street."))
    phone = StringField(
        _l("Mobile number for a call-back (optional)"),
        description=_l("Only the community's staff see it. It is never shown on this site's public pages."),
    )
    token = HiddenField()
    website = StringField(_l("Leave this empty"))


def _with_reply(form_class: type[FlaskForm], label) -> type[FlaskForm]:
    """``form_class`` with the reply the resident reads on the status page."""

    class WithReply(form_class):  # type: ignore[valid-type, misc]
        reply = TextAreaField(label)

    return WithReply


AnswerForm = _with_reply(FlaskForm, _l("Answer to the resident"))
NeedTriageForm = _with_reply(NeedForm, _l("A word to the resident (optional)"))
WhistleTriageForm = _with_reply(WhistleForm, _l("A word to the resident (optional)"))


class RejectForm(FlaskForm):
    reason = StringField(_l("Why is it spam or abuse?"), validators=[Length(max=255)])
