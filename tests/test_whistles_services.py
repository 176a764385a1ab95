"""吹哨报到 services: blowing, each transition and its refusal, extension, rating, closing, escalation
(by hand, by the pass, twice at once), scope, and the timeline."""

from __future__ import annotations

import contextlib
import io
import os
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from kmvolunteer.auth.models import Role, RoleGrant, User
from kmvolunteer.auth.policy import can, scoped
from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Department
from kmvolunteer.whistles import deadlines, photos, services
from kmvolunteer.whistles.models import Summons, SummonsProgress, Whistle, WhistlePhoto
from kmvolunteer.whistles.services import WhistleData
from tests.concurrency import run_together
from tests.conftest import PASSWORD
from tests.factories import make_user
from tests.images import jpeg, png, png_claiming, stored_files, upload


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the services' messages, written in English."""


@dataclass
class Town:
    """The test world's places and people, with departments at every tier and a category list."""

    w: object
    street: Department  # 华山街道城管中队: answers the communities of 华山街道
    market: Department  # 华山街道市场监管所
    far: Department  # a department of 关上街道, in the other district
    city_water: Department  # answers the districts
    officer: User  # of ``street``
    market_officer: User
    category_id: int

    def user(self, name: str) -> User:
        return self.w.users[name]


@pytest.fixture
def town(world) -> Town:
    w = world
    other_sub = w.other_community.parent
    street = Department(name="华山街道城管中队", area=w.subdistrict)
    market = Department(name="华山街道市场监管所", area=w.subdistrict)
    far = Department(name="关上街道城管中队", area=other_sub)
    city_water = Department(name="昆明市水务局", area=w.city)
    db.session.add_all([street, market, far, city_water])
    db.session.flush()
    officer = make_user(
        "street_officer", PASSWORD, w.subdistrict, RoleGrant(role=Role.department_officer.value, department=street)
    )
    market_officer = make_user(
        "market_officer", PASSWORD, w.subdistrict, RoleGrant(role=Role.department_officer.value, department=market)
    )
    categories = services.ensure_default_categories()
    db.session.commit()
    return Town(w, street, market, far, city_water, officer, market_officer, categories[0].id)


def data(town: Town, **fields) -> WhistleData:
    values = {
        "title": "景虹街路面渗水",
        "problem": "路面长期渗水，居民出行不便",
        "address": "景虹街 12 号",
        "category_id": town.category_id,
    }
    return WhistleData(**{**values, **fields})


def blow(town: Town, *departments: Department, uploads=(), **fields) -> Whistle:
    departments = departments or (town.street,)
    return services.blow(
        town.w.community,
        town.user("community_secretary"),
        data(town, **fields),
        [d.id for d in departments],
        uploads,
    )


def handled(town: Town, whistle: Whistle | None = None) -> Summons:
    """A summons of ``town.street`` taken through sign, contact and handle."""
    whistle = whistle or blow(town)
    summons = next(s for s in whistle.summonses if s.department_id == town.street.id)
    services.sign(summons, town.officer)
    services.record_contact(summons, town.officer, "已电话联系社区")
    services.handle(summons, town.officer, "已修复路面")
    return summons


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def refused(call, *args, match: str | None = None, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError, match=match) as caught:
        call(*args, **kwargs)
    return caught.value


# ---------------------------------------------------------------- blowing


def test_a_community_blows_and_each_department_gets_a_summons_with_deadlines(town):
    before = utcnow()
    whistle = blow(town, town.street, town.market, urgency="urgent")
    assert whistle.status == "open" and whistle.area_id == town.w.community.id
    assert whistle.serial == f"CS{whistle.created_at.year}-{whistle.id:06d}"
    assert [s.department for s in whistle.summonses] == [town.street, town.market]
    for summons in whistle.summonses:
        assert summons.status == "summoned"
        assert summons.contact_due_at == summons.summoned_at + timedelta(hours=24)
        assert before < summons.sign_due_at <= summons.handle_due_at
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-3:] == ["whistle.blown", "summons.summoned", "summons.summoned"]


def test_each_tier_summons_the_tier_above(town):
    w = town.w
    sub = services.blow(w.subdistrict, w.users["subdistrict_officer"], data(town), [w.department.id])
    assert sub.summonses[0].department == w.department
    district = services.blow(w.district, w.users["district_org"], data(town), [town.city_water.id])
    assert district.summonses[0].department == town.city_water


@pytest.mark.parametrize(
    ("departments", "message"),
    [
        (lambda t: [], "at least one department"),
        (lambda t: [999999], "no such department"),
        (lambda t: ["abc"], "no such department"),
        (lambda t: [t.w.department.id], "not a department of 华山街道"),  # the district's: two tiers up
        (lambda t: [t.far.id], "not a department of 华山街道"),  # another subdistrict's
        (lambda t: [t.street.id, t.city_water.id], "not a department of 华山街道"),
    ],
)
def test_departments_must_be_known_and_of_the_tier_directly_above(town, departments, message):
    before = (count(Whistle), count(Summons))
    refused(
        services.blow,
        town.w.community,
        town.user("community_secretary"),
        data(town),
        departments(town),
        match=message,
    )
    assert (count(Whistle), count(Summons)) == before


def test_an_inactive_department_is_not_summoned(town):
    town.market.active = False
    refused(blow, town, town.market, match="no such department")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": "  "}, "title"),
        ({"problem": ""}, "problem"),
        ({"address": ""}, "address"),
        ({"title": "长" * 101}, "title"),
        ({"urgency": "whenever"}, "urgency"),
        ({"category_id": 999999}, "category_id"),
        ({"category_id": "x"}, "category_id"),
    ],
)
def test_bad_whistle_fields_are_refused(town, fields, field):
    assert refused(blow, town, **fields).field == field
    assert count(Whistle) == 0


@pytest.mark.parametrize("who", ["department_officer", "district_org", "other_secretary", "subdistrict_officer"])
def test_only_the_area_s_own_staff_blow_its_whistles(town, who):
    refused(services.blow, town.w.community, town.user(who), data(town), [town.street.id], match="Only the staff")


# ---------------------------------------------------------------- the department's steps


def test_sign_contact_progress_handle_rate_close(town):
    whistle = blow(town)
    summons = whistle.summonses[0]
    services.sign(summons, town.officer)
    assert summons.status == "signed" and summons.signed_by_id == town.officer.id and summons.signed_at
    services.record_contact(summons, town.officer, "已到现场查看")
    assert summons.status == "contacted" and summons.contact_note == "已到现场查看"
    progress = services.record_progress(summons, town.officer, "已联系施工队")
    assert db.session.get(SummonsProgress, progress.id).text == "已联系施工队"
    services.handle(summons, town.officer, "已修复路面并验收")
    assert summons.status == "handled" and summons.result == "已修复路面并验收"
    assert whistle.status == "handled" and whistle.handled_at  # nothing left to act on
    services.rate(summons, town.user("community_secretary"), "satisfied", "及时")
    assert (summons.status, summons.rating, summons.rating_comment) == ("rated", "satisfied", "及时")
    services.close(whistle, town.user("community_secretary"))
    assert whistle.status == "closed" and whistle.closed_at


def test_steps_out_of_order_are_refused(town):
    summons = blow(town).summonses[0]
    refused(services.record_contact, summons, town.officer, match="already summoned")
    refused(services.handle, summons, town.officer, "已处理", match="already summoned")
    services.sign(summons, town.officer)
    refused(services.sign, summons, town.officer, match="already signed for")
    services.record_contact(summons, town.officer)
    refused(services.handle, summons, town.officer, "  ", match="how the matter was handled")
    assert summons.status == "contacted"


@pytest.mark.parametrize("who", ["market_officer", "community_secretary", "department_officer", "district_org"])
def test_only_the_summoned_department_acts_on_its_summons(town, who):
    user = town.market_officer if who == "market_officer" else town.user(who)
    summons = blow(town).summonses[0]
    refused(services.sign, summons, user, match="not within your scope")
    refused(services.decline, summons, user, "不归我们管", match="not within your scope")
    refused(services.record_progress, summons, user, "已处理", match="Only an officer")
    refused(services.request_extension, summons, user, 2, "复杂", match="Only an officer")
    assert summons.status == "summoned" and count(SummonsProgress) == 0


def test_one_summons_handled_while_another_works_keeps_the_whistle_open(town):
    whistle = blow(town, town.street, town.market)
    handled(town, whistle)
    assert whistle.status == "open"


def test_a_decline_needs_a_reason_and_the_blower_reroutes(town):
    whistle = blow(town)
    summons = whistle.summonses[0]
    refused(services.decline, summons, town.officer, " ", match="not your department")
    services.decline(summons, town.officer, "属于市场监管职责")
    assert (summons.status, summons.reason) == ("declined", "属于市场监管职责")
    assert whistle.status == "open"
    refused(services.summon, whistle, town.user("community_secretary"), [town.street.id], match="already summoned")
    refused(services.summon, whistle, town.officer, [town.market.id], match="Only the staff")
    (rerouted,) = services.summon(whistle, town.user("community_secretary"), [town.market.id])
    assert rerouted.department == town.market and rerouted.status == "summoned"
    refused(services.decline, summons, town.officer, "再次", match="already declined")


def test_a_declined_summons_does_not_hold_the_whistle_open(town):
    whistle = blow(town, town.street, town.market)
    services.decline(whistle.summonses[1], town.market_officer, "不属于本所职责")
    handled(town, whistle)
    assert whistle.status == "handled"


def test_nothing_is_summoned_to_a_closed_whistle(town):
    summons = handled(town)
    whistle = summons.whistle
    services.close(whistle, town.user("community_secretary"))
    refused(services.summon, whistle, town.user("community_secretary"), [town.market.id], match="closed")
    refused(services.record_progress, summons, town.officer, "补充", match="handled")


# ---------------------------------------------------------------- extension


def test_an_extension_is_asked_once_and_approved_by_the_blower(town):
    summons = blow(town).summonses[0]
    services.sign(summons, town.officer)
    due = summons.handle_due_at
    assert refused(services.request_extension, summons, town.officer, 11, "复杂").field == "working_days"
    assert refused(services.request_extension, summons, town.officer, 2, "").field == "reason"
    extension = services.request_extension(summons, town.officer, 2, "需协调产权单位")
    db.session.refresh(summons)
    refused(services.request_extension, summons, town.officer, 1, "再延", match="only once")
    refused(services.approve_extension, extension, town.market_officer, match="not within your scope")
    services.approve_extension(extension, town.user("community_secretary"))
    assert extension.status == "approved"
    assert summons.handle_due_at == deadlines.add_working_days(due, 2)
    refused(services.refuse_extension, extension, town.user("community_secretary"), "晚了", match="already approved")


def test_a_refused_extension_keeps_the_deadline_and_cannot_be_asked_again(town):
    summons = blow(town).summonses[0]
    due = summons.handle_due_at
    extension = services.request_extension(summons, town.officer, 3, "工程量大")
    refused(services.refuse_extension, extension, town.user("community_secretary"), "", match="Say why")
    services.refuse_extension(extension, town.user("community_secretary"), "可先行处置")
    assert (extension.status, extension.reason, summons.handle_due_at) == ("refused", "可先行处置", due)
    db.session.refresh(summons)
    refused(services.request_extension, summons, town.officer, 1, "再申请", match="only once")


def test_nobody_decides_their_own_department_s_extension_or_rates_it(town):
    both = town.user("community_secretary")
    both.grants.append(RoleGrant(role=Role.department_officer.value, department=town.street))
    db.session.flush()
    summons = blow(town).summonses[0]
    extension = services.request_extension(summons, both, 2, "复杂")
    refused(services.approve_extension, extension, both, match="your own department")
    summons = handled(town)
    refused(services.rate, summons, both, "satisfied", match="your own department")
    assert summons.status == "handled"


def test_no_extension_for_a_handled_summons(town):
    summons = handled(town)
    refused(services.request_extension, summons, town.officer, 1, "复杂", match="handled")


# ---------------------------------------------------------------- rating, closing, reopening


def test_only_a_handled_summons_is_rated_and_only_once(town):
    secretary = town.user("community_secretary")
    summons = blow(town).summonses[0]
    refused(services.rate, summons, secretary, "satisfied", match="Only a handled summons")
    services.sign(summons, town.officer)
    services.record_contact(summons, town.officer)
    services.handle(summons, town.officer, "已处理")
    assert refused(services.rate, summons, secretary, "great").field == "rating"
    refused(services.rate, summons, town.user("subdistrict_officer"), "satisfied", match="not within your scope")
    services.rate(summons, secretary, "basic")
    assert summons.rating == "basic"
    refused(services.rate, summons, secretary, "unsatisfied", "还在渗水", match="Only a handled summons")


def test_unsatisfied_sends_the_summons_back_and_reopens_the_whistle(town):
    secretary = town.user("community_secretary")
    summons = handled(town)
    whistle = summons.whistle
    assert whistle.status == "handled"
    summons.handle_due_at = utcnow() - timedelta(days=1)  # it was handled late
    db.session.flush()
    refused(services.rate, summons, secretary, "unsatisfied", "  ", match="still wrong")
    services.rate(summons, secretary, "unsatisfied", "仍有渗水")
    db.session.refresh(summons)
    assert (summons.status, summons.rating, summons.unsatisfied_count) == ("contacted", "unsatisfied", 1)
    assert summons.handled_at is None and summons.handle_due_at > utcnow()  # a new deadline
    assert (whistle.status, whistle.reason) == ("open", "仍有渗水")
    services.handle(summons, town.officer, "重新铺设")
    assert whistle.status == "handled"


def test_close_only_a_handled_whistle_and_reopen_with_a_reason(town):
    secretary = town.user("community_secretary")
    whistle = blow(town)
    refused(services.close, whistle, secretary, match="already under way")
    summons = handled(town, whistle)
    refused(services.close, whistle, town.officer, match="not within your scope")
    services.rate(summons, secretary, "satisfied")
    services.close(whistle, secretary)
    refused(services.reopen, whistle, secretary, "", match="Say why")
    services.reopen(whistle, secretary, "问题复发")
    assert (whistle.status, whistle.closed_at) == ("open", None)
    db.session.refresh(summons)
    assert summons.status == "contacted" and summons.reason == "问题复发"


# ---------------------------------------------------------------- escalation


def test_a_whistle_is_blown_one_tier_up_by_hand_once(town):
    secretary = town.user("community_secretary")
    whistle = blow(town)
    refused(services.escalate, whistle, secretary, "", match="Say why")
    refused(services.escalate, whistle, town.officer, "拖延", match="not within your scope")
    higher = services.escalate(whistle, secretary, "多部门推诿")
    assert whistle.status == "escalated" and whistle.escalated_to is higher
    assert (higher.area, higher.escalated_from, higher.escalation_reason) == (town.w.subdistrict, whistle, "manual")
    assert higher.status == "open" and higher.summonses == [] and higher.title == whistle.title
    refused(services.escalate, whistle, secretary, "再次", match="already escalated")
    # The subdistrict routes it to the district's departments; the community still reads it.
    services.summon(higher, town.user("subdistrict_officer"), [town.w.department.id])
    assert can(secretary, "whistle.view", higher) and can(town.officer, "whistle.view", higher)
    assert not can(town.user("other_secretary"), "whistle.view", higher)


def test_a_district_s_whistle_has_no_tier_above(town):
    w = town.w
    whistle = services.blow(w.district, w.users["district_org"], data(town), [town.city_water.id])
    refused(services.escalate, whistle, w.users["district_org"], "拖延", match="no tier above")
    assert services.escalation_pass(utcnow() + timedelta(days=60)) == []


def test_the_pass_escalates_an_overdue_whistle_once(town):
    whistle = blow(town, town.street, town.market)
    assert services.escalation_pass() == []  # nothing is due yet
    later = whistle.summonses[0].sign_due_at + timedelta(minutes=1)
    services.sign(whistle.summonses[0], town.officer)
    (higher,) = services.escalation_pass(later)  # the market office has not signed
    assert higher.escalated_from is whistle and higher.escalation_reason == "overdue"
    assert "华山街道市场监管所" in whistle.reason
    assert services.escalation_pass(later) == []
    assert count(Whistle) == 2


def test_a_declined_or_handled_summons_is_not_overdue(town):
    whistle = blow(town, town.street, town.market)
    services.decline(whistle.summonses[1], town.market_officer, "不属于本所职责")
    handled(town, whistle)
    assert services.escalation_pass(utcnow() + timedelta(days=60)) == []


def test_rated_unsatisfied_twice_escalates(town):
    secretary = town.user("community_secretary")
    summons = handled(town)
    services.rate(summons, secretary, "unsatisfied", "仍有渗水")
    assert services.escalation_pass() == []
    services.handle(summons, town.officer, "再次处理")
    services.rate(summons, secretary, "unsatisfied", "依旧渗水")
    (higher,) = services.escalation_pass()
    assert higher.escalation_reason == "unsatisfied" and summons.whistle.status == "escalated"


def test_the_escalate_command_runs_one_pass(app, town):
    blow(town)
    db.session.execute(Summons.__table__.update().values(sign_due_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["whistles", "escalate"])
    assert result.exit_code == 0 and "1 whistle(s) escalated" in result.output
    assert count(Whistle) == 2


@pytest.mark.committing
def test_two_passes_at_once_escalate_once(app, town, monkeypatch):
    whistle = blow(town)
    db.session.commit()
    later = whistle.summonses[0].handle_due_at + timedelta(minutes=1)
    # Both passes have found the whistle overdue before either escalates it.
    both_found = threading.Barrier(2, timeout=10)
    escalate = services._escalate

    def escalate_when_both_found(*args, **kwargs):
        both_found.wait()
        return escalate(*args, **kwargs)

    monkeypatch.setattr(services, "_escalate", escalate_when_both_found)

    def one_pass(_index: int) -> int:
        escalated = services.escalation_pass(later)
        db.session.commit()
        return len(escalated)

    assert sorted(run_together(app, 2, one_pass)) == [0, 1]
    db.session.expire_all()
    assert count(Whistle) == 2
    assert db.session.scalar(select(func.count()).where(Whistle.escalated_from_id == whistle.id)) == 1


@pytest.mark.committing
def test_two_departments_handling_the_last_two_summons_at_once_settle_the_whistle(app, town, monkeypatch):
    whistle = blow(town, town.street, town.market)
    officers = {town.street.id: town.officer.id, town.market.id: town.market_officer.id}
    for summons in whistle.summonses:
        officer = db.session.get(User, officers[summons.department_id])
        services.sign(summons, officer)
        services.record_contact(summons, officer)
    db.session.commit()
    jobs = [(s.id, officers[s.department_id]) for s in whistle.summonses]
    # Both summonses are handled before either looks at the whistle (on SQLite the second writer waits for
    # the first to commit, so the barrier gives way after a moment).
    both_handled = threading.Barrier(2, timeout=2)
    settle = services._settle

    def settle_when_both_handled(w):
        with contextlib.suppress(threading.BrokenBarrierError):
            both_handled.wait()
        settle(w)

    monkeypatch.setattr(services, "_settle", settle_when_both_handled)

    def handle(index: int) -> None:
        summons_id, officer_id = jobs[index]
        services.handle(db.session.get(Summons, summons_id), db.session.get(User, officer_id), "已处理")
        db.session.commit()

    run_together(app, 2, handle)
    db.session.expire_all()
    assert db.session.get(Whistle, whistle.id).status == "handled"
    assert {s.status for s in db.session.get(Whistle, whistle.id).summonses} == {"handled"}


# ---------------------------------------------------------------- scope and timeline


def test_who_sees_which_whistles_and_summons(town):
    w = town.w
    mine = blow(town, town.street, town.market)
    theirs = services.blow(w.subdistrict, w.users["subdistrict_officer"], data(town), [w.department.id])

    def whistles(user: User) -> set[int]:
        return set(db.session.scalars(scoped(select(Whistle.id), user, "whistle.list")))

    def summonses(user: User) -> set[int]:
        return set(db.session.scalars(scoped(select(Summons.id), user, "summons.list")))

    street_summons, market_summons = (s.id for s in mine.summonses)
    assert whistles(town.officer) == {mine.id} and summonses(town.officer) == {street_summons}
    assert whistles(w.users["community_secretary"]) == {mine.id}
    assert summonses(w.users["community_secretary"]) == {street_summons, market_summons}
    assert whistles(w.users["subdistrict_officer"]) == {mine.id, theirs.id}
    assert whistles(w.users["department_officer"]) == {theirs.id}
    assert whistles(w.users["district_org"]) == whistles(w.users["city_org"]) == {mine.id, theirs.id}
    assert whistles(w.users["other_org"]) == whistles(w.users["other_secretary"]) == set()
    assert summonses(w.users["other_org"]) == set()
    assert can(town.officer, "summons.view", mine.summonses[0])
    assert not can(town.officer, "summons.view", theirs.summonses[0])
    assert can(town.officer, "whistle.view", mine) and not can(town.officer, "whistle.view", theirs)
    assert not can(w.users["community_secretary"], "whistle.view", theirs)  # the tier above is not below


def test_the_timeline_lists_every_step_with_who_and_whether_it_was_late(town):
    whistle = blow(town)
    summons = whistle.summonses[0]
    summons.sign_due_at = utcnow() - timedelta(minutes=5)  # signed late
    db.session.flush()
    services.sign(summons, town.officer)
    services.record_contact(summons, town.officer)
    services.record_progress(summons, town.officer, "已联系施工队")
    extension = services.request_extension(summons, town.officer, 1, "等材料")
    services.approve_extension(extension, town.user("community_secretary"))
    services.handle(summons, town.officer, "已修复")
    steps = services.timeline(whistle)
    assert [s.action for s in steps] == [
        "whistle.blown",
        "summons.summoned",
        "summons.signed",
        "summons.contacted",
        "summons.progress",
        "extension.requested",
        "extension.approved",
        "summons.handled",
        "whistle.handled",
    ]
    late = {s.action: s.late for s in steps}
    assert late["summons.signed"] is True and late["summons.contacted"] is False
    assert late["summons.handled"] is False and late["whistle.blown"] is None
    # A deadline moved later afterwards does not make the late step on time.
    summons.sign_due_at = utcnow() + timedelta(days=1)
    db.session.flush()
    assert next(s for s in services.timeline(whistle) if s.action == "summons.signed").late is True
    assert steps[2].actor == town.officer and steps[-1].actor is None and steps[5].summons_id == summons.id


# ---------------------------------------------------------------- photos


@pytest.fixture
def photo_dir(app) -> Path:
    return Path(app.config["PHOTO_DIR"])


def test_photos_are_stored_upright_as_jpeg_without_exif_with_a_thumbnail(town, photo_dir):
    sideways = jpeg()  # 640 × 480, to be turned upright; with GPS data, the camera and a comment
    assert b"TestCam" in sideways and b"taken at home" in sideways
    whistle = blow(town, uploads=[upload(sideways, "IMG_0001.JPG"), upload(png(), "plan.png"), upload(b"", "")])
    db.session.commit()
    first, second = whistle.photos  # the empty file field is no upload
    assert (first.width, first.height, first.by_id, first.progress_id) == (
        480,
        640,
        town.user("community_secretary").id,
        None,
    )
    stored = photos.file_of(first, "photo").read_bytes()
    assert first.size == len(stored) and photo_dir in photos.file_of(first, "photo").parents
    assert b"TestCam" not in stored and b"taken at home" not in stored and b"Exif" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG" and image.size == (480, 640)
        assert not image.getexif() and "comment" not in image.info
        assert image.getpixel((240, 320))[0] > 150  # still red
    with Image.open(photos.file_of(first, "thumb")) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (240, 320)
    with Image.open(photos.file_of(second, "photo")) as image:  # the transparent PNG, flattened onto white
        assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (300, 200))
        red, green, blue = image.getpixel((10, 10))
        assert red > 100 and blue > 200  # half the blue, half the white behind it
    assert len(stored_files(photo_dir / str(first.at.year))) >= 4


def test_a_large_photo_is_scaled_down_and_a_progress_note_carries_photos(town):
    whistle = blow(town)
    summons = whistle.summonses[0]
    services.sign(summons, town.officer)
    progress = services.record_progress(summons, town.officer, "已到现场", [upload(jpeg((3000, 1500), orientation=1))])
    (photo,) = db.session.scalars(select(WhistlePhoto)).all()
    assert (photo.whistle_id, photo.progress_id, photo.by_id) == (whistle.id, progress.id, town.officer.id)
    assert (photo.width, photo.height) == (2048, 1024)
    step = next(s for s in services.timeline(whistle) if s.action == "summons.progress")
    assert step.progress_id == progress.id


def noise_png(side: int) -> bytes:
    """A PNG that does not compress: about 3 bytes a pixel."""
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "PNG")
    return out.getvalue()


def huge_png() -> bytes:
    """A small file of 8000 × 7000 pixels: 56 million, above the limit of 50."""
    out = io.BytesIO()
    Image.new("1", (8000, 7000)).save(out, "PNG")
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20)).save(out, "GIF")
    return out.getvalue()


BAD_UPLOADS = [
    (lambda: [upload(b"this is a note, not a photo", "road.jpg")], "road.jpg is not a JPEG or PNG picture"),
    (lambda: [upload(gif(), "road.png")], "road.png is not a JPEG or PNG picture"),
    (lambda: [upload(jpeg()[:2000], "cut.jpg")], "cut.jpg could not be read: the picture is damaged"),
    (lambda: [upload(png((400, 400), "RGB")[:-200], "cut.png")], "cut.png could not be read"),
    (lambda: [upload(noise_png(700), "big.png")], "big.png is larger than 1 MB"),
    (lambda: [upload(huge_png(), "bomb.png")], "bomb.png has too many pixels"),
    (lambda: [upload(png_claiming(40000, 40000), "bomb.png")], "bomb.png has too many pixels"),
    (lambda: [upload(jpeg(), f"{n}.jpg") for n in range(7)], "Attach at most 6 photos at a time."),
    (lambda: [upload(jpeg(), "good.jpg"), upload(b"GIF89a...", "bad.jpg")], "bad.jpg is not a JPEG"),
]


@pytest.mark.parametrize(("uploads", "message"), BAD_UPLOADS)
def test_bad_photos_are_refused_and_nothing_is_stored(town, photo_dir, monkeypatch, app, uploads, message):
    monkeypatch.setitem(app.config, "PHOTO_MAX_BYTES", 1024 * 1024)
    before = stored_files(photo_dir)
    error = refused(blow, town, uploads=uploads(), match=message)
    assert error.field == "photos"
    db.session.rollback()
    assert count(Whistle) == count(WhistlePhoto) == 0
    summons = blow(town).summonses[0]
    services.sign(summons, town.officer)
    refused(services.record_progress, summons, town.officer, "已到现场", uploads(), match=message)
    assert count(SummonsProgress) == count(WhistlePhoto) == 0
    assert stored_files(photo_dir) == before


def test_the_files_of_a_transaction_that_does_not_commit_are_removed(town, photo_dir):
    before = stored_files(photo_dir)
    blow(town, uploads=[upload(jpeg()), upload(png(), "b.png")])
    assert len(set(stored_files(photo_dir)) - set(before)) == 4  # two photos and their thumbnails
    db.session.rollback()  # say the commit failed, or a later step was refused
    assert stored_files(photo_dir) == before
    whistle = blow(town, uploads=[upload(jpeg())])
    db.session.commit()
    assert all(photos.file_of(whistle.photos[0], kind).is_file() for kind in photos.KINDS)
