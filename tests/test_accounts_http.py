"""An organization department creates accounts, grants and revokes roles, disables users."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from kmvolunteer.auth.models import RoleGrant, User
from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.extensions import db
from tests.conftest import Browser


def _audits(action: str) -> int:
    return db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == action))


def test_only_org_departments_see_accounts(login, world):
    for name in ("branch_secretary", "community_secretary", "subdistrict_officer", "department_officer"):
        assert login(name).get("/accounts/").status_code == 404
    page = login("district_org").get("/accounts/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "branch_secretary" in html and "other_branch_secretary" not in html


def test_accounts_search_fragment_and_full_page(login, world):
    b = login("city_org")
    full = b.get("/accounts/?q=secretary")
    fragment = b.get("/accounts/?q=secretary", headers={"HX-Request": "true"})
    boosted = b.get("/accounts/?q=secretary", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in full.get_data(as_text=True)
    assert "<html" not in fragment.get_data(as_text=True) and 'id="accounts"' in fragment.get_data(as_text=True)
    assert "<html" in boosted.get_data(as_text=True)
    assert "community_secretary" in fragment.get_data(as_text=True)
    assert "city_org" not in fragment.get_data(as_text=True)


def test_create_account_shows_a_one_time_password_that_works(app, login, world):
    b = login("district_org")
    b.get("/accounts/new")
    response = b.post("/accounts/new", {"username": "NewSec", "display_name": "周芳", "home_area": world.district.id})
    assert response.status_code == 200
    password = re.search(
        r"<dt>[^<]*</dt><dd><code>[^<]*</code></dd></div>\s*<div><dt>[^<]*</dt><dd><code>([^<]+)</code>",
        response.get_data(as_text=True),
    ).group(1)
    user = db.session.scalar(select(User).where(User.username == "newsec"))
    assert user.must_change_password and user.home_area_id == world.district.id
    assert _audits("user.created") == 1
    fresh = Browser(app.test_client())
    fresh.get("/login")
    assert fresh.post("/login", {"username": "newsec", "password": password}).headers["Location"] == "/account/password"


def test_create_account_refuses_taken_username_and_foreign_area(login, world):
    b = login("district_org")
    b.get("/accounts/new")
    taken = b.post("/accounts/new", {"username": "city_org", "display_name": "x", "home_area": world.district.id})
    assert taken.status_code == 422
    foreign = b.post("/accounts/new", {"username": "x1", "display_name": "x", "home_area": world.other_district.id})
    assert foreign.status_code == 422  # not among the choices
    assert db.session.scalar(select(func.count(User.id)).where(User.username == "x1")) == 0


def test_grant_and_revoke_a_role(login, world):
    target = world.users["member2"]
    b = login("district_org")
    page = b.get(f"/accounts/{target.id}?role=community_secretary", headers={"HX-Request": "true"})
    assert page.status_code == 200 and "<html" not in page.get_data(as_text=True)
    assert f"area:{world.community2.id}" in page.get_data(as_text=True)
    assert f"area:{world.other_community.id}" not in page.get_data(as_text=True)
    response = b.post(
        f"/accounts/{target.id}/grants", {"role": "community_secretary", "scope": f"area:{world.community2.id}"}
    )
    assert response.status_code == 303
    grant = db.session.scalar(select(RoleGrant).where(RoleGrant.user_id == target.id))
    assert grant.area_id == world.community2.id
    again = b.post(
        f"/accounts/{target.id}/grants", {"role": "community_secretary", "scope": f"area:{world.community2.id}"}
    )
    assert again.status_code == 422
    revoke = b.post(f"/accounts/{target.id}/grants/{grant.id}/revoke")
    assert revoke.status_code == 303
    assert db.session.scalar(select(func.count(RoleGrant.id)).where(RoleGrant.user_id == target.id)) == 0
    assert _audits("grant.added") == 1 and _audits("grant.revoked") == 1


def test_grant_outside_scope_is_refused(login, world):
    target = world.users["member2"]
    b = login("district_org")
    b.get(f"/accounts/{target.id}")
    response = b.post(
        f"/accounts/{target.id}/grants", {"role": "community_secretary", "scope": f"area:{world.other_community.id}"}
    )
    assert response.status_code in (404, 422)
    # A role bound to the wrong level of place is refused with a message.
    wrong_level = b.post(
        f"/accounts/{target.id}/grants", {"role": "community_secretary", "scope": f"area:{world.subdistrict.id}"}
    )
    assert wrong_level.status_code == 422
    assert db.session.scalar(select(func.count(RoleGrant.id)).where(RoleGrant.user_id == target.id)) == 0


def test_other_district_users_are_404(login, world):
    b = login("district_org")
    assert b.get(f"/accounts/{world.users['other_member'].id}").status_code == 404
    b.get("/accounts/")
    assert b.post(f"/accounts/{world.users['other_member'].id}/active", {"active": "0"}).status_code == 404


def test_disable_and_enable(app, login, world):
    target = world.users["branch_secretary"]
    victim = login("branch_secretary")
    b = login("district_org")
    b.get(f"/accounts/{target.id}")
    assert b.post(f"/accounts/{target.id}/active", {"active": "0"}).status_code == 303
    assert victim.get("/").status_code == 302  # their session ended
    fresh = Browser(app.test_client())
    fresh.get("/login")
    assert fresh.post("/login", {"username": "branch_secretary", "password": "secret-2026"}).status_code == 422
    assert b.post(f"/accounts/{target.id}/active", {"active": "1"}).status_code == 303
    assert _audits("user.deactivated") == 1 and _audits("user.activated") == 1


def test_cannot_disable_yourself(login, world):
    me = world.users["district_org"]
    b = login("district_org")
    b.get(f"/accounts/{me.id}")
    b.post(f"/accounts/{me.id}/active", {"active": "0"})
    db.session.expire_all()
    assert db.session.get(User, me.id).active


def test_reset_password(login, world):
    target = world.users["member"]
    b = login("district_org")
    b.get(f"/accounts/{target.id}")
    response = b.post(f"/accounts/{target.id}/reset-password")
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(User, target.id).must_change_password
    assert _audits("user.password_reset") == 1


def test_audit_log_reads_as_plain_language(login, world):
    b = login("district_org")
    b.get("/accounts/new")
    b.post("/accounts/new", {"username": "audit1", "display_name": "周芳", "home_area": world.district.id})
    html = b.get("/audit/").get_data(as_text=True)
    assert "账号已创建" in html
    assert "user.created" not in html.split('<section class="card" id="audit-table">')[1]
    filtered = b.get("/audit/?action=user.created", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "audit1" in filtered and "登录" not in filtered.split("<tbody>")[1]


def test_grant_form_lists_a_few_hundred_branches_and_finds_the_rest_by_name(login, world):
    from kmvolunteer.org.models import Branch

    many = [Branch(name=f"第{i:03d}党支部", agency=world.agency) for i in range(205)]
    db.session.add_all(many)
    db.session.commit()
    target = world.users["member2"]
    b = login("district_org")
    listed = b.get(f"/accounts/{target.id}?role=branch_secretary").get_data(as_text=True)
    assert listed.count('value="branch:') == 200 and "只列出前 200 个支部" in listed
    found = b.get(f"/accounts/{target.id}?role=branch_secretary&q=第204", headers={"HX-Request": "true"})
    html = found.get_data(as_text=True)
    assert html.count('value="branch:') == 1 and f"branch:{many[204].id}" in html and "只列出" not in html
    both = b.get(f"/accounts/{target.id}?role=branch_secretary&q={world.agency.name} 第204").get_data(as_text=True)
    assert both.count('value="branch:') == 1  # words of the agency's and the branch's name together
    none = b.get(f"/accounts/{target.id}?role=branch_secretary&q=没有这个支部").get_data(as_text=True)
    assert "没有支部名称或单位名称含“没有这个支部”的支部" in none
    # A branch beyond the first 200 is granted from the list its search found: the search goes with the
    # choice, which is checked against that list.
    assert 'type="hidden" name="q" value="第204"' in html
    chosen = {"role": "branch_secretary", "scope": f"branch:{many[204].id}", "q": "第204"}
    response = b.post(f"/accounts/{target.id}/grants", chosen)
    assert response.status_code == 303
    assert db.session.scalar(select(RoleGrant.branch_id).where(RoleGrant.user_id == target.id)) == many[204].id
    # Refused (granted already): the page comes back with the search and its list, not the first 200.
    refused = b.post(f"/accounts/{target.id}/grants", chosen)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'value="第204"' in html and html.count('value="branch:') == 1
    # Without the search, a branch beyond the first 200 is not among the choices: refused, nothing granted.
    beyond = b.post(f"/accounts/{target.id}/grants", {"role": "branch_secretary", "scope": f"branch:{many[203].id}"})
    assert beyond.status_code == 422
    assert db.session.scalar(select(func.count(RoleGrant.id)).where(RoleGrant.user_id == target.id)) == 1


def test_the_account_page_shows_the_whole_login_the_list_masks(login, world):
    member = world.users["member"]  # logs in with the phone number 13800000001
    b = login("district_org")
    listed = b.get("/accounts/?q=张明").get_data(as_text=True)
    assert "138****0001" in listed and "13800000001" not in listed
    page = b.get(f"/accounts/{member.id}").get_data(as_text=True)
    assert '<code id="account-username">13800000001</code>' in page
    assert login("other_org").get(f"/accounts/{member.id}").status_code == 404
