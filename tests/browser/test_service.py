"""Service records in a browser: a member logs on a phone, the secretary approves in place, the member
sees it approved — with JavaScript and without; the queue on a phone; the certificate printed to A4."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
from datetime import timedelta
from decimal import Decimal

from playwright.sync_api import Page, expect
from sqlalchemy.exc import OperationalError

from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.service import services
from kmvolunteer.service.models import ServiceRecord
from kmvolunteer.service.services import EntryData
from tests.browser.conftest import (
    ARTIFACTS,
    DESKTOP,
    PHONE,
    js_enabled,
    log_in,
    screenshot,
)
from tests.conftest import PASSWORD
from tests.factories import make_year_rule, service_report_in


def test_member_logs_secretary_approves_member_sees_it(page: Page, new_page, world, request):
    variant = request.node.callspec.params["page"]
    javascript = js_enabled(page)
    service_report_in(world.members["member"], world.community)
    make_year_rule(world.city, local_today().year, min_half_hours=40, min_activities=4)
    db.session.commit()

    log_in(page, "13800000001", PASSWORD)
    page.goto("/service/my")
    page.click("#log-service")
    expect(page).to_have_url(re.compile(r"/service/new"))
    expect(page.locator("#service_date")).to_have_value(local_today().isoformat())
    expect(page.locator("#community_id")).to_have_value(str(world.community.id))
    # The form fits a 360 px phone: nothing wider than the screen, big touch targets.
    if javascript:
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = page.locator("#entry-submit").bounding_box()
    assert box["height"] >= 44 and box["width"] >= 300
    page.fill("#hours", "2")
    page.fill("#content", "反诈宣传摊位值守")
    screenshot(page, f"service-log-phone-{variant}")
    page.click("#entry-submit")
    expect(page).to_have_url(re.compile(r"/service/my"))
    expect(page.locator("#entries-submitted")).to_contain_text("反诈宣传摊位值守")
    screenshot(page, f"service-member-pending-{variant}")

    secretary = new_page(javascript=javascript, viewport=DESKTOP)
    log_in(secretary, "community_secretary", PASSWORD)
    secretary.goto("/service/queue")
    expect(secretary.locator("#pending-badge")).to_have_text("1")
    expect(secretary.locator("#queue-summary")).to_contain_text("共1条记录")
    row = secretary.locator("tr.queue-row", has_text="张明")
    expect(row).to_contain_text("反诈宣传摊位值守")
    row.locator(".row-approve").click()
    if javascript:
        # Swapped in place: same page, the row shows approved, the badge refreshed itself.
        expect(secretary.locator("tr.queue-row .tag--approved")).to_be_visible()
        expect(secretary.locator(".row-message--ok")).to_have_text("已审核通过。")
        expect(secretary.locator("#pending-badge")).to_have_text("")
        expect(secretary.locator("#queue-summary")).to_contain_text("共0条记录")  # the count follows too
        expect(secretary).to_have_url(re.compile(r"/service/queue$"))
    else:
        expect(secretary.locator(".notice--success")).to_contain_text("张明")
        expect(secretary.locator("#queue")).not_to_contain_text("反诈宣传摊位值守")
    screenshot(secretary, f"service-queue-after-approve-{variant}")

    page.goto("/service/my")
    expect(page.locator("#entries-approved")).to_contain_text("反诈宣传摊位值守")
    expect(page.locator(".progress .figure").first).to_have_text("2")
    expect(page.locator(".progress-bar__fill").first).to_have_attribute("width", "10")
    screenshot(page, f"service-member-approved-{variant}")


def test_secretary_returns_one_and_bulk_approves_the_rest_on_a_phone(page: Page, new_page, world, request):
    variant = request.node.callspec.params["page"]
    service_report_in(world.members["member"], world.community)
    db.session.commit()
    today = local_today()
    records = []
    for days in range(1, 6):
        records.append(
            services.log_entry(
                world.members["member"],
                world.users["member"],
                EntryData(
                    service_date=today - timedelta(days=days),
                    content=f"入户走访第{days}次",
                    hours=Decimal("1.5"),
                    community_id=world.community.id,
                ),
            )
        )
    db.session.commit()
    # A picture of the queue on a phone, taken on its own page: a full-page screenshot leaves a style
    # attribute behind that the next htmx swap would copy (and the CSP would then refuse).
    look = new_page(javascript=js_enabled(page))
    log_in(look, "community_secretary", PASSWORD)
    look.goto("/service/queue")
    screenshot(look, f"service-queue-phone-{variant}")
    log_in(page, "community_secretary", PASSWORD)
    page.goto("/service/queue")
    first = page.locator(f"#record-{records[0].id}")
    first.locator(".row-reason").fill("请补充服务地点")
    first.locator(".row-return").click()
    if js_enabled(page):
        expect(page.locator(f"#record-{records[0].id} .tag--returned")).to_be_visible()
    else:
        expect(page.locator(".notice--success")).to_be_visible()
    for record in records[1:]:
        page.check(f"#tick-{record.id}")
    page.click("#bulk-approve")
    expect(page.locator(".flashes")).to_contain_text("4")
    screenshot(page, f"service-queue-bulk-done-{variant}")
    db.session.expire_all()
    ids = [r.id for r in records]
    assert [db.session.get(ServiceRecord, i).status for i in ids] == ["returned"] + ["approved"] * 4


def test_certificate_prints_on_a4_and_verifies(new_page, world, client):
    service_report_in(world.members["member"], world.community)
    db.session.commit()
    today = local_today()
    for days, text in enumerate(
        [
            "反诈宣传进社区，发放宣传资料",
            "垃圾分类宣传引导",
            "走访慰问独居老人",
            "夜间平安巡逻",
            "协助社区义诊，维持秩序",
        ],
        start=1,
    ):
        record = services.log_entry(
            world.members["member"],
            world.users["member"],
            EntryData(
                service_date=today - timedelta(days=days),
                content=text,
                hours=Decimal(days) / 2 + 1,
                community_id=world.community.id,
                place="翠湖社区党群服务中心",
            ),
        )
        services.approve(record, world.users["community_secretary"])
    db.session.commit()
    page = new_page(javascript=True, viewport=DESKTOP)
    log_in(page, "13800000001", PASSWORD)
    page.goto(f"/service/certificate?year={today.year}")
    page.click("#issue-certificate")
    expect(page).to_have_url(re.compile(r"/service/certificates/KMV-"))
    expect(page.locator(".certificate__title")).to_contain_text("平台服务记录证明")
    serial = page.url.rsplit("/", 1)[1]
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = ARTIFACTS / "service-certificate.pdf"
    page.emulate_media(media="print")
    page.pdf(path=str(pdf), format="A4", print_background=True)
    assert pdf.stat().st_size > 10_000
    if shutil.which("pdftoppm"):
        subprocess.run(
            ["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", str(pdf), str(ARTIFACTS / "service-certificate")],
            check=True,
        )
        assert list(ARTIFACTS.glob("service-certificate*.png"))
    # Anyone can check it, without logging in, and sees only the masked name and totals.
    visitor = new_page(javascript=False)
    visitor.goto(f"/verify/{serial}")
    expect(visitor.locator("#verify-result")).to_contain_text(serial)
    expect(visitor.locator("main")).to_contain_text("张*")
    expect(visitor.locator("main")).not_to_contain_text("张明")
    screenshot(visitor, "service-verify-phone")


def test_an_entry_form_sent_again_after_a_lost_answer_saves_once(page: Page, world):
    service_report_in(world.members["member"], world.community)
    db.session.commit()
    log_in(page, "13800000001", PASSWORD)
    page.goto("/service/new")
    page.fill("#hours", "2")
    page.fill("#content", "答复丢失后重发")
    lost = []

    def lose_the_first_answer(route) -> None:
        if route.request.method == "POST" and not lost:
            lost.append(route.fetch(max_redirects=0).status)  # the server saves the entry...
            route.fulfill(status=204)  # ...but its answer never arrives: the form stays as typed
        else:
            route.continue_()

    page.route("**/service/new", lose_the_first_answer)
    page.click("#entry-submit")
    for _ in range(50):
        if lost:
            break
        page.wait_for_timeout(100)
    assert lost == [303]
    expect(page.locator("#content")).to_have_value("答复丢失后重发")
    page.click("#entry-submit")  # the member sends it again
    expect(page).to_have_url(re.compile(r"/service/my$"))
    expect(page.locator(".flashes")).to_contain_text("第一次提交时已保存")
    db.session.expire_all()
    assert db.session.query(ServiceRecord).filter_by(content="答复丢失后重发").count() == 1


def test_a_busy_database_keeps_the_form_for_a_retry(page: Page, world, monkeypatch):
    service_report_in(world.members["member"], world.community)
    db.session.commit()
    log_in(page, "13800000001", PASSWORD)
    page.goto("/service/new")
    page.fill("#hours", "2")
    page.fill("#content", "数据库繁忙时提交")

    def locked(*args, **kwargs):
        raise OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(services, "log_entry", locked)
    page.click("#entry-submit")
    if js_enabled(page):
        # The message appears above the form; the form keeps what was typed.
        expect(page.locator("#alerts")).to_contain_text("尚未保存")
        expect(page).to_have_url(re.compile(r"/service/new$"))
    else:
        expect(page.locator("h1")).to_have_text("系统繁忙")
        expect(page.locator("main")).to_contain_text("返回")
        page.go_back()
    expect(page.locator("#content")).to_have_value("数据库繁忙时提交")
    expect(page.locator("#hours")).to_have_value("2")
    monkeypatch.undo()
    page.click("#entry-submit")
    expect(page).to_have_url(re.compile(r"/service/my$"))
    assert db.session.query(ServiceRecord).filter_by(content="数据库繁忙时提交").count() == 1
