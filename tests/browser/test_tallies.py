"""Print a tally to PDF in Chromium: A4 pages, page numbers, the table header again on page 2."""

from __future__ import annotations

import re
import subprocess
from datetime import date

from kmvolunteer.extensions import db
from kmvolunteer.years.models import YearRule
from tests.browser.conftest import ARTIFACTS, js_enabled, log_in, screenshot
from tests.conftest import PASSWORD
from tests.factories import make_member, make_record

YEAR = 2026


def _many_members(world, count: int = 90) -> None:
    db.session.add(YearRule(year=YEAR, area_id=world.city.id, min_half_hours=8, min_activities=2))
    for i in range(count):
        member = make_member(f"党员{i:03d}", f"136{i:08d}", world.branch)
        db.session.flush()
        for entry in range(i % 4):
            make_record(member, world.community, date(YEAR, 1 + entry, 10), half_hours=i % 3 + 1)
    db.session.commit()


def _pdf_text(path, page: int) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_branch_tally_prints_on_numbered_a4_pages_with_headers_repeated(new_page, world):
    _many_members(world)
    page = new_page(viewport={"width": 1280, "height": 900})
    log_in(page, "branch_secretary", PASSWORD)
    page.goto(f"/tallies/branches/{world.branch.id}?year={YEAR}")
    screenshot(page, "tally-branch-desktop")
    page.goto(f"/tallies/branches/{world.branch.id}?year={YEAR}&table=members&format=print")
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = ARTIFACTS / "tally-branch.pdf"
    page.pdf(path=str(pdf), prefer_css_page_size=True, print_background=True)
    pages = int(
        next(
            line.split()[-1]
            for line in subprocess.run(
                ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True
            ).stdout.splitlines()
            if line.startswith("Pages:")
        )
    )
    assert pages >= 2
    first, second = _pdf_text(pdf, 1), _pdf_text(pdf, 2)
    header = first.split("\n")
    column_line = next(line for line in header if "党员000" not in line and "姓名" in line)
    assert "姓名" in second and column_line.split()[0] in second  # the table header is repeated on page 2
    assert re.search(rf"第\s*2\s*页\s*共\s*{pages}\s*页", second)
    assert "制表人" in _pdf_text(pdf, pages) and "制表人" not in first
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "2", str(pdf), str(ARTIFACTS / "tally-branch")], check=True
    )


def test_area_tally_page_with_charts_on_a_phone(page, world):
    javascript = js_enabled(page)
    _many_members(world, 12)
    log_in(page, "district_org", PASSWORD)
    page.goto(f"/tallies/areas/{world.district.id}?year={YEAR}")
    assert page.locator("svg.chart--narrow").count() == 2  # on a phone, the narrow drawing of each chart
    assert page.locator("table.tally").count() >= 1
    screenshot(page, f"tally-district-{'js' if javascript else 'nojs'}")
    page.select_option("select#year", str(YEAR - 1))
    if not javascript:  # with htmx the change itself reloads the tables and the address
        page.locator(".filters button[type=submit]").click()
    page.wait_for_url(lambda url: f"year={YEAR - 1}" in url)
    page.wait_for_load_state("networkidle")
    assert page.locator("#tally-tables").count() == 1
    # Heading, links and charts follow the year, not only the tables.
    assert f"{YEAR - 1}年度统计" in page.locator(".eyebrow").inner_text()
    assert f"year={YEAR - 1}" in page.get_by_role("link", name="未达标名单").get_attribute("href")
