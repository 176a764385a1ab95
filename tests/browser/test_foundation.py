"""Log in, see the role's home page, switch language, log out — with and without JavaScript."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import js_enabled, log_in, screenshot
from tests.conftest import PASSWORD


def test_login_home_language_logout(page: Page, world, request):
    variant = request.node.callspec.params["page"]
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.locator("h1")).to_have_text("登录")
    log_in(page, "district_org", PASSWORD)
    expect(page.locator(".panel h2")).to_contain_text("五华区")
    expect(page.locator(".site-nav")).to_contain_text("账号")
    screenshot(page, f"home-district-org-{variant}")

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".site-nav")).to_contain_text("Accounts")
    page.get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")

    page.locator("details.menu summary").click()
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(re.compile(r"/login"))


def test_wrong_password_shows_the_error_summary(page: Page, world):
    page.goto("/login")
    page.fill("input[name=username]", "district_org")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    expect(page.locator(".error-summary")).to_contain_text("用户名或密码错误")
    expect(page.locator("input[name=username]")).to_have_value("district_org")


def test_each_role_sees_its_home(new_page, world):
    homes = {
        "branch_secretary": "机关党支部",
        "community_secretary": "翠湖社区",
        "subdistrict_officer": "华山街道",
        "department_officer": "五华区住房和城乡建设局",
        "13800000001": "五华区民政局",
    }
    for username, text in homes.items():
        page = new_page()
        log_in(page, username, PASSWORD)
        expect(page.locator("main")).to_contain_text(text)
        screenshot(page, f"home-{username}")


def test_branch_secretary_searches_the_roster(page: Page, world):
    log_in(page, "branch_secretary", PASSWORD)
    page.goto(f"/branches/{world.branch.id}")
    expect(page.locator("#roster")).to_contain_text("张明")
    page.fill("input[name=q]", "不存在")
    page.keyboard.press("Enter")
    expect(page.locator("#roster")).not_to_contain_text("张明")
    expect(page).to_have_url(re.compile(r"q="))


def test_district_finds_a_branch_to_grant_by_typing_its_name(page: Page, world):
    log_in(page, "district_org", PASSWORD)
    # From the accounts list (its own search box must not follow into the account page).
    page.goto("/accounts/")
    page.click(f"a[href='/accounts/{world.users['member2'].id}']")
    expect(page.locator("input[type=search][name=q]")).to_have_count(1)  # only the branch search
    scope = page.locator("select[name=scope]")
    expect(scope.locator("option")).to_have_count(2)  # 机关党支部 and 离退休干部党支部 of the district's agency
    expect(scope).to_have_value(f"branch:{world.branch2.id}")  # 李红's own branch comes chosen
    if js_enabled(page):  # the list follows the typing, and the box keeps the focus through the swaps
        page.locator("#grant-q").press_sequentially("离退休", delay=450)
        expect(scope.locator("option")).to_have_count(1)
        expect(page.locator("#grant-q")).to_have_value("离退休")
    else:
        page.fill("#grant-q", "离退休")
        page.keyboard.press("Enter")
        expect(scope.locator("option")).to_have_count(1)
    expect(scope).to_contain_text("离退休干部党支部")
    page.get_by_role("button", name=re.compile("分配")).click()
    expect(page.locator("body")).to_contain_text("角色已分配")
    # The page comes back whole: an empty search box over the whole list, never a stale search over it.
    expect(page.locator("#grant-q")).to_have_value("")
    expect(scope.locator("option")).to_have_count(2)


def test_the_phone_menu_shows_the_current_item_and_hints_at_more(page: Page, world):
    """The menu of a city department scrolls sideways on a phone: the current item is brought into
    view, and the edge fades while more items follow (with JavaScript; without, it still scrolls)."""
    log_in(page, "city_org", PASSWORD)
    page.goto("/tallies/")
    current = page.locator(".site-nav [aria-current]")
    expect(current).to_have_text("统计")
    nav = page.locator(".site-nav")
    assert nav.evaluate("n => n.scrollWidth > n.clientWidth")  # more items than fit on a phone
    if js_enabled(page):
        box = current.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
        page.goto("/")
        expect(nav).to_have_class(re.compile(r"site-nav--more"))
        nav.evaluate("n => { n.scrollLeft = n.scrollWidth; }")
        expect(nav).not_to_have_class(re.compile(r"site-nav--more"))
