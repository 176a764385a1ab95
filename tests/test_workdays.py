"""Working days: China's official calendar with 调休, local overrides, and Monday–Friday beyond the package."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from kmvolunteer.extensions import db
from kmvolunteer.years import workdays
from kmvolunteer.years.models import WorkdayOverride


def test_official_calendar_knows_holidays_and_adjusted_workdays(ctx):
    assert not workdays.is_workday(date(2025, 10, 1))  # National Day
    assert not workdays.is_workday(date(2025, 10, 3))
    assert workdays.is_workday(date(2025, 9, 28))  # a Sunday worked instead (调休)
    assert workdays.is_workday(date(2025, 10, 11))  # a Saturday worked instead
    assert not workdays.is_workday(date(2025, 10, 12))  # an ordinary Sunday
    assert workdays.is_workday(date(2025, 10, 9))


def test_years_the_package_does_not_know_fall_back_to_monday_to_friday(ctx):
    assert workdays.official_workday(date(2031, 3, 3))  # Monday
    assert workdays.official_workday(date(2031, 3, 7))  # Friday
    assert not workdays.official_workday(date(2031, 3, 8))  # Saturday
    assert not workdays.official_workday(date(2031, 3, 9))  # Sunday
    assert workdays.working_days_after(date(2031, 3, 2), date(2031, 3, 16)) == 10


def test_local_overrides_win(app, ctx):
    day = date(2025, 10, 9)
    assert workdays.is_workday(day)
    db.session.add(WorkdayOverride(day=day, is_workday=False, note="城市运动会放假"))
    db.session.add(WorkdayOverride(day=date(2025, 10, 12), is_workday=True, note="补班"))
    db.session.commit()
    assert not workdays.is_workday(day)
    assert workdays.is_workday(date(2025, 10, 12))
    # Mon 6 Oct..Sun 12 Oct 2025: the 6th–8th are holidays, the 9th is overridden off, the 10th works,
    # the 11th is an adjusted workday, the 12th is overridden on.
    assert workdays.working_days_after(date(2025, 10, 5), date(2025, 10, 12)) == 3


def test_counting_working_days_across_the_national_day_holiday(ctx):
    # 30 Sep 2025 → 15 Oct 2025: 1–8 Oct off, 11 Oct (Sat) worked; 9, 10, 11, 13, 14, 15 = 6.
    assert workdays.working_days_after(date(2025, 9, 30), date(2025, 10, 15)) == 6
    assert workdays.working_days_after(date(2025, 10, 15), date(2025, 10, 15)) == 0
    assert workdays.working_days_after(date(2025, 10, 15), date(2025, 10, 1)) == 0


def test_late_means_more_than_the_limit_of_working_days(ctx):
    service = date(2025, 9, 1)  # Monday
    # 10 working days later is Mon 15 Sep: not late; Tue 16 Sep is the 11th: late.
    assert not workdays.is_late(service, date(2025, 9, 15), 10)
    assert workdays.is_late(service, date(2025, 9, 16), 10)
    # Over the National Day holiday the same calendar distance is not late.
    assert not workdays.is_late(date(2025, 9, 30), date(2025, 10, 15), 10)
    assert workdays.is_late(date(2025, 9, 30), date(2025, 10, 15), 5)


# ------------------------------------------------------------------ local exceptions, as the city sets them


def test_the_city_sets_and_removes_local_exceptions_and_each_is_audited(world, english):
    from kmvolunteer.core.audit import AuditEntry
    from kmvolunteer.core.errors import ServiceError
    from kmvolunteer.years import workdays

    city = world.city.path
    holiday = date(2026, 7, 13)  # a Monday: a working day in the national calendar
    assert workdays.set_override(holiday, False, "  火把节  ", scope_path=city) is False
    db.session.commit()
    assert workdays.is_workday(holiday) is False
    assert [(o.day, o.is_workday, o.note) for o in workdays.overrides_in_year(2026)] == [(holiday, False, "火把节")]
    with pytest.raises(ServiceError, match="already a working day"):
        workdays.set_override(date(2026, 7, 14), True, "", scope_path=city)  # nothing to change
    with pytest.raises(ServiceError, match="at most 100"):
        workdays.set_override(date(2026, 7, 15), False, "长" * 101, scope_path=city)
    db.session.rollback()
    assert workdays.set_override(holiday, True, "改回上班", scope_path=city) is True  # replaced
    db.session.commit()
    assert workdays.is_workday(holiday) is True
    workdays.remove_override(holiday, scope_path=city)
    db.session.commit()
    assert workdays.overrides_in_year(2026) == [] and workdays.is_workday(holiday) is True
    with pytest.raises(ServiceError, match="no local exception"):
        workdays.remove_override(holiday, scope_path=city)
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["workday.set", "workday.set", "workday.removed"]


def test_only_the_city_department_opens_the_working_days_page(world, login, english):
    city = login("city_org")
    page = city.get("/service/workdays?year=2026")
    assert page.status_code == 200 and 'id="calendar-known"' in page.get_data(as_text=True)
    for name in ("district_org", "community_secretary", "member"):
        b = login(world.users[name].username)
        assert b.get("/service/workdays").status_code == 404
        assert b.post("/service/workdays", {"day": "2026-07-13", "kind": "off"}).status_code == 404
    response = city.post("/service/workdays", {"day": "2026-07-13", "kind": "off", "note": "火把节"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/service/workdays?year=2026")
    listed = city.get("/service/workdays?year=2026").get_data(as_text=True)
    assert '<td class="nowrap">2026-07-13' in listed and "火把节" in listed
    again = city.post("/service/workdays", {"day": "2026-07-13", "kind": "off", "note": "火把节（补充）"})
    assert again.status_code == 303 and "replaced by this one" in city.get(again.headers["Location"]).get_data(
        as_text=True
    )
    refused = city.post("/service/workdays", {"day": "2026-07-14", "kind": "work"})
    assert refused.status_code == 422 and "already a working day" in refused.get_data(as_text=True)
    assert city.post("/service/workdays", {"day": "", "kind": "off"}).status_code == 422
    assert city.post("/service/workdays/2026-13-40/remove").status_code == 404
    assert city.post("/service/workdays/2026-07-13/remove").status_code == 303
    assert '<td class="nowrap">2026-07-13' not in city.get("/service/workdays?year=2026").get_data(as_text=True)
    without_token = city.post("/service/workdays", {"day": "2026-07-13", "kind": "off"}, csrf=False)
    assert without_token.status_code == 400


def test_a_year_the_calendar_does_not_know_says_so(world, login, english, monkeypatch):
    from kmvolunteer.years import workdays

    monkeypatch.setattr(workdays, "calendar_knows", lambda year: False)
    html = login("city_org").get("/service/workdays?year=2027").get_data(as_text=True)
    assert 'id="calendar-unknown"' in html and "2027" in html


def test_the_working_days_page_keeps_to_its_years_and_warns_of_next_year(world, login, english, monkeypatch):
    from kmvolunteer.core.time import local_today
    from kmvolunteer.years import workdays

    this_year = local_today().year
    city = login("city_org")
    last = city.get(f"/service/workdays?year={this_year + 2}").get_data(as_text=True)
    assert f"year={this_year + 3}" not in last  # no link to a year the page refuses
    assert city.get(f"/service/workdays?year={this_year + 3}").status_code == 404
    assert city.get("/service/workdays?year=abc").status_code == 404
    monkeypatch.setattr(workdays, "calendar_knows", lambda year: year <= this_year)
    html = city.get("/service/workdays").get_data(as_text=True)
    assert 'id="next-unknown"' in html and f"year={this_year + 1}" in html
    assert 'aria-current="page">Year rules' in html  # the menu shows where the page lives
