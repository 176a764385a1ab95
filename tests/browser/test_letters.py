"""反馈函 in the browser: a community secretary previews and issues the half-year letter to an agency; the
agency's party organization finds it in its notices and on its agency page, prints it on A4 and acknowledges
receipt — with JavaScript on and off, at 360 px (the print on a desktop)."""

from __future__ import annotations

import re
import shutil

from playwright.sync_api import Page, expect
from sqlalchemy import select

from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.letters.models import FeedbackLetter
from tests.browser.conftest import ARTIFACTS, DESKTOP, js_enabled, log_in, screenshot
from tests.conftest import PASSWORD
from tests.factories import letters_world

YEAR = local_today().year - 1


def test_a_letter_goes_from_the_community_to_the_agency_party_organization(page: Page, new_page, world, request):
    variant = request.node.callspec.params["page"]
    w = letters_world(world, YEAR, PASSWORD)

    log_in(page, "community_secretary", PASSWORD)
    page.goto("/reports/")
    page.locator(f'a[href="/letters/communities/{w.community.id}"]').click()
    expect(page.locator("#letters-issued")).to_be_visible()
    page.locator(f'a[href="/letters/communities/{w.community.id}?year={YEAR}"]').click()
    expect(page.locator(f"#agency-{w.agency.id}")).to_contain_text(w.agency.name)
    page.locator(f"#agency-{w.agency.id} a", has_text="预览").click()
    expect(page.locator("#letter-preview")).to_be_visible()
    expect(page.locator("#letter-members")).to_contain_text("张明")
    page.go_back()
    if js_enabled(page):  # the page asks before issuing: answered no, nothing is issued
        page.once("dialog", lambda dialog: dialog.dismiss())
        page.locator(f"#agency-{w.agency.id} button[type=submit]").click()
        expect(page.locator(f"#agency-{w.agency.id} button[type=submit]")).to_be_visible()
        assert db.session.scalar(select(FeedbackLetter)) is None
        page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#agency-{w.agency.id} button[type=submit]").click()
    serial = page.locator("#letter-serial")
    expect(serial).to_have_text(re.compile(rf"FKH-{YEAR}-[A-Z2-9]{{10}}"))
    expect(page.locator("#letter-waiting")).to_be_visible()
    expect(page.locator("body.print-sheet")).to_have_count(1)  # the letter's own page, not swapped into another
    screenshot(page, f"letters-issued-{variant}")
    letter = db.session.scalar(select(FeedbackLetter))

    party = new_page(javascript=js_enabled(page))
    log_in(party, "wuhua_party", PASSWORD)
    party.goto("/notices")
    party.locator(f'#notices a[href="/letters/{letter.id}"]').click()
    expect(party.locator("#letter-serial")).to_have_text(letter.serial)
    party.goto(f"/agency-party/agencies/{w.agency.id}")
    party.locator(f'#letters a[href="/letters/{letter.id}"]').click()
    expect(party.locator("#letter-members")).to_contain_text("积极参加志愿服务")
    expect(party.locator("body.print-sheet")).to_have_count(1)
    expect(party.locator("#letter-branches")).to_contain_text("助老食堂")
    party.locator("#acknowledge-form button").click()
    expect(party.locator("#letter-acknowledged")).to_be_visible()
    expect(party.locator("#acknowledge-form")).to_have_count(0)
    screenshot(party, f"letters-acknowledged-{variant}")
    db.session.expire_all()
    assert db.session.get(FeedbackLetter, letter.id).status == "acknowledged"
    # The branch's 评议 sheet, from the agency's page: the member, the community's rating and what follows.
    party.goto(f"/agency-party/agencies/{w.agency.id}?year={YEAR}")
    party.locator(f'a[href="/reports/branches/{w.branch.id}/year/{YEAR}"]').click()
    sheet = party.locator("#year-table tr", has_text="张明")
    expect(sheet).to_contain_text("合格")
    expect(sheet).to_contain_text("可参评")
    screenshot(party, f"letters-review-sheet-{variant}")


def test_the_letter_prints_on_a4_landscape(new_page, world, tmp_path):
    w = letters_world(world, YEAR, PASSWORD)
    from kmvolunteer.letters import services

    letter = services.issue_letter(w.community, w.agency, YEAR, "Y")
    db.session.commit()
    page = new_page(javascript=True, viewport=DESKTOP)
    log_in(page, "wuhua_party", PASSWORD)
    page.goto(f"/letters/{letter.id}")
    expect(page.locator(".signatures")).to_contain_text("社区党组织（盖章）")
    screenshot(page, "letters-letter-desktop")
    pdf = tmp_path / "letter.pdf"
    page.emulate_media(media="print")
    expect(page.locator("#acknowledge-form")).to_be_hidden()  # the buttons stay off the paper
    page.pdf(path=str(pdf), prefer_css_page_size=True)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    # A4 landscape: the page box is 842 x 595 points.
    assert re.search(rb"/MediaBox\s*\[\s*0 0 84[12](\.\d+)? 59[45](\.\d+)?\s*\]", data)
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(pdf, ARTIFACTS / "letters-letter.pdf")
