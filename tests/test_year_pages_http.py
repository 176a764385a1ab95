"""Year-navigated pages: a year still to come is not found, and no page links past this year (the rules,
which are set ahead, excepted)."""

from __future__ import annotations

import pytest

from kmvolunteer.core.time import local_today

THIS_YEAR = local_today().year
NEXT_YEAR = THIS_YEAR + 1


@pytest.mark.parametrize(
    ("username", "path"),
    [
        ("branch_secretary", "/reports/branches/{branch}/year/{year}"),
        ("branch_secretary", "/reports/branches/{branch}/year/{year}/print"),
        ("branch_secretary", "/reports/branches/{branch}/year/{year}.xlsx"),
        ("branch_secretary", "/reports/branches/{branch}/reports?year={year}"),
        ("branch_secretary", "/reports/branches/{branch}/feedback?year={year}"),
        ("community_secretary", "/reports/evaluations/{community}/{year}"),
        ("community_secretary", "/reports/feedback/{community}?year={year}"),
        ("district_org", "/reports/overdue/{district}?year={year}"),
        ("13800000001", "/reports/mine?year={year}"),
        ("city_org", "/tallies/areas/{city}?year={year}"),
        ("district_org", "/tallies/areas/{district}?year={year}"),
        ("branch_secretary", "/tallies/branches/{branch}?year={year}"),
        ("13800000001", "/service/my?year={year}"),
    ],
)
def test_a_year_to_come_is_not_found_and_this_year_has_no_next_link(login, world, username, path):
    browser = login(username)
    ids = {
        "city": world.city.id,
        "branch": world.branch.id,
        "community": world.community.id,
        "district": world.district.id,
    }
    assert browser.get(path.format(year=NEXT_YEAR, **ids)).status_code == 404
    page = browser.get(path.format(year=THIS_YEAR, **ids))
    assert page.status_code == 200
    if page.mimetype == "text/html":
        html = page.get_data(as_text=True)
        assert f"year={NEXT_YEAR}" not in html and f"/{NEXT_YEAR}" not in html


def test_last_years_page_links_to_this_year(login, world):
    html = (
        login("branch_secretary")
        .get(f"/reports/branches/{world.branch.id}/year/{THIS_YEAR - 1}")
        .get_data(as_text=True)
    )
    assert f'/reports/branches/{world.branch.id}/year/{THIS_YEAR}"' in html


def test_rules_may_be_set_for_next_year(login, world):
    assert login("city_org").get(f"/reports/rules?year={NEXT_YEAR}").status_code == 200


def test_a_tally_year_too_long_to_be_a_year_is_not_found(login, world):
    browser = login("city_org")
    assert browser.get(f"/tallies/areas/{world.city.id}?year={'9' * 5000}").status_code == 404
    assert browser.get(f"/tallies/areas/{world.city.id}?year=1999").status_code == 200


@pytest.mark.parametrize("username", ["district_org", "branch_secretary"])
def test_the_tally_menu_link_keeps_the_year_asked_for(login, world, username):
    browser = login(username)
    last_year = browser.get(f"/tallies/?year={THIS_YEAR - 1}")
    assert last_year.status_code == 302 and f"year={THIS_YEAR - 1}" in last_year.headers["Location"]
    assert "year=" not in browser.get("/tallies/").headers["Location"]
    assert browser.get(f"/tallies/?year={NEXT_YEAR}").status_code == 404
