"""Plain-language names for audit actions and changed fields, so the log reads as sentences."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from kmvolunteer.core.machine import MACHINES
from kmvolunteer.core.text import format_hours

ACTIONS = {
    "auth.login": _l("Logged in"),
    "user.created": _l("Account created"),
    "user.activated": _l("Account enabled"),
    "user.deactivated": _l("Account disabled"),
    "user.password_changed": _l("Password changed"),
    "user.password_reset": _l("Password reset"),
    "grant.added": _l("Role granted"),
    "grant.revoked": _l("Role revoked"),
    "member.imported": _l("Member added to the roster"),
    "member.deactivated": _l("Member taken off the roster"),
    "category.added": _l("Service category added"),
    "category.renamed": _l("Service category renamed"),
    "category.activated": _l("Service category in use again"),
    "category.deactivated": _l("Service category no longer used"),
    "reportin.submitted": _l("Report-in sent"),
    "reportin.confirmed": _l("Report-in confirmed"),
    "reportin.rejected": _l("Report-in not confirmed"),
    "reportin.withdrawn": _l("Report-in withdrawn"),
    "reportin.ended": _l("Report-in ended"),
    "reportin.reminded": _l("Reminded to report in"),
    "need.published": _l("Need published"),
    "need.closed": _l("Need closed"),
    "need.reopened": _l("Need reopened"),
    "claim.created": _l("Need claimed"),
    "claim.withdrawn": _l("Claim withdrawn"),
    "resource.offered": _l("Resource offered"),
    "resource.taken": _l("Resource taken up"),
    "resource.withdrawn": _l("Resource withdrawn"),
    "project.created": _l("Project created"),
    "project.in_progress": _l("Project started"),
    "project.done": _l("Project completed"),
    "project.cancelled": _l("Project cancelled"),
    "service.logged": _l("Service logged"),
    "service.edited": _l("Service entry changed"),
    "service.resubmitted": _l("Service entry sent again"),
    "service.approved": _l("Service approved"),
    "service.returned": _l("Service returned for changes"),
    "service.rejected": _l("Service not approved"),
    "service.withdrawn": _l("Service entry withdrawn"),
    "service.revoked": _l("Service approval revoked"),
    "service.recorded": _l("Recorded by the organizer"),
    "certificate.issued": _l("Certificate issued"),
    "report.created": _l("Report started"),
    "report.draft_saved": _l("Report draft saved"),
    "report.submitted": _l("Report submitted"),
    "report.acknowledged_by_branch": _l("Report acknowledged by the branch"),
    "report.acknowledged_by_community": _l("Report acknowledged by the community"),
    "evaluation.rated": _l("Member rated"),
    "evaluation.published": _l("Ratings published"),
    "evaluation.changed_after_publishing": _l("Published rating changed"),
    "body.opened": _l("Joint body set up"),
    "body.unit_added": _l("Member unit added"),
    "body.member_added": _l("Part-time member added"),
    "body.rotation_set": _l("Rotating chair set"),
    "body.meeting_recorded": _l("Joint meeting recorded"),
    "property.rated": _l("Property company rated"),
    "grid.saved": _l("Grid saved"),
    "estate.saved": _l("Estate saved"),
    "report_in.home_set": _l("Home in the community given"),
    "unit_rating.rated": _l("Branch rated"),
    "unit_rating.changed": _l("Branch rating changed"),
    "feedback.generated": _l("Feedback sheet drafted"),
    "feedback.edited": _l("Feedback sheet edited"),
    "feedback.refreshed": _l("Feedback sheet recounted"),
    "feedback.sent": _l("Feedback sheet sent"),
    "letter.issued": _l("Feedback letter issued"),
    "letter.superseded": _l("Feedback letter superseded by a correction"),
    "letter.acknowledged": _l("Feedback letter acknowledged"),
    "year_rule.set": _l("Year rule set"),
    "year_rule.removed": _l("Year rule removed"),
    "year.closed": _l("Year closed"),
    "year.reopened": _l("Year reopened"),
    "workday.set": _l("Local working day or day off set"),
    "workday.removed": _l("Local working day or day off removed"),
    "whistle.blown": _l("Whistle blown"),
    "summons.summoned": _l("Department summoned"),
    "summons.signed": _l("Summons signed for"),
    "summons.contacted": _l("Department made contact"),
    "summons.progress": _l("Progress recorded"),
    "summons.handled": _l("Summons handled"),
    "summons.declined": _l("Summons declined"),
    "summons.rated": _l("Handling rated"),
    "summons.rated_unsatisfied": _l("Handling rated unsatisfactory"),
    "summons.reopened": _l("Summons reopened"),
    "extension.requested": _l("Extension requested"),
    "extension.approved": _l("Extension approved"),
    "extension.refused": _l("Extension refused"),
    "whistle.handled": _l("Whistle handled"),
    "whistle.closed": _l("Whistle closed"),
    "whistle.reopened": _l("Whistle reopened"),
    "whistle.escalated": _l("Whistle escalated one tier up"),
    "whistle.deadline_rule": _l("Whistle deadlines set"),
    "point_scheme.set": _l("Points scheme set"),
    "whistle.category_saved": _l("Whistle category saved"),
    "whistle.category_active": _l("Whistle category put on or taken off the list"),
    "bulletin.drafted": _l("Bulletin drafted"),
    "bulletin.refreshed": _l("Bulletin figures read again"),
    "bulletin.edited": _l("Bulletin text edited"),
    "bulletin.example_added": _l("Good example added to a bulletin"),
    "bulletin.example_removed": _l("Good example removed from a bulletin"),
    "bulletin.deleted": _l("Bulletin draft deleted"),
    "bulletin.published": _l("Bulletin published"),
    "resident_request.received": _l("Resident's request received"),
    "resident_request.answered": _l("Resident's request answered"),
    "resident_request.to_need": _l("Resident's request made a need"),
    "resident_request.to_whistle": _l("Whistle blown on a resident's request"),
    "resident_request.rejected": _l("Resident's request closed as spam"),
    "api_token.created": _l("API token created"),
    "api_token.revoked": _l("API token revoked"),
    "api_token.used": _l("Data changed through an API token"),
    "onsite.opened": _l("On-site sign-in opened"),
    "onsite.closed": _l("On-site sign-in closed into service records"),
    "onsite.cancelled": _l("On-site sign-in cancelled"),
    "onsite.added": _l("Added to the on-site sheet"),
    "onsite.signed_in": _l("Signed in on site"),
    "onsite.signed_out": _l("Signed out on site"),
    "onsite.corrected": _l("On-site times corrected"),
}

FIELDS = {
    "status": _l("Status"),
    "reason": _l("Reason"),
    "name": _l("Name"),
    "username": _l("Username"),
    "display_name": _l("Full name"),
    "active": _l("Active"),
    "role": _l("Role"),
    "scope": _l("Where"),
    "user": _l("Account"),
    "branch": _l("Branch"),
    "post": _l("Post"),
    "community": _l("Community"),
    "serial": _l("Serial"),
    "rating": _l("Rating"),
    "comment": _l("Comment"),
    "half_hours": _l("Hours"),  # shown in hours (see value_label)
    "hours": _l("Hours"),
    "entries": _l("Activities"),
    "side": _l("Acknowledged by"),
    "title": _l("Title"),
    "year": _l("Year"),
    "urgency": _l("Urgency"),
    "escalation_reason": _l("Why escalated"),
    "sign_due_at": _l("Sign by"),
    "contact_due_at": _l("Contact by"),
    "handle_due_at": _l("Handle by"),
    "result": _l("Result"),
    "note": _l("Note"),
    "working_days": _l("Extra working days"),
    "sign_minutes": _l("Sign within (working minutes)"),
    "contact_hours": _l("Contact within (hours)"),
    "handle_days": _l("Handle within (working days)"),
    "number": _l("Number"),
    "issuer": _l("Issuing department"),
    "preamble": _l("Preamble"),
    "closing": _l("Closing"),
    "name_members": _l("Members named"),
    "figures_at": _l("Figures as of"),
    "text": _l("Bulletin text"),
    "place": _l("Place"),
    "phone": _l("Phone"),
    "reply": _l("Answer to the resident"),
    "need": _l("Need"),
    "whistle": _l("Whistle"),
}


VALUES = {
    "side": {"branch": _l("Branch"), "community": _l("Community")},
    "rating": {
        "excellent": _l("Excellent"),
        "good": _l("Satisfactory"),
        "fair": _l("Basically satisfactory"),
        "poor": _l("Unsatisfactory"),
        "satisfied": _l("Satisfied"),  # a whistle's summons: 满意 / 基本满意 / 不满意
        "basic": _l("Basically satisfied"),
        "unsatisfied": _l("Unsatisfied"),
    },
    "urgency": {"normal": _l("Normal"), "urgent": _l("Urgent")},
}
YES_NO = {True: _l("Yes"), False: _l("No")}


def status_words(object_type: str) -> dict[str, object]:
    """A kind of record's statuses in words, as its state machine declares them."""
    for machine in MACHINES.values():
        if machine.model.__name__ == object_type:
            return machine.labels
    return {}


def action_label(code: str) -> str:
    return str(ACTIONS.get(code, code))


def value_label(object_type: str, key: str, value: object) -> object:
    """A stored value as the log shows it: codes in words, half-hours in hours, yes and no."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(YES_NO[value])
    if key == "half_hours" and isinstance(value, int):
        return format_hours(value)
    words = status_words(object_type) if key == "status" else VALUES.get(key, {})
    return str(words[value]) if isinstance(value, str) and value in words else value


def changes(entry) -> list[tuple[str, object, object]]:
    """(field label, before, after) for the fields that really changed, in words."""
    before, after = entry.before_data(), entry.after_data()
    rows = []
    for key in list(dict.fromkeys(list(before) + list(after))):
        old, new = before.get(key), after.get(key)
        if key in before and key in after and old == new:
            continue
        rows.append(
            (
                str(FIELDS.get(key, key)),
                value_label(entry.object_type, key, old),
                value_label(entry.object_type, key, new),
            )
        )
    return rows
