"""Browsing places, agencies, branches and members: scope, 404s, masking, fragments."""

from __future__ import annotations

from sqlalchemy import select

from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Member


def test_out_of_scope_object_urls_are_404(login, world):
    district = login("district_org")
    assert district.get(f"/areas/{world.community.id}").status_code == 200
    assert district.get(f"/areas/{world.other_community.id}").status_code == 404
    assert district.get(f"/agencies/{world.other_agency.id}").status_code == 404
    assert district.get(f"/branches/{world.other_branch.id}").status_code == 404
    assert district.get(f"/members/{world.members['other_member'].id}").status_code == 404
    secretary = login("branch_secretary")
    assert secretary.get(f"/branches/{world.branch.id}").status_code == 200
    assert secretary.get(f"/branches/{world.branch2.id}").status_code == 404
    assert secretary.get(f"/areas/{world.community.id}").status_code == 404
    member = login("13800000001")
    assert member.get(f"/members/{world.members['member'].id}").status_code == 200
    assert member.get(f"/members/{world.members['member2'].id}").status_code == 404
    # A missing id looks exactly like an id out of scope.
    assert member.get("/members/99999").status_code == 404


def test_phone_numbers_are_masked_except_for_the_branch_secretary(login, world):
    org_page = login("district_org").get(f"/branches/{world.branch.id}").get_data(as_text=True)
    assert "138****0001" in org_page and "13800000001" not in org_page
    member_page = login("district_org").get(f"/members/{world.members['member'].id}").get_data(as_text=True)
    assert "13800000001" not in member_page
    secretary_page = login("branch_secretary").get(f"/branches/{world.branch.id}").get_data(as_text=True)
    assert "<td>13800000001</td>" in secretary_page


def test_roster_search_returns_a_fragment_for_htmx(login, world):
    b = login("branch_secretary")
    fragment = b.get(f"/branches/{world.branch.id}?q=张", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in html and 'id="roster"' in html
    assert "张明" in html
    empty = b.get(f"/branches/{world.branch.id}?q=nobody", headers={"HX-Request": "true"})
    assert "张明" not in empty.get_data(as_text=True)
    assert fragment.headers["Vary"].count("HX-Request") == 1


def test_area_page_lists_children_and_agencies(login, world):
    html = login("district_org").get(f"/areas/{world.district.id}").get_data(as_text=True)
    assert "华山街道" in html and "五华区民政局" in html
    secretary_html = login("community_secretary").get(f"/areas/{world.community.id}").get_data(as_text=True)
    assert "翠湖社区" in secretary_html and "五华区民政局" not in secretary_html


def test_deactivate_member_keeps_the_row_and_disables_the_account(login, world):
    member = world.members["member"]
    b = login("branch_secretary")
    b.get(f"/members/{member.id}")
    assert b.post(f"/members/{member.id}/deactivate").status_code == 303
    db.session.expire_all()
    row = db.session.get(Member, member.id)
    assert row is not None and not row.active and not row.user.active
    assert (
        db.session.scalar(
            select(AuditEntry.action).where(AuditEntry.object_id == member.id, AuditEntry.object_type == "Member")
        )
        == "member.deactivated"
    )
    assert login("other_branch_secretary").post(f"/members/{member.id}/deactivate").status_code == 404


def test_post_without_csrf_changes_nothing(login, world):
    member = world.members["member"]
    b = login("branch_secretary")
    assert b.post(f"/members/{member.id}/deactivate", csrf=False).status_code == 400
    db.session.expire_all()
    assert db.session.get(Member, member.id).active


def test_home_pages_show_each_role_its_work(login, world):
    expectations = {
        "city_org": "昆明市",
        "district_org": "五华区",
        "subdistrict_officer": "华山街道",
        "community_secretary": "翠湖社区",
        "branch_secretary": "机关党支部",
        "department_officer": "五华区住房和城乡建设局",
        "13800000001": "五华区民政局 机关党支部",
    }
    for username, text in expectations.items():
        response = login(username).get("/")
        assert response.status_code == 200 and text in response.get_data(as_text=True), username


def test_child_counts_count_communities_under_each_child(world):
    from kmvolunteer.core.text import format_hours
    from kmvolunteer.org.services import child_counts

    assert child_counts(world.city) == {world.district.id: 2, world.other_district.id: 1}
    assert child_counts(world.district) == {world.subdistrict.id: 2}
    assert child_counts(world.community) == {}
    assert [format_hours(n) for n in (0, 1, 3, 4, None)] == ["0", "0.5", "1.5", "2", "0"]
