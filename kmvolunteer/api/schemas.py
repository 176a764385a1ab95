"""What the open API takes and gives: marshmallow schemas (they make the OpenAPI document) and the functions
that turn the site's objects into their rows. A body with an unknown field, a wrong type or a value out of
range is refused as a whole (422, with the field's messages)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import Schema, fields, validate

LEVELS = ("city", "district", "subdistrict", "community")
WHISTLE_STATUSES = ("all", "open", "handled", "closed", "escalated")
ID = fields.Integer(validate=validate.Range(min=1, max=2_147_483_647))


class PageQuery(Schema):
    cursor = fields.String(validate=validate.Length(max=40), metadata={"description": "next_cursor of the page before"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class AreaQuery(PageQuery):
    parent_id = ID
    level = fields.String(validate=validate.OneOf(LEVELS))


class NeedQuery(PageQuery):
    community_id = ID


class TallyQuery(PageQuery):
    area_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2_147_483_647))
    year = fields.Integer(validate=validate.Range(min=2000, max=2100))


class WhistleQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(WHISTLE_STATUSES))


class Problem(Schema):
    """RFC 9457 problem details: every error of the API."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    request_id = fields.String()


def _page_of(item: type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict(
        {"items": fields.List(fields.Nested(item), required=True), "next_cursor": fields.String(allow_none=True)},
        name=name,
    )


class AreaOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    level = fields.String(required=True)
    parent_id = fields.Integer(allow_none=True)


class BranchOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    agency_id = fields.Integer(required=True)
    agency = fields.String(required=True)


class NeedOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    title = fields.String(required=True)
    community_id = fields.Integer(required=True)
    community = fields.String(required=True)
    category = fields.String(allow_none=True)
    place = fields.String()
    estate = fields.String(allow_none=True)
    grid = fields.String(allow_none=True)
    skills = fields.String()
    on_date = fields.Date(allow_none=True)
    start_time = fields.Time(allow_none=True)
    end_time = fields.Time(allow_none=True)
    recurrence = fields.String()
    headcount = fields.Integer(required=True)
    places_left = fields.Integer(required=True)


class TallyOut(Schema):
    member_id = fields.Integer(required=True)
    name = fields.String(required=True)
    branch = fields.String(required=True)
    agency = fields.String(required=True)
    community_id = fields.Integer(allow_none=True)
    year = fields.Integer(required=True)
    approved_hours = fields.Decimal(required=True, as_string=True)
    approved_entries = fields.Integer(required=True)
    pending_entries = fields.Integer(required=True)
    reports_submitted = fields.Integer(required=True)
    required_hours = fields.Decimal(allow_none=True, as_string=True)
    required_entries = fields.Integer(allow_none=True)
    meets_rule = fields.Boolean(allow_none=True, metadata={"description": "null when no year rule is set"})


class SummonsOut(Schema):
    department = fields.String(required=True)
    status = fields.String(required=True)


class WhistleOut(Schema):
    id = fields.Integer(required=True)
    serial = fields.String(required=True)
    title = fields.String(required=True)
    area_id = fields.Integer(required=True)
    area = fields.String(required=True)
    status = fields.String(required=True)
    urgency = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    summonses = fields.List(fields.Nested(SummonsOut), required=True)


AreaPage = _page_of(AreaOut, "AreaPage")
BranchPage = _page_of(BranchOut, "BranchPage")
NeedPage = _page_of(NeedOut, "NeedPage")
TallyPage = _page_of(TallyOut, "TallyPage")
WhistlePage = _page_of(WhistleOut, "WhistlePage")


class ClaimOut(Schema):
    id = fields.Integer(required=True)
    need_id = fields.Integer(required=True)
    status = fields.String(required=True)
    places_left = fields.Integer(required=True)


class EntryIn(Schema):
    service_date = fields.Date(required=True)
    content = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    community_id = ID
    need_id = ID
    hours = fields.Float(validate=validate.Range(min=0.5, max=24), metadata={"description": "in steps of 0.5"})
    start_time = fields.Time()
    end_time = fields.Time()
    place = fields.String(validate=validate.Length(max=100))
    organizer = fields.String(validate=validate.Length(max=100))
    person_in_charge = fields.String(validate=validate.Length(max=50))
    late_reason = fields.String(validate=validate.Length(max=255))


class EntryOut(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True)
    service_date = fields.Date(required=True)
    hours = fields.Decimal(required=True, as_string=True)
    community_id = fields.Integer(required=True)
    need_id = fields.Integer(allow_none=True)
    late = fields.Boolean(required=True)


def _hours(half_hours: int | None) -> Decimal | None:
    return None if half_hours is None else Decimal(half_hours) / 2


def area_row(area: Any) -> dict:
    return {"id": area.id, "name": area.name, "level": area.level, "parent_id": area.parent_id}


def branch_row(branch: Any) -> dict:
    return {"id": branch.id, "name": branch.name, "agency_id": branch.agency_id, "agency": branch.agency.name}


def need_row(need: Any) -> dict:
    return {
        "id": need.id,
        "kind": need.kind,
        "title": need.title,
        "community_id": need.community_id,
        "community": need.community.name,
        "category": need.category.name if need.category else None,
        "place": need.place,
        "estate": need.estate.name if need.estate else None,
        "grid": need.grid.name if need.grid else None,
        "skills": need.skills,
        "on_date": need.on_date,
        "start_time": need.start_time,
        "end_time": need.end_time,
        "recurrence": need.recurrence,
        "headcount": need.headcount,
        "places_left": need.places_left,
    }


def tally_row(row: Any, year: int) -> dict:
    return {
        "member_id": row.member_id,
        "name": row.name,
        "branch": row.branch,
        "agency": row.agency,
        "community_id": row.community_id,
        "year": year,
        "approved_hours": _hours(row.approved_half_hours or 0),
        "approved_entries": row.approved_entries or 0,
        "pending_entries": row.pending_entries or 0,
        "reports_submitted": row.reports_submitted or 0,
        "required_hours": _hours(row.min_half_hours),
        "required_entries": row.min_activities,
        "meets_rule": None if row.meets_rule is None else bool(row.meets_rule),
    }


def whistle_row(whistle: Any) -> dict:
    return {
        "id": whistle.id,
        "serial": whistle.serial,
        "title": whistle.title,
        "area_id": whistle.area_id,
        "area": whistle.area.name,
        "status": whistle.status,
        "urgency": whistle.urgency,
        "created_at": whistle.created_at,
        "summonses": [{"department": s.department.name, "status": s.status} for s in whistle.summonses],
    }


def entry_row(record: Any) -> dict:
    return {
        "id": record.id,
        "status": record.status,
        "service_date": record.service_date,
        "hours": _hours(record.half_hours),
        "community_id": record.community_id,
        "need_id": record.need_id,
        "late": record.late,
    }
