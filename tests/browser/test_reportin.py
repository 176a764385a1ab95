"""双报到 in a browser, with and without JavaScript, at phone size (plus the A4 receipt)."""

from __future__ import annotations

import re
import subprocess

from playwright.sync_api import Page, expect

from kmvolunteer.extensions import db
from kmvolunteer.reportin import services
from tests.browser.conftest import ARTIFACTS, DESKTOP, js_enabled, log_in, screenshot
from tests.conftest import PASSWORD
from tests.factories import make_need, make_report_in


def _choose(page: Page, name: str, label: str) -> None:
    """Pick an option; without JavaScript press "Next" to load the next select's options."""
    select = page.locator(f"select[name={name}]")
    expect(select.locator("option", has_text=label)).to_have_count(1)
    select.select_option(label=label)
    if not js_enabled(page):
        page.locator("button[name=step]").click()
        expect(page.locator(f"select[name={name}] option:checked")).to_have_text(label)


def test_member_reports_in_secretary_confirms_member_sees_it(page: Page, new_page, world, request):
    variant = request.node.callspec.params["page"]
    services.ensure_default_categories()
    db.session.commit()
    log_in(page, "13800000001", PASSWORD)
    page.goto("/report-in")
    page.locator("#report-in-link").click()
    _choose(page, "district", "五华区")
    _choose(page, "subdistrict", "华山街道")
    page.locator("select[name=community]").select_option(label="翠湖社区")
    page.fill("input[name=skills]", "法律咨询")
    page.locator("label", has_text="关爱帮扶").click()
    screenshot(page, f"reportin-new-{variant}")
    page.locator("#send-report-in").click()
    expect(page).to_have_url(re.compile(r"/report-in$"))
    expect(page.locator("#my-report-in")).to_contain_text("翠湖社区")
    expect(page.locator("#my-report-in .tag--pending")).to_be_visible()

    secretary = new_page(javascript=js_enabled(page))
    log_in(secretary, "community_secretary", PASSWORD)
    badge = secretary.locator(".site-nav .badge")
    expect(badge).to_have_text("1")
    secretary.locator(".site-nav a[href*='/communities/'][href$='/queue']").click()
    expect(secretary.locator("#queue")).to_contain_text("张明")
    screenshot(secretary, f"reportin-queue-{variant}")
    secretary.locator(".confirm-one").first.click()
    if js_enabled(page):
        expect(secretary.locator("#queue .tag--confirmed")).to_be_visible()  # the row swapped in place
    else:
        expect(secretary.locator(".notice--success")).to_contain_text("张明")
    expect(badge).to_have_text("0")  # htmx: refreshed by the reportins-changed event; no-JS: a new page

    page.goto("/")
    expect(page.locator("#confirmed-notice")).to_contain_text("翠湖社区")
    screenshot(page, f"reportin-member-confirmed-{variant}")
    page.goto("/report-in")
    page.locator("#receipt-link").click()
    expect(page.locator(".receipt")).to_contain_text("社区党组织（盖章）")


def test_member_finds_the_community_by_name(page: Page, world):
    log_in(page, "13800000001", PASSWORD)
    page.goto("/report-in/new")
    page.fill("#community-q", "文化巷")
    if not js_enabled(page):
        page.locator(".community-search button[type=submit]").click()
    page.locator("#community-results a", has_text="文化巷社区").click()
    expect(page.locator("select[name=community] option:checked")).to_have_text("文化巷社区")
    page.locator("#send-report-in").click()
    expect(page.locator("#my-report-in")).to_contain_text("文化巷社区")


def test_claim_and_withdraw(page: Page, world, request):
    variant = request.node.callspec.params["page"]
    make_report_in(world.members["member"], world.community, "confirmed")
    make_need(world.community, title="独居老人探访", headcount=2, place="翠湖社区")
    db.session.commit()
    log_in(page, "13800000001", PASSWORD)
    page.goto(f"/communities/{world.community.id}/lists")
    card = page.locator(".need-card", has_text="独居老人探访")
    expect(card.locator(".places-left")).to_have_attribute("data-left", "2")
    url = page.url
    card.locator(".claim-button").click()
    card = page.locator(".need-card", has_text="独居老人探访")
    expect(card.locator(".places-left")).to_have_attribute("data-left", "1")
    expect(card.locator(".withdraw-claim")).to_be_visible()
    assert page.url == url  # with htmx the card swapped in place; without, the form redirected back here
    if not js_enabled(page):
        expect(page.locator(".notice--success")).to_contain_text("独居老人探访")
    screenshot(page, f"reportin-claimed-{variant}")
    card.locator(".withdraw-claim").click()
    card = page.locator(".need-card", has_text="独居老人探访")
    expect(card.locator(".places-left")).to_have_attribute("data-left", "2")
    expect(card.locator(".claim-button")).to_be_visible()


def test_receipt_prints_on_one_a4_page(new_page, world):
    ri = make_report_in(world.members["member"], world.community, "confirmed", skills="法律咨询、急救")
    ri.categories = services.ensure_default_categories()[:2]
    db.session.commit()
    page = new_page(javascript=True, viewport=DESKTOP)
    log_in(page, "13800000001", PASSWORD)
    page.goto(f"/report-ins/{ri.id}/receipt")
    expect(page.locator(".receipt__serial")).to_contain_text(ri.serial)
    screenshot(page, "reportin-receipt-screen")
    page.emulate_media(media="print")
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = ARTIFACTS / "reportin-receipt.pdf"
    page.pdf(path=str(pdf), format="A4", prefer_css_page_size=True)
    pages = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Pages:\s+1\b", pages), pages
    assert "(A4)" in pages, pages
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-singlefile", str(pdf), str(ARTIFACTS / "reportin-receipt")], check=True
    )
