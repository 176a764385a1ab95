"""服务记录 pages: log an entry, the member's page, the approval queue, attendance sheets, certificates,
the city's working-day exceptions."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import select

from kmvolunteer.auth.policy import can, get_or_404, org_areas, service_decider
from kmvolunteer.auth.public import check_page
from kmvolunteer.core.db import commit_keeping_loaded
from kmvolunteer.core.htmx import render, safe_next, see_other, trigger, url_pattern, wants_fragment
from kmvolunteer.core.refusals import refused
from kmvolunteer.core.text import catalog
from kmvolunteer.core.time import local_today, utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Member
from kmvolunteer.reportin.models import Need
from kmvolunteer.service import home as _home  # noqa: F401  (registers the home-page sections)
from kmvolunteer.service import services
from kmvolunteer.service.forms import (
    AttendanceForm,
    CertificateForm,
    EntryForm,
    QueueFilterForm,
    ReasonForm,
    WorkdayForm,
)
from kmvolunteer.service.models import Certificate, RecordStatus, ServiceRecord
from kmvolunteer.years import workdays

bp = Blueprint("service", __name__)

CHANGED = "records-changed"


@bp.app_context_processor
def _service_globals() -> dict:
    def service_pending_count() -> int:
        return services.pending_count(current_user) if current_user.is_authenticated else 0

    return {
        "service_pending_count": service_pending_count,
        "today_iso": lambda: local_today().isoformat(),
        "service_field_labels": services.FIELD_LABELS,
    }


def _member_or_404() -> Member:
    member = current_user.member
    if member is None or not member.active:
        abort(404)
    return member


def _year_arg() -> int:
    """?year= within the last five years (this year otherwise); a year still to come is not found."""
    today = local_today()
    year = request.args.get("year", type=int) or today.year
    if year > today.year:
        abort(404)
    return year if today.year - 5 <= year else today.year


# ---------------------------------------------------------------- the member's page


@bp.route("/service/my")
@login_required
def my_service():
    return _member_page(_member_or_404())


@bp.route("/service/members/<int:member_id>")
@login_required
def member_service(member_id: int):
    return _member_page(get_or_404(Member, member_id, "service.member"))


def _member_page(member: Member):
    year = _year_arg()
    groups = services.member_entries(member, year)
    ids = [r.id for _, records in groups for r in records]
    return render(
        "service/member.html",
        member=member,
        year=year,
        groups=groups,
        progress=services.progress(member, year),
        histories=services.histories(ids),
        labels=services.STATUS_LABELS,
        actions=services.ACTION_LABELS,
        years=list(range(local_today().year, local_today().year - 3, -1)),
        is_self=member.user_id == current_user.id,
        fmt=services.format_hours,
    )


# ---------------------------------------------------------------- logging and changing an entry


def _entry_choices(form: EntryForm, member: Member, record: ServiceRecord | None = None) -> None:
    communities, needs = services.entry_choices(member)
    if record is not None and record.community not in communities:
        communities.insert(0, record.community)
    if record is not None and record.need is not None and record.need not in needs:
        needs.insert(0, record.need)
    # Empty when the member is not reported in and claimed nothing: the form asks them to report in first.
    form.community_id.choices = [(c.id, c.name) for c in communities]
    form.need_id.choices = [("", _("None"))] + [
        (n.id, f"{n.title}" + (f" · {n.on_date.isoformat()}" if n.on_date else "")) for n in needs
    ]


def _entry_data(form: EntryForm) -> services.EntryData:
    return services.EntryData(
        service_date=form.service_date.data,
        content=form.content.data or "",
        community_id=form.community_id.data,
        need_id=form.need_id.data,
        start_time=form.start_time.data,
        end_time=form.end_time.data,
        hours=services.parse_hours(form.hours.data),
        place=form.place.data or "",
        organizer=form.organizer.data or "",
        person_in_charge=form.person_in_charge.data or "",
        late_reason=form.late_reason.data or "",
    )


@bp.route("/service/new", methods=["GET", "POST"])
@login_required
def new_entry():
    member = _member_or_404()
    if not can(current_user, "service.log", member):
        abort(404)
    form = EntryForm()
    _entry_choices(form, member)
    if request.method == "GET":
        home = services.report_in_community(member)
        need_id = request.args.get("need", type=int)
        if need_id and any(value == need_id for value, _label in form.need_id.choices):
            form.need_id.data = need_id
            need = db.session.get(Need, need_id)
            form.community_id.data = need.community_id
            form.place.data = need.place
            if need.on_date and need.on_date <= local_today():
                form.service_date.data = need.on_date
        elif home is not None:
            form.community_id.data = home.id
    duplicate = None
    if form.validate_on_submit():
        with refused(form) as refusal:
            record = services.log_entry(member, current_user, _entry_data(form))
            db.session.commit()
            flash(
                _(
                    "Logged %(hours)s h on %(date)s. The community secretary will review it.",
                    hours=services.format_hours(record.half_hours),
                    date=record.service_date.isoformat(),
                ),
                "success",
            )
            return see_other(url_for("service.my_service"), CHANGED)
        duplicate = getattr(refusal.error, "existing_id", None)
    status = 422 if request.method == "POST" else 200
    return render(
        "service/new.html",
        "service/_entry_form.html",
        status=status,
        form=form,
        duplicate=duplicate,
        record=None,
    )


@bp.route("/service/records/<int:record_id>")
@login_required
def record(record_id: int):
    entry = get_or_404(ServiceRecord, record_id, "service.view")
    return render(
        "service/record.html",
        record=entry,
        history=services.histories([entry.id])[entry.id],
        labels=services.STATUS_LABELS,
        actions=services.ACTION_LABELS,
        fmt=services.format_hours,
        reason_form=ReasonForm(prefix=f"r{entry.id}"),
        overdue=services.is_overdue(entry),
        waited=services.days_waited(entry),
    )


@bp.route("/service/records/<int:record_id>/edit", methods=["GET", "POST"])
@login_required
def edit_entry(record_id: int):
    entry = get_or_404(ServiceRecord, record_id, "service.edit")
    if entry.status not in (RecordStatus.submitted.value, RecordStatus.returned.value):
        flash(
            _("This entry is %(state)s and can no longer be changed.", state=services.STATUS_LABELS[entry.status]),
            "error",
        )
        return see_other(url_for("service.record", record_id=entry.id))
    form = EntryForm(obj=entry if request.method == "GET" else None)
    _entry_choices(form, entry.member, entry)
    if request.method == "GET":
        form.hours.data = "" if entry.start_time else services.format_hours(entry.half_hours)
    duplicate = None
    if form.validate_on_submit():
        with refused(form) as refusal:
            services.edit_entry(entry, current_user, _entry_data(form))
            db.session.commit()
            flash(_("Your entry was saved and sent for review."), "success")
            return see_other(url_for("service.my_service", year=entry.year), CHANGED)
        duplicate = getattr(refusal.error, "existing_id", None)
    status = 422 if request.method == "POST" else 200
    return render(
        "service/edit.html",
        "service/_entry_form.html",
        status=status,
        form=form,
        duplicate=duplicate,
        record=entry,
        labels=services.STATUS_LABELS,
    )


@bp.route("/service/records/<int:record_id>/withdraw", methods=["POST"])
@login_required
def withdraw(record_id: int):
    entry = get_or_404(ServiceRecord, record_id, "service.withdraw")
    services.withdraw(entry, current_user)
    db.session.commit()
    flash(_("The entry was withdrawn."), "success")
    return see_other(url_for("service.my_service", year=entry.year), CHANGED)


# ---------------------------------------------------------------- deciding one entry


@bp.route("/service/records/<int:record_id>/<any(approve, return, reject, revoke):action>", methods=["POST"])
@login_required
def decide(record_id: int, action: str):
    permission = "service.revoke" if action == "revoke" else "service.decide"
    # With all the row shows, so that rendering it after the commit loads nothing again.
    entry = get_or_404(ServiceRecord, record_id, "service.view", options=services.RECORD_ROW)
    if not can(current_user, permission, entry):
        abort(404)
    form = ReasonForm(prefix=f"r{entry.id}")
    form.validate()
    with refused() as refusal:
        if action == "approve":
            services.approve(entry, current_user)
        elif action == "return":
            services.return_entry(entry, current_user, form.reason.data)
        elif action == "reject":
            services.reject(entry, current_user, form.reason.data)
        else:
            services.revoke(entry, current_user, form.reason.data)
        commit_keeping_loaded()
    if refusal:
        db.session.refresh(entry)  # rolled back: as it is now
    if wants_fragment() and request.form.get("from") != "record":
        response = render(
            "service/_queue_rows.html",
            status=422 if refusal else 200,
            rows=[services.QueueRow.of(entry)],
            error=refusal.message,
            done=None if refusal else action,
            **_row_context(),
        )
        return response if refusal else trigger(response, CHANGED)
    if refusal:
        flash(refusal.message, "error")
    else:
        flash(
            _(
                "%(name)s, %(date)s: %(state)s.",
                name=entry.member.name,
                date=entry.service_date.isoformat(),
                state=services.STATUS_LABELS[entry.status],
            ),
            "success",
        )
    fallback = (
        url_for("service.record", record_id=entry.id)
        if request.form.get("from") == "record"
        else url_for("service.queue")
    )
    return see_other(safe_next(request.form.get("next"), fallback), CHANGED)


def _row_context() -> dict:
    """What every row of the queue shares, worked out once per page: its words (translated once, not a
    dozen times a row), the URLs of each entry's page and decisions, the CSRF token, and the policy's
    check of who decides an entry. Namespaces rather than dictionaries: a template reads an attribute of
    a namespace in half the time."""
    words = catalog()
    now = utcnow()

    def waiting(record: Any) -> str:
        days = services.days_waited(record, now)
        return words.ungettext("waiting %(num)d days", "waiting %(num)d days", days) % {"num": days}

    row_text = SimpleNamespace(
        date=words.ugettext("Date"),
        member=words.ugettext("Member"),
        service=words.ugettext("Service"),
        late=words.ugettext("late"),
        hours=words.ugettext("Hours"),
        submitted=words.ugettext("Submitted"),
        status=words.ugettext("Status"),
        reason=words.ugettext("Reason (to return or reject)"),
        approve=words.ugettext("Approve"),
        return_=words.ugettext("Return"),
        reject=words.ugettext("Reject"),
        select=words.ugettext("Select entry of %(name)s on %(date)s"),
        done_approve=words.ugettext("Approved."),
        done_return=words.ugettext("Returned to the member."),
        done_reject=words.ugettext("Rejected."),
    )
    return {
        "labels": {status: str(label) for status, label in services.STATUS_LABELS.items()},
        "fmt": services.format_hours,
        "row_text": row_text,
        "cutoff": services.overdue_cutoff(now),
        "waiting": waiting,
        "can_decide": can(current_user, "service.decide_any"),
        "decides": service_decider(current_user),
        "record_url": url_pattern("service.record", "record_id"),
        "decide_url": SimpleNamespace(
            **{
                action: url_pattern("service.decide", "record_id", action=action)
                for action in ("approve", "return", "reject")
            }
        ),
        "token": generate_csrf(),
    }


# ---------------------------------------------------------------- the approval queue

STATUS_CHOICES = [
    ("submitted", "pending"),
    ("returned", "returned"),
    ("approved", "approved"),
    ("rejected", "rejected"),
    ("withdrawn", "withdrawn"),
    ("revoked", "revoked"),
    ("all", "all"),
]


def _filters() -> tuple[QueueFilterForm, services.Filters]:
    """The queue's filters from the query; wrong dates or text are left out rather than refused."""
    form = QueueFilterForm(request.args)
    labels = {**services.STATUS_LABELS, "all": _("all")}
    form.status.choices = [(value, labels[value]) for value, _label in STATUS_CHOICES]
    form.sort.choices = [
        ("submitted", _("Waiting longest")),
        ("-submitted", _("Newest first")),
        ("date", _("Service date, oldest")),
        ("-date", _("Service date, newest")),
        ("member", _("Member")),
        ("hours", _("Hours, most")),
    ]
    if not form.validate():
        for field in (form.date_from, form.date_to, form.member):
            if field.errors:
                field.data = None
    status = form.status.data if form.status.data in dict(STATUS_CHOICES) else "submitted"
    form.status.data = status
    filters = services.Filters(
        status=status,
        date_from=form.date_from.data,
        date_to=form.date_to.data,
        member=(form.member.data or "").strip(),
        branch_id=form.branch.data,
        need_id=form.need.data,
        sort=form.sort.data or "submitted",
    )
    return form, filters


def _filter_form() -> tuple[QueueFilterForm, services.Filters]:
    """The filters, and the branches and needs to choose from."""
    form, filters = _filters()
    form.branch.choices = [("", _("All branches")), *services.queue_branches(current_user, filters.status)]
    form.need.choices = [("", _("All needs and posts")), *services.queue_needs(current_user)]
    return form, filters


@bp.route("/service/queue")
@login_required
def queue():
    if not can(current_user, "service.queue"):
        abort(404)
    template = "service/_queue.html" if wants_fragment() else "service/_queue_page.html"
    form, filters = _filter_form()
    page = db.paginate_rows(services.queue_query(current_user, filters), row=services.QueueRow._make, per_page=50)
    page.total, overdue, pending = services.queue_counts(current_user, filters)
    back = request.args.to_dict()
    back.pop("tick", None)
    body = Markup(
        render_template(
            template,
            form=form,
            page=page,
            filters=filters,
            pending=pending,
            overdue=overdue,
            tick_all=request.args.get("tick") == "all",
            queue_back=url_for("service.queue", **back),
            **_row_context(),
        )
    )
    # The menu's count of entries waiting is the one just counted.
    return body if wants_fragment() else render("service/queue.html", body=body, service_pending=pending)


@bp.route("/service/queue/summary")
@login_required
def queue_summary():
    """The count above the queue, fetched again when an entry is decided in place."""
    if not can(current_user, "service.queue"):
        abort(404)
    _form, filters = _filters()
    total, overdue, _pending = services.queue_counts(current_user, filters)
    return render("service/_queue_summary.html", total=total, overdue=overdue)


@bp.route("/service/queue/badge")
@login_required
def badge():
    if not can(current_user, "service.queue"):
        abort(404)
    return render("service/_badge.html", count=services.pending_count(current_user))


@bp.route("/service/queue/bulk", methods=["POST"])
@login_required
def bulk():
    if not can(current_user, "service.decide_any"):
        abort(404)
    action = request.form.get("bulk_action", "")
    result = services.bulk_decide(request.form.getlist("ids"), current_user, action, request.form.get("bulk_reason"))
    db.session.commit()
    verbs = {
        "approve": ngettext("Approved %(num)d entry.", "Approved %(num)d entries.", len(result.done)),
        "return": ngettext("Returned %(num)d entry.", "Returned %(num)d entries.", len(result.done)),
        "reject": ngettext("Rejected %(num)d entry.", "Rejected %(num)d entries.", len(result.done)),
    }
    flash(verbs[action], "success" if result.done else "warning")
    if result.skipped:
        flash(ngettext("Skipped %(num)d entry:", "Skipped %(num)d entries:", len(result.skipped)), "warning")
        for record_id, entry, why in result.skipped:
            who = f"{entry.member.name} {entry.service_date.isoformat()}" if entry is not None else ""
            flash(_("No. %(id)d %(who)s — %(why)s", id=record_id, who=who, why=why), "warning")
    return see_other(safe_next(request.form.get("next"), url_for("service.queue")), CHANGED)


# ---------------------------------------------------------------- attendance sheet


@bp.route("/service/attendance", methods=["GET", "POST"])
@login_required
def attendance():
    if not can(current_user, "service.attendance"):
        abort(404)
    needs = services.secretary_needs(current_user)
    form = AttendanceForm() if request.method == "POST" else AttendanceForm(request.args, meta={"csrf": False})
    form.need_id.choices = [("", _("Choose…"))] + [
        (n.id, f"{n.title}" + (f" · {n.on_date.isoformat()}" if n.on_date else "") + f" · {n.community.name}")
        for n in needs
    ]
    need = None
    if form.need_id.data:
        need = db.session.get(Need, form.need_id.data)
        if need is None or not can(current_user, "service.attendance", need):
            abort(404)
        if (
            request.method == "GET"
            and "service_date" not in request.args
            and need.on_date
            and need.on_date <= local_today()
        ):
            form.service_date.data = need.on_date
    day = form.service_date.data or local_today()
    status = 200
    if request.method == "POST":
        if form.validate() and need is not None:
            with refused(form):
                result = services.record_attendance(
                    need,
                    day,
                    current_user,
                    request.form.getlist("member_ids"),
                    hours=services.parse_hours(form.hours.data),
                    start_time=form.start_time.data,
                    end_time=form.end_time.data,
                    content=form.content.data or "",
                    place=need.place,
                    late_reason=form.late_reason.data or "",
                )
                db.session.commit()
                flash(
                    ngettext(
                        "Recorded %(num)d attendee as approved.",
                        "Recorded %(num)d attendees as approved.",
                        len(result.created),
                    ),
                    "success",
                )
                for member_id, member, why in result.skipped:
                    flash(
                        _("Skipped %(who)s — %(why)s", who=member.name if member else f"#{member_id}", why=why),
                        "warning",
                    )
                return see_other(url_for("service.attendance", need_id=need.id, service_date=day.isoformat()), CHANGED)
        status = 422
    candidates = services.attendee_candidates(need) if need else []
    return render(
        "service/attendance.html",
        form=form,
        need=need,
        day=day,
        candidates=candidates,
        claimed=services.claimed_member_ids(need) if need else set(),
        existing=services.entries_on(need, day) if need else {},
        status=status,
        ticked={int(v) for v in request.form.getlist("member_ids") if v.isdigit()},
        labels=services.STATUS_LABELS,
        fmt=services.format_hours,
    )


# ---------------------------------------------------------------- certificate and its public check


@bp.route("/service/certificate", methods=["GET", "POST"])
@login_required
def certificate():
    member = _member_or_404()
    if not can(current_user, "certificate.issue", member):
        abort(404)
    form = CertificateForm()
    this_year = local_today().year
    form.year.choices = [(y, str(y)) for y in range(this_year, this_year - 3, -1)]
    if request.method == "GET":
        form.year.data = _year_arg()
    if form.validate_on_submit():
        with refused(form):
            issued = services.issue_certificate(member, form.year.data, current_user)
            db.session.commit()
            return see_other(url_for("service.certificate_print", serial=issued.serial))
    year = form.year.data or this_year
    issued_before = list(
        db.session.scalars(
            select(Certificate).where(Certificate.member_id == member.id).order_by(Certificate.issued_at.desc())
        )
    )
    status = 422 if request.method == "POST" else 200
    return render(
        "service/certificate_new.html",
        form=form,
        status=status,
        member=member,
        year=year,
        entries=services.approved_entries(member, year),
        issued=issued_before,
        fmt=services.format_hours,
    )


@bp.route("/service/certificates/<serial>")
@login_required
def certificate_print(serial: str):
    found = services.find_certificate(serial)
    if found is None or not can(current_user, "certificate.view", found):
        abort(404)
    return render(
        "service/certificate.html",
        cert=found,
        entries=services.approved_entries(found.member, found.year, issued_before=found.issued_at),
        fmt=services.format_hours,
        verify_url=url_for("service.verify", serial=found.serial, _external=True),
    )


@bp.route("/verify", defaults={"serial": None})
@bp.route("/verify/<serial>")
def verify(serial: str | None):
    """Public: does this certificate exist? Only the masked name and the totals are shown."""
    from kmvolunteer.core.text import mask_name

    return check_page(
        "service.verify",
        "service/verify.html",
        serial,
        services.find_certificate,
        lambda found: {
            "cert": found,
            "masked": mask_name(found.member.name) if found else "",
            "outdated": services.certificate_outdated(found) if found else False,
            "fmt": services.format_hours,
        },
    )


# ---------------------------------------------------------------- local working-day exceptions


def _city_path() -> str:
    if not can(current_user, "workday.manage"):
        abort(404)
    return next(a.path for a in org_areas(current_user) if a.level == "city")


def _workday_years() -> range:
    this_year = local_today().year
    return range(this_year - 5, this_year + 3)


def _workday_year() -> int:
    raw = request.args.get("year", "")
    if not raw:
        return local_today().year
    if not raw.isdigit() or int(raw) not in _workday_years():
        abort(404)
    return int(raw)


@bp.route("/service/workdays", methods=["GET", "POST"])
@login_required
def workdays_page():
    """The city's exceptions to the national calendar, which decide when an entry is logged late."""
    city_path = _city_path()
    form = WorkdayForm()
    if form.validate_on_submit():
        with refused(form):
            replaced = workdays.set_override(
                form.day.data, form.kind.data == "work", form.note.data or "", scope_path=city_path
            )
            db.session.commit()
            day = form.day.data.isoformat()
            flash(
                _("%(day)s already had an exception: it is replaced by this one.", day=day)
                if replaced
                else _("Saved: %(day)s.", day=day),
                "success",
            )
            return see_other(url_for("service.workdays_page", year=form.day.data.year))
    year = form.day.data.year if form.day.data else _workday_year()
    return render(
        "service/workdays.html",
        status=422 if request.method == "POST" else 200,
        form=form,
        year=year,
        years=_workday_years(),
        overrides=workdays.overrides_in_year(year),
        known=workdays.calendar_knows(year),
        next_known=workdays.calendar_knows(year + 1),
    )


@bp.route("/service/workdays/<day>/remove", methods=["POST"])
@login_required
def workday_remove(day: str):
    city_path = _city_path()
    try:
        chosen = date.fromisoformat(day)
    except ValueError:
        abort(404)
    workdays.remove_override(chosen, scope_path=city_path)
    db.session.commit()
    flash(_("%(day)s follows the national calendar again.", day=chosen.isoformat()), "success")
    return see_other(url_for("service.workdays_page", year=chosen.year))
