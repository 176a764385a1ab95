"""积分与星级 in Chromium: a member on a 360 px phone finds their points and stars from the home page; the city's
organization department changes the year's scheme, and the member's stars change with it — JS on and off."""

from __future__ import annotations

from playwright.sync_api import expect

from kmvolunteer.extensions import db
from tests.browser.conftest import DESKTOP, js_enabled, log_in, screenshot
from tests.conftest import PASSWORD
from tests.test_points import SCHEME, YEAR, _member_with_everything


def test_a_member_sees_points_and_stars_and_the_department_changes_the_scheme(page, new_page, world):
    javascript = js_enabled(page)
    member = _member_with_everything(world)
    db.session.commit()
    log_in(page, "13800000001", PASSWORD)
    page.goto("/")
    home = page.locator("#home-points")
    if javascript:  # the home page fetches this year's figures once shown
        assert home.locator("[data-points]").inner_text() == "115"
        assert home.locator("[data-stars]").get_attribute("data-stars") == "1"
    home.get_by_role("link", name="我的积分").click()
    page.wait_for_url(f"**/points/members/{member.id}*")
    total = page.locator("#points-total")
    assert total.locator("[data-points]").inner_text() == "115"
    assert total.locator("[data-stars]").get_attribute("data-stars") == "1"
    assert "按默认方案计分" in total.inner_text()
    assert page.locator("#points-records tbody tr").count() == 2
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # nothing wider than the phone
    screenshot(page, f"points-member-{'js' if javascript else 'nojs'}")

    department = new_page(javascript=javascript, viewport=DESKTOP)
    log_in(department, "city_org", PASSWORD)
    department.goto(f"/points/scheme/{YEAR}")
    department.fill("#star_2", "1")  # not more than one star's 10: refused, nothing saved
    for name, value in SCHEME.items():
        if name != "star_2":
            department.fill(f"#{name}", str(value))
    department.click("#scheme-form button[type=submit]")
    expect(department.locator(".error-summary")).to_contain_text("每一星级所需积分须高于上一星级")
    department.fill("#star_2", str(SCHEME["star_2"]))
    department.click("#scheme-form button[type=submit]")
    expect(department.locator("body")).to_contain_text("积分方案已保存")

    page.reload()
    assert total.locator("[data-points]").inner_text() == "81.5"
    assert total.locator("[data-stars]").get_attribute("data-stars") == "3"
    assert "按默认方案计分" not in total.inner_text()
