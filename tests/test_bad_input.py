"""Bad input gets a clear message and changes nothing — never a 500 (issue 13, item 10)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import func, select

from kmvolunteer.auth.models import User
from kmvolunteer.core.forms import FIRST_DATE, LAST_DATE
from kmvolunteer.core.text import MAX_PAGE, parse_page
from kmvolunteer.extensions import db
from kmvolunteer.org import roster
from kmvolunteer.org.models import Member
from tests.conftest import row_count
from tests.factories import make_user

HEADER = "姓名,手机号,单位,支部,职务"


def _lists(world) -> list[tuple[str, str]]:
    """Every paginated list, with a user who may open it."""
    return [
        ("city_org", "/accounts/"),
        ("branch_secretary", f"/branches/{world.branch.id}"),
        ("community_secretary", f"/communities/{world.community.id}/queue"),
        ("community_secretary", f"/communities/{world.community.id}/roster"),
        ("city_org", "/audit/"),
        ("community_secretary", "/service/queue"),
        ("branch_secretary", "/reports/inbox"),
    ]


@pytest.mark.parametrize(
    "raw, page",
    [
        (None, 1),
        ("", 1),
        ("3", 3),
        ("0", 1),
        ("-1", 1),
        ("abc", 1),
        ("1.5", 1),
        ("99999999999999999999", 1),
        (str(MAX_PAGE), MAX_PAGE),
        (str(MAX_PAGE + 1), 1),
        ("٣", 1),
    ],
)
def test_page_numbers_are_parsed_bounded_with_1_by_default(raw, page):
    assert parse_page(raw) == page


def test_every_paginated_list_survives_any_page_number(world, login):
    for username, url in _lists(world):
        user = login(username)
        for page in ("99999999999999999999", "-5", "0", "x", str(MAX_PAGE)):
            response = user.get(f"{url}?page={page}")
            assert response.status_code == 200, (url, page, response.status_code)


def test_link_building_pages_ignore_unknown_and_reserved_query_arguments(world, login, english):
    """Pager and tally links keep only the page's own filters: ?endpoint=x or ?_method=POST broke url_for."""
    from tests.factories import make_report_in

    for _ in range(60):  # a second page, so the pager links are built
        db.session.add(User(username=f"u{_:03d}", display_name="x", password_hash="x", home_area=world.district))
    db.session.commit()
    make_report_in(world.members["member"], world.community, "confirmed")
    db.session.commit()
    pages = _lists(world) + [
        ("city_org", f"/tallies/areas/{world.city.id}"),
        ("city_org", f"/tallies/areas/{world.city.id}?format=print"),
        ("city_org", f"/tallies/areas/{world.community.id}?table=members"),
        ("branch_secretary", f"/tallies/branches/{world.branch.id}"),
        ("city_org", f"/tallies/agencies/{world.agency.id}"),
        ("city_org", f"/tallies/areas/{world.district.id}/shortfall"),
    ]
    hostile = [
        "endpoint=x",
        "_method=POST",
        "_external=1",
        "_anchor=x",
        "_scheme=javascript",
        "values=1",
        f"community_id=abc&branch_id=-1&area_id={2**40}",
        "page=2&page=3",
        "q=a&q=b",
    ]
    for username, url in pages:
        user = login(username)
        for query in hostile:
            joiner = "&" if "?" in url else "?"
            response = user.get(f"{url}{joiner}{query}")
            assert response.status_code < 500, (url, query, response.status_code)
    # A pager link keeps the filters and drops the rest.
    html = login("city_org").get("/accounts/?q=u0&bogus=1").get_data(as_text=True)
    assert '<a href="/accounts/?q=u0&amp;page=2">' in html and "bogus=1&amp;page" not in html
    # url_for's own parameters are nobody's query argument.
    response = login("city_org").get("/accounts/?_method=POST")
    assert response.status_code == 400 and "parameter" in response.get_data(as_text=True)


@pytest.mark.parametrize("field", ["date_from", "date_to"])
@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "1999-12-31", "2101-01-01", "2026-02-30"])
def test_audit_date_filter_out_of_range_is_a_field_error(world, login, english, field, value):
    response = login("city_org").get(f"/audit/?{field}={value}")
    assert response.status_code in (200, 422)
    html = response.get_data(as_text=True)
    if value != "2026-02-30":
        assert "between 2000-01-01 and 2100-12-31" in html


def test_every_date_field_has_the_sensible_range(app):
    """Every date field of every form is the bounded one: a new form cannot bring the overflow back."""
    from flask_wtf import FlaskForm
    from wtforms import DateField as PlainDateField

    from kmvolunteer.core.forms import DateField

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    forms = list(subclasses(FlaskForm))
    dated = [
        (form, name)
        for form in forms
        for name, unbound in vars(form).items()
        if getattr(unbound, "field_class", None) and issubclass(unbound.field_class, PlainDateField)
    ]
    assert len(dated) >= 8
    assert [
        (form.__name__, name) for form, name in dated if not issubclass(getattr(form, name).field_class, DateField)
    ] == []
    assert (date(2000, 1, 1), date(2100, 12, 31)) == (FIRST_DATE, LAST_DATE)


@pytest.mark.parametrize(
    "username, url",
    [
        ("community_secretary", "/service/queue?date_from=0001-01-01&date_to=9999-12-31"),
        ("community_secretary", "/service/queue/summary?date_from=0001-01-01&date_to=9999-12-31"),
        ("city_org", "/audit/?date_from=0001-01-01&date_to=9999-12-31"),
        ("community_secretary", "/communities/{community}/needs/new?on_date=9999-12-31"),
    ],
)
def test_out_of_range_dates_in_filters_never_reach_the_database(world, login, username, url):
    response = login(username).get(url.format(community=world.community.id))
    assert response.status_code in (200, 422), response.status_code


def test_out_of_range_dates_in_forms_are_refused_and_change_nothing(world, login, english):
    user = login("13800000001")
    from tests.factories import make_report_in

    make_report_in(world.members["member"], world.community, "confirmed")
    db.session.commit()
    user.get("/service/new")
    before = row_count()
    for day in ("0001-01-01", "9999-12-31"):
        response = user.post(
            "/service/new",
            {"service_date": day, "hours": "2", "content": "宣传", "community_id": str(world.community.id)},
        )
        assert response.status_code == 422
        assert "between 2000-01-01 and 2100-12-31" in response.get_data(as_text=True)
    assert row_count() == before


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f"])
def test_control_characters_in_form_fields_and_query_arguments_are_refused(world, login, english, char):
    user = login("branch_secretary")
    user.get(f"/branches/{world.branch.id}")
    before = row_count()
    response = user.post(f"/branches/{world.branch.id}/members", {"name": f"张{char}三", "phone": "13911112222"})
    assert response.status_code == 400
    assert "control characters" in response.get_data(as_text=True)
    assert user.get(f"/branches/{world.branch.id}?q=a{char}b").status_code == 400
    assert user.get(f"/branches/{world.branch.id}?q{char}=ab").status_code == 400
    assert row_count() == before


def test_tabs_newlines_and_file_uploads_are_not_refused(world, login):
    user = login("branch_secretary")
    user.get(f"/branches/{world.branch.id}")
    response = user.post(
        f"/branches/{world.branch.id}/members", {"name": "张三", "phone": "13911112222", "post": "科员\t\r\n"}
    )
    assert response.status_code == 200
    data = f"{HEADER}\n赵一,13911110001,五华区民政局,机关党支部,科员\n".encode() + b"\x01"  # binary bytes in a file
    xlsx_like = io.BytesIO(b"PK\x03\x04\x00\x01\x02\x1b" * 10)
    assert (
        user.post(
            "/roster/import", {"file": (io.BytesIO(data), "r.csv")}, content_type="multipart/form-data"
        ).status_code
        != 400
    )
    assert (
        user.post("/roster/import", {"file": (xlsx_like, "r.xlsx")}, content_type="multipart/form-data").status_code
        == 422
    )


def _upload(user, data: bytes, name: str = "r.csv"):
    user.get("/roster/import")
    return user.post("/roster/import", {"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_a_csv_field_over_128_kib_is_refused_clearly(world, login, english):
    user = login("branch_secretary")
    before = row_count()
    data = f"{HEADER}\n赵一,13911110001,五华区民政局,机关党支部,{'x' * 200_000}\n".encode()
    response = _upload(user, data)
    assert response.status_code == 422
    assert "too long" in response.get_data(as_text=True)
    assert row_count() == before


def test_a_roster_file_with_only_a_header_row_gets_a_message(world, login, english):
    user = login("branch_secretary")
    before = row_count()
    response = _upload(user, f"{HEADER}\n,,,,\n".encode())
    assert response.status_code == 422
    assert "no members" in response.get_data(as_text=True)
    assert row_count() == before


def test_a_second_import_of_the_same_people_at_once_gets_a_clear_message(world, login, english, monkeypatch):
    """Two imports checked at the same moment: the loser's insert hits the unique index, not a 500."""
    user = login("branch_secretary")
    # The other import committed 13911110002 after this one's check had read the accounts.
    make_user("13911110002", "x", world.district)
    db.session.commit()
    monkeypatch.setattr(roster, "_taken_phones", lambda phones: set())
    before = (db.session.scalar(select(func.count(Member.id))), db.session.scalar(select(func.count(User.id))))
    data = f"{HEADER}\n赵一,13911110001,五华区民政局,机关党支部,\n钱二,13911110002,五华区民政局,机关党支部,\n".encode()
    response = _upload(user, data)
    assert response.status_code == 422
    assert "at the same time" in response.get_data(as_text=True)
    db.session.expire_all()
    after = (db.session.scalar(select(func.count(Member.id))), db.session.scalar(select(func.count(User.id))))
    assert after == before


@pytest.mark.parametrize("base_url", ["http://localhost/", "http://localhost/kmv%20app/"])
def test_a_url_built_once_for_every_row_is_url_for_with_the_rows_id(app, base_url):
    """core.htmx.url_pattern, which the queue uses for the links and forms of each row."""
    from flask import url_for

    from kmvolunteer.core.htmx import url_pattern

    with app.test_request_context("/", base_url=base_url):
        pattern = url_pattern("service.decide", "record_id", action="return")
        for record_id in (1, 42, 2**31 - 1):
            assert pattern % record_id == url_for("service.decide", record_id=record_id, action="return")
