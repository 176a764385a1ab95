"""反馈函 pages: a community's letters of a period (who is due one, preview, issue), a letter (A4, printable)
with its acknowledgement and correction, an agency's letters, and the public check by serial."""

from __future__ import annotations

from flask import Blueprint, abort, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from kmvolunteer.auth.policy import About, can, get_or_404
from kmvolunteer.auth.public import check_page
from kmvolunteer.core.htmx import render, see_other
from kmvolunteer.core.refusals import refused
from kmvolunteer.core.text import format_hours
from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.letters import services
from kmvolunteer.letters.models import LETTERS, FeedbackLetter
from kmvolunteer.org.models import Agency, Area
from kmvolunteer.reports.models import Rating
from kmvolunteer.reports.services import RATING_LABELS, STATUS_LABELS
from kmvolunteer.reports.units import UNIT_RATING_LABELS
from kmvolunteer.years.rules import PERIOD_LABELS, YEAR_MAX, YEAR_MIN

bp = Blueprint("letters", __name__)


class IssueForm(FlaskForm):
    period = StringField(validators=[DataRequired(), Length(max=4)])


class CorrectForm(FlaskForm):
    reason = TextAreaField(_l("What the correction changes"), validators=[Length(max=255)])


@bp.app_context_processor
def _letter_labels() -> dict:
    return {"letter_status": LETTERS.label}


def _year() -> int:
    """The ?year= asked for: this year by default; a year outside the rules' range is not found."""
    raw = request.values.get("year", "")
    if not raw:
        return local_today().year
    if not raw.isdigit() or not YEAR_MIN <= int(raw) <= YEAR_MAX:
        abort(404)
    return int(raw)


def _community(community_id: int, action: str) -> Area:
    community = db.session.get(Area, community_id)
    if community is None or not can(current_user, action, community):
        abort(404)
    return community


def _labels() -> dict:
    """What a letter's frozen codes are shown as."""
    return {
        "period_labels": PERIOD_LABELS,
        "rating_labels": RATING_LABELS,
        "unit_rating_labels": UNIT_RATING_LABELS,
        "report_status_labels": STATUS_LABELS,
        "poor": Rating.poor.value,
        "fmt": format_hours,
    }


@bp.route("/letters/communities/<int:community_id>")
@login_required
def community(community_id: int):
    place = _community(community_id, "letter.list")
    year = _year()
    today = local_today()
    periods = services.letter_periods(place, year)
    period = request.args.get("period") or (periods[0] if periods else "")
    if period and period not in periods:
        abort(404)
    return render(
        "letters/community.html",
        community=place,
        year=year,
        years=list(range(today.year, today.year - 3, -1)),
        periods=periods,
        period=period,
        ended=bool(period) and services.period_ended(year, period, today),
        rows=services.due_agencies(place, year, period) if period else [],
        letters=services.letters_of(place, year),
        may_issue=can(current_user, "letter.manage", place),
        may_issue_to=lambda agency: can(current_user, "letter.issue", About(place, agency=agency)),
        form=IssueForm(),
        **_labels(),
    )


def _agency_for(place: Area, agency_id: int) -> Agency:
    """An agency the current user may issue a letter about (never their own), else 404."""
    agency = db.session.get(Agency, agency_id)
    if agency is None or not can(current_user, "letter.issue", About(place, agency=agency)):
        abort(404)
    return agency


@bp.route("/letters/communities/<int:community_id>/agencies/<int:agency_id>/preview")
@login_required
def preview(community_id: int, agency_id: int):
    place = _community(community_id, "letter.manage")
    agency = _agency_for(place, agency_id)
    year = _year()
    period = request.args.get("period", "")
    if period not in services.letter_periods(place, year):
        abort(404)
    return render(
        "letters/letter.html",
        letter=None,
        data=services.letter_content(place, agency, year, period),
        back=url_for("letters.community", community_id=place.id, year=year, period=period),
        **_labels(),
    )


@bp.route("/letters/communities/<int:community_id>/agencies/<int:agency_id>/issue", methods=["POST"])
@login_required
def issue(community_id: int, agency_id: int):
    place = _community(community_id, "letter.manage")
    agency = _agency_for(place, agency_id)
    form = IssueForm()
    year = _year()
    if not form.validate_on_submit():
        abort(400)
    letter = services.issue_letter(place, agency, year, form.period.data, actor_id=current_user.id)
    db.session.commit()
    return see_other(url_for("letters.show", letter_id=letter.id))


def _letter(letter_id: int) -> FeedbackLetter:
    return get_or_404(FeedbackLetter, letter_id, "letter.view")


@bp.route("/letters/<int:letter_id>")
@login_required
def show(letter_id: int):
    letter = _letter(letter_id)
    back = (
        url_for("letters.community", community_id=letter.community_id, year=letter.year, period=letter.period)
        if can(current_user, "letter.list", letter.community)
        else url_for("letters.agency", agency_id=letter.agency_id)
    )
    return render(
        "letters/letter.html",
        letter=letter,
        data=letter.data,
        back=back,
        verify_url=url_for("letters.verify", serial=letter.serial, _external=True),
        may_acknowledge=letter.status == "issued" and can(current_user, "letter.acknowledge", letter),
        may_correct=letter.status != "superseded" and can(current_user, "letter.issue", letter),
        **_labels(),
    )


@bp.route("/letters/<int:letter_id>/acknowledge", methods=["POST"])
@login_required
def acknowledge(letter_id: int):
    letter = _letter(letter_id)
    if not can(current_user, "letter.acknowledge", letter):
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    services.acknowledge_letter(letter, actor_id=current_user.id)
    db.session.commit()
    return see_other(url_for("letters.show", letter_id=letter.id))


@bp.route("/letters/<int:letter_id>/correct", methods=["GET", "POST"])
@login_required
def correct(letter_id: int):
    letter = _letter(letter_id)
    if not can(current_user, "letter.issue", letter):
        abort(404)
    form = CorrectForm()
    if form.validate_on_submit():
        with refused(form):
            new = services.correct_letter(letter, form.reason.data, actor_id=current_user.id)
            db.session.commit()
            return see_other(url_for("letters.show", letter_id=new.id))
    status = 422 if request.method == "POST" else 200
    return render("letters/correct.html", letter=letter, form=form, status=status, **_labels())


@bp.route("/letters/agencies/<int:agency_id>")
@login_required
def agency(agency_id: int):
    employer = get_or_404(Agency, agency_id, "letter.agency")
    return render("letters/agency.html", agency=employer, letters=services.letters_to(employer), **_labels())


@bp.route("/verify/letter", defaults={"serial": None})
@bp.route("/verify/letter/<serial>")
def verify(serial: str | None):
    """Public: is this letter genuine, and still in force? The serial, the community, the agency, the period,
    the issue day, how many members it names and its status — no name, nothing else personal."""
    return check_page(
        "letters.verify",
        "letters/verify.html",
        serial,
        services.find_letter,
        lambda found: {"letter": found, "period_labels": PERIOD_LABELS},
    )
