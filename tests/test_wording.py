"""Words as a Kunming civil servant reads them, on the demo city."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from kmvolunteer import demo
from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area, Branch, Member
from tests.conftest import Browser


@pytest.fixture
def city(demo_city, ctx):
    """The demo city, seeded once for this module (each test's changes are rolled back)."""


def _as(app, username: str) -> Browser:
    browser = Browser(app.test_client())
    browser.login(username, demo.DEMO_PASSWORD)
    return browser


def _text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_the_categories_table_names_a_category_not_a_person(city, app):
    html = _text(_as(app, "city_org").get("/categories"))
    assert '<th scope="col">名称</th>' in html and "姓名" not in html


def test_a_branch_reports_in_to_a_co_building_community_not_where_it_lives(city, app):
    branch = db.session.scalar(select(Member).where(Member.name == "刘洋")).branch
    secretary = _as(app, "branch_secretary")
    html = _text(secretary.get(f"/branches/{branch.id}/cobuild/new"))
    assert "<legend>共建社区</legend>" in html and "居住" not in html
    refused = secretary.post(f"/branches/{branch.id}/cobuild/new", {"community": ""})
    assert "请选择共建社区。" in refused.get_data(as_text=True)


def test_a_waiting_entry_says_how_long_it_has_waited(city, app):
    secretary = _as(app, "cuihu_secretary")
    html = _text(secretary.get("/service/queue"))
    assert "已超期" not in html
    days = [int(n) for n in re.findall(r"已等待 (\d+) 天", html)]
    assert days and min(days) >= 7
    record_id = re.search(r'href="/service/records/(\d+)"[^>]*>[^<]*</a>(?:(?!<tr).)*已等待', html, re.S)
    assert record_id
    assert re.search(r"已等待 \d+ 天", _text(secretary.get(f"/service/records/{record_id.group(1)}")))


def test_the_overdue_page_and_the_member_show_the_same_report_due_date(city, app):
    """The member's rule is their agency's place's (the city's for 市民政局); the district's overdue
    page counted them by it but printed its own district's date above the table."""
    year = local_today().year
    member_page = _text(_as(app, "member").get("/reports/mine"))
    member_due = set(re.findall(rf"{year + 1}-\d\d-\d\d", member_page))
    assert len(member_due) == 1
    district = db.session.scalar(select(Area).where(Area.name == "五华区"))
    overdue = _text(_as(app, "wuhua_org").get(f"/reports/overdue/{district.id}?year={year}"))
    row = re.search(r'<tr data-community="翠湖社区">.*?</tr>', overdue, re.S).group(0)
    assert member_due <= set(re.findall(rf"{year + 1}-\d\d-\d\d", row))
    assert "报告截止日期：" not in overdue  # no single date for members under different rules


def test_the_demo_roster_holds_on_duty_members_only(city):
    names = db.session.scalars(select(Branch.name).join(Member).where(Member.active.is_(True))).all()
    assert names and not [name for name in names if "退休" in name]


def test_the_print_sheet_has_a_language_switch_that_comes_back_to_it(city, app):
    secretary = _as(app, "branch_secretary")
    branch = db.session.scalar(select(Member).where(Member.name == "刘洋")).branch
    url = f"/tallies/branches/{branch.id}?year={local_today().year}&table=members&format=print"
    html = _text(secretary.get(url))
    assert 'action="/language"' in html and f'name="next" value="{url.replace("&", "&amp;")}"' in html
    switched = secretary.post("/language", {"locale": "en", "next": url})
    assert switched.status_code == 303 and switched.headers["Location"].endswith(url)
    english = _text(secretary.get(url))
    assert "Prepared by" in english and 'value="zh_Hans_CN"' in english


def test_a_full_need_says_so_instead_of_none_left(city, app):
    html = _text(_as(app, "member").get("/report-in"))
    assert "名额已满" in html and "剩余0个名额" not in html
