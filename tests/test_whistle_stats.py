"""吹哨报到 statistics (tallies/whistles.py): what each figure counts, the period, the ranking; and the page
over HTTP: scope, bad dates, the fragment, print and the downloads."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from kmvolunteer.core.time import local_today, utcnow
from kmvolunteer.extensions import db
from kmvolunteer.tallies.whistles import Figures, ranked, whistle_stats
from kmvolunteer.whistles import services
from kmvolunteer.whistles.models import Whistle
from tests.test_whistles_services import Town, blow, data, handled, town  # noqa: F401  (the fixture)

HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the pages' words, written in English."""


def this_year(area, now=None):
    today = local_today()
    return whistle_stats(area, date(today.year, 1, 1), today, now or utcnow())


@pytest.fixture
def blown(town: Town) -> Town:  # noqa: F811  (the fixture imported above)
    """Four whistles of the community and one of its subdistrict, at different steps:
    1. handled well within time, rated 满意;  2. signed late, then handled, rated 不满意 (back with the department);
    3. declined by the market office;  4. just blown (nothing due yet);  5. the subdistrict's, escalated."""
    w = town.w
    secretary = town.user("community_secretary")
    first = handled(town)
    first.handled_at = first.summoned_at + timedelta(hours=5)
    services.rate(first, secretary, "satisfied")

    second = blow(town)
    late = next(s for s in second.summonses)
    late.sign_due_at = late.summoned_at - timedelta(minutes=1)  # a deadline already gone when it signs
    handled(town, second)
    services.rate(late, secretary, "unsatisfied", "还在渗水")

    declined = blow(town, town.market)
    services.decline(declined.summonses[0], town.market_officer, "不属于本所职责")
    blow(town)

    sub = services.blow(w.subdistrict, w.users["subdistrict_officer"], data(town), [w.department.id])
    services.escalate(sub, w.users["subdistrict_officer"], "需区级协调")
    db.session.commit()
    return town


def test_the_figures_count_what_they_say(blown: Town):
    w = blown.w
    stats = this_year(w.district)
    total = stats.total
    # 5 blown + the district's whistle the escalation made (no summons yet).
    assert (total.whistles, total.whistles_escalated, total.summonses) == (6, 1, 5)
    assert total.counts["declined"] == 1
    # Signed: the first on time, the second late; the fresh ones (community, subdistrict) are not yet due.
    assert (total.counts["sign_judged"], total.counts["sign_on_time"]) == (2, 1)
    assert total.signed_rate == 0.5
    # The second is back with the department after its 不满意, so only the first is handled, in 5 hours.
    assert (total.counts["handle_judged"], total.handled_rate, total.median_hours) == (1, 1.0, 5.0)
    assert (total.counts["rated"], total.satisfaction_rate) == (2, 0.5)

    areas = {row.name: row for row in stats.areas}
    assert set(areas) == {w.subdistrict.name, f"{w.district.name} itself"}
    assert areas[w.subdistrict.name].whistles == 5  # the community's four and the subdistrict's own
    tiers = [(row.key, row.whistles, row.summonses) for row in stats.tiers]
    assert tiers == [("community", 4, 4), ("subdistrict", 1, 1), ("district", 1, 0)]

    departments = {row.name: row for row in stats.departments}
    assert departments[blown.street.name].summonses == 3
    assert departments[blown.market.name].counts["declined"] == 1
    assert departments[blown.market.name].handled_rate is None  # a declined summons counts in no rate
    assert departments[w.department.name].counts["escalated"] == 1
    assert stats.departments[0].name == blown.street.name and stats.departments[0].rank == 1


def test_a_community_sees_its_own_and_the_period_counts(blown: Town):
    w = blown.w
    stats = this_year(w.community)
    assert stats.total.whistles == 4
    assert [row.key for row in stats.tiers] == ["community"]
    last_year = local_today().year - 1
    assert whistle_stats(w.community, date(last_year, 1, 1), date(last_year, 12, 31), utcnow()).total.whistles == 0
    assert this_year(w.other_community).total.whistles == 0


def test_a_deadline_passing_makes_a_step_judged_late(blown: Town):
    later = utcnow() + timedelta(days=30)
    total = this_year(blown.w.district, now=later).total
    # The fresh whistle's summons and the subdistrict's are now late at every step, and the second is
    # past its new handling deadline.
    assert (total.counts["sign_judged"], total.counts["sign_on_time"]) == (4, 1)
    assert (total.counts["handle_judged"], total.counts["handle_on_time"]) == (4, 1)


def test_the_ranking_puts_the_best_first_and_ties_share_a_rank():
    def department(name, handled, rated, satisfied, summonses=2):
        figures = Figures(name, name, "department")
        figures.counts.update(
            summonses=summonses, handle_judged=2, handle_on_time=handled, rated=rated, satisfied=satisfied
        )
        return figures

    rows = ranked(
        [
            department("慢", 0, 1, 1),
            department("好", 2, 2, 2),
            department("同", 2, 2, 2, summonses=1),
            department("未评", 2, 0, 0),
            Figures("新", "新", "department"),
        ]
    )
    assert [(r.name, r.rank) for r in rows] == [("好", 1), ("同", 1), ("未评", 3), ("慢", 4), ("新", 5)]


# ---------------------------------------------------------------- the page


@pytest.mark.parametrize(
    ("who", "area", "status"),
    [
        ("city_org", "city", 200),
        ("district_org", "district", 200),
        ("subdistrict_officer", "subdistrict", 200),
        ("community_secretary", "community", 200),
        ("community_secretary", "subdistrict", 404),  # the tier above
        ("subdistrict_officer", "other_community", 404),  # another subdistrict's community
        ("other_org", "district", 404),
        ("street_officer", "subdistrict", 404),  # a department reads its queue, not the statistics
        ("13800000001", "community", 404),
    ],
)
def test_who_sees_which_statistics(login, blown, who, area, status):
    place = getattr(blown.w, area)
    assert login(who).get(f"/tallies/whistles/areas/{place.id}").status_code == status


def test_the_page_shows_the_figures_and_links_down(login, blown):
    w = blown.w
    page = login("district_org").get(f"/tallies/whistles/areas/{w.district.id}")
    text = page.get_data(as_text=True)
    assert "<html" in text and "Ranking of departments" in text and blown.street.name in text
    assert f"/tallies/whistles/areas/{w.subdistrict.id}?from=" in text  # a sub-area's row opens its own
    assert "50.0%" in text  # signed on time
    fragment = login("district_org").get(f"/tallies/whistles/areas/{w.district.id}", headers=HX)
    assert "<html" not in fragment.get_data(as_text=True) and 'id="whistle-stats"' in fragment.get_data(as_text=True)


def test_the_own_area_is_where_the_menu_leads(login, blown):
    response = login("subdistrict_officer").get("/tallies/whistles?from=2026-01-01")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/tallies/whistles/areas/{blown.w.subdistrict.id}?from=2026-01-01")
    assert login("street_officer").get("/tallies/whistles").status_code == 404


@pytest.mark.parametrize(
    "query",
    ["from=yesterday", "to=2026-13-01", "from=2026-06-01&to=2026-01-01", "from=1900-01-01", "to=99999-01-01"],
)
def test_bad_dates_are_a_clear_400(login, blown, query):
    response = login("district_org").get(f"/tallies/whistles/areas/{blown.w.district.id}?{query}")
    assert response.status_code == 400
    assert "Choose two days" in response.get_data(as_text=True)


def test_print_and_downloads_of_one_table(login, blown):
    b = login("district_org")
    base = f"/tallies/whistles/areas/{blown.w.district.id}"
    printed = b.get(f"{base}?table=departments&format=print").get_data(as_text=True)
    assert "Whistle statistics of" in printed and blown.street.name in printed and "Prepared by" in printed
    csv = b.get(f"{base}?table=tiers&format=csv")
    lines = csv.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("Tier,Whistles blown,Summonses,Signed on time")
    assert lines[-1].startswith("Total,6,5,0.5")
    xlsx = b.get(f"{base}?table=areas&format=xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert b.get(f"{base}?table=members&format=csv").status_code == 404


# ---------------------------------------------------------------- the work order


@pytest.mark.parametrize(
    ("who", "status"),
    [("community_secretary", 200), ("street_officer", 200), ("district_org", 200), ("other_secretary", 404)],
)
def test_the_work_order_prints_for_whoever_reads_the_whistle(login, blown, who, status):
    whistle = db.session.scalars(
        select(Whistle).where(Whistle.area_id == blown.w.community.id).order_by(Whistle.id)
    ).first()
    response = login(who).get(f"/whistles/{whistle.id}/print")
    assert response.status_code == status
    if status == 200:
        text = response.get_data(as_text=True)
        assert whistle.serial in text and blown.street.name in text and "Blowing unit (seal)" in text
        assert "Satisfied" in text  # the first department's rating
