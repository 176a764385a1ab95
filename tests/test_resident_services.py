"""居民点单 services, without HTTP: leaving a request (the texts, the phone, the challenge), the status code,
and the secretary's triage into an answer, a need, a whistle or spam — each through the machine, audited,
and refused outside the community's secretaries."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kmvolunteer.auth.models import Role, RoleGrant, User
from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.notices.models import Notice
from kmvolunteer.notices.services import describe
from kmvolunteer.org.models import Department
from kmvolunteer.reportin import services as lists
from kmvolunteer.reportin.models import Need
from kmvolunteer.resident import services
from kmvolunteer.resident.models import ResidentRequest
from kmvolunteer.whistles import services as whistles
from tests.concurrency import run_together
from tests.conftest import PASSWORD
from tests.factories import make_claim, make_record, make_user


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the services' messages, written in English."""


def _submit(world, what="楼道灯坏了", place="青云街 3 号院", phone=""):
    return services.submit(world.community, services.RequestData(what, place, phone))


def _need_data(title="帮老人买菜") -> lists.NeedData:
    return lists.NeedData(
        kind="need",
        title=title,
        category_id=None,
        description="",
        place="",
        on_date=local_today() + timedelta(days=2),
        start_time=None,
        end_time=None,
        recurrence="",
        headcount=1,
    )


def test_a_request_is_stored_as_plain_text_with_a_status_code_and_audited(world):
    req = _submit(world, what="  路灯 <坏了> & 5 > 3  ", phone="+86 139-8765-0001")
    assert req.what == "路灯 <坏了> & 5 > 3"  # plain text as typed: escaping is the pages' job
    assert req.phone == "13987650001" and req.status == "received"
    assert services.CODE_RE.fullmatch(req.code)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "resident_request.received"))
    assert entry.object_id == req.id and "13987650001" not in (entry.after or "")  # the log masks it
    codes = {_submit(world).code for _ in range(20)}
    assert len(codes) == 20 and not codes & set("01IOL")


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"what": ""}, "what", "Say what"),
        ({"place": "  "}, "place", "Say where"),
        ({"what": "长" * 501}, "what", "under 500"),
        ({"place": "长" * 101}, "place", "under 100"),
        ({"what": "看这里 http://spam.example"}, "what", "Links"),
        ({"what": "加微信 www.fake.cn"}, "what", "Links"),
        ({"what": "优惠 shop123.com 速来"}, "what", "Links"),
        ({"what": "全角 ｗｗｗ．ｓｐａｍ．ｃｏｍ"}, "what", "Links"),
        ({"place": "javascript:alert(1)"}, "place", "Links"),
        ({"what": "<script>alert(1)</script>"}, "what", "plain text"),
        ({"place": "<img src=x onerror=alert(1)>"}, "place", "plain text"),
        ({"what": "＜ｓｃｒｉｐｔ＞"}, "what", "plain text"),
        ({"what": "abc\u202edcba"}, "what", "direction"),
        ({"phone": "12345"}, "phone", "11 digits"),
        ({"phone": "1398765000112"}, "phone", "11 digits"),
    ],
)
def test_bad_requests_are_refused_and_nothing_is_stored(world, fields, field, message):
    data = {"what": "楼道灯坏了", "place": "3 号院", "phone": "", **fields}
    with pytest.raises(ServiceError) as refused:
        services.submit(world.community, services.RequestData(**data))
    assert refused.value.field == field and message in refused.value.message
    assert db.session.scalar(select(ResidentRequest.id)) is None


def test_only_an_active_community_takes_requests(world):
    for area in (world.subdistrict, world.district):
        with pytest.raises(ServiceError):
            services.submit(area, services.RequestData("灯坏了", "3 号院", ""))
    world.community2.active = False
    with pytest.raises(ServiceError):
        services.submit(world.community2, services.RequestData("灯坏了", "3 号院", ""))


def test_the_challenge_wants_an_empty_trap_and_a_token_of_this_community_a_while_old(app, world, monkeypatch):
    token = services.form_token(world.community)
    with pytest.raises(ServiceError, match="very quick"):  # at once: the form's minimum time is not over
        services.check_challenge(world.community, token, "")
    monkeypatch.setitem(app.config, "RESIDENT_FORM_MIN_SECONDS", 0)
    services.check_challenge(world.community, token, "")  # passes
    for community, tok, trap in (
        (world.community, token, "http://bot"),  # the honeypot filled in
        (world.community2, token, ""),  # another community's form
        (world.community, token + "x", ""),  # tampered
        (world.community, "", ""),  # none
    ):
        with pytest.raises(ServiceError, match="could not be accepted"):
            services.check_challenge(community, tok, trap)
    monkeypatch.setitem(app.config, "RESIDENT_FORM_MAX_SECONDS", -1)
    with pytest.raises(ServiceError, match="expired"):
        services.check_challenge(world.community, token, "")


def test_codes_are_found_as_residents_type_them(world):
    req = _submit(world)
    typed = f" {req.code[:4].lower()}-{req.code[4:].lower()} "
    assert services.normalize_code(typed) == req.code
    found, wait = services.look_up(req.code, "198.51.100.7")
    assert found.id == req.id and wait is None
    assert services.look_up("AAAAAAAA", "198.51.100.7") == (None, None)
    assert services.look_up("' OR 1=1", "198.51.100.7") == (None, None)


def test_the_secretary_answers_and_the_answer_is_public(world):
    req = _submit(world)
    secretary = world.users["community_secretary"]
    with pytest.raises(ServiceError, match="Write the answer"):
        services.answer(req, secretary, " ")
    services.answer(req, secretary, "已安排电工明天上门。")
    assert req.status == "answered" and req.reply == "已安排电工明天上门。" and req.decided_by_id == secretary.id
    assert db.session.scalar(select(AuditEntry.id).where(AuditEntry.action == "resident_request.answered"))
    with pytest.raises(ServiceError, match="already answered"):
        services.reject(req, secretary, "spam")


def test_numbers_written_with_spaces_and_identity_card_numbers_are_masked_too(world):
    req = _submit(world, what="联系我 139 8765 4321 或 139-1234-5678，身份证530102195501011234，门牌 12 号")
    description = services.need_draft(req)["description"]
    assert "139****4321" in description and "139****5678" in description
    assert "530***********1234" in description and "195501011" not in description
    assert "门牌 12 号" in description  # other numbers stay as written


def test_a_request_made_a_need_is_linked_and_the_need_carries_no_phone(world):
    req = _submit(world, what="王奶奶需要买菜 联系 13987650002", phone="13987650003")
    draft = services.need_draft(req)
    assert "13987650002" not in draft["description"] and "139****0002" in draft["description"]
    need = services.to_need(req, world.users["community_secretary"], _need_data(draft["title"]), "已发布")
    assert req.status == "to_need" and req.need_id == need.id and need.community_id == world.community.id
    assert db.session.get(Need, need.id).title == draft["title"]
    with pytest.raises(ServiceError, match="already made a need"):
        services.to_need(req, world.users["community_secretary"], _need_data())
    assert db.session.query(Need).count() == 1


def test_the_resident_follows_the_need_from_places_taken_to_service_given(world, browser):
    req = _submit(world)
    need = services.to_need(req, world.users["community_secretary"], _need_data(), "已发布")
    db.session.commit()
    page = browser.get(f"/ask/status/{req.code}").get_data(as_text=True)
    assert "Volunteers signed up: 0 of 1" in page and "Not served yet" in page
    member = world.members["member"]
    make_claim(need, member)
    make_record(member, world.community, local_today() - timedelta(days=1)).need_id = need.id
    make_record(member, world.community, local_today(), status="submitted").need_id = need.id  # not yet approved
    db.session.commit()
    assert services.progress(req) == services.Progress(1, 1, 1, local_today() - timedelta(days=1))
    page = browser.get(f"/ask/status/{req.code}").get_data(as_text=True)
    day = (local_today() - timedelta(days=1)).isoformat()
    assert "Volunteers signed up: 1 of 1" in page and f"Served 1 time; last on {day}" in page
    assert member.name not in page  # nothing personal on the public page


def test_a_request_made_a_whistle_summons_the_subdistrict_departments(world):
    team = Department(name="华山街道综合执法队", area=world.subdistrict)
    db.session.add(team)
    db.session.flush()
    req = _submit(world)
    category = whistles.ensure_default_categories()[0]
    data = whistles.WhistleData("排水沟堵塞", "下雨积水", "文林街", category.id)
    whistle = services.to_whistle(req, world.users["community_secretary"], data, [team.id])
    assert req.status == "to_whistle" and req.whistle_id == whistle.id
    assert [s.department_id for s in whistle.summonses] == [team.id]
    assert services.progress(req) == services.Progress(whistle_status="open")


def test_a_refused_need_or_whistle_leaves_the_request_received(world):
    req = _submit(world)
    secretary = world.users["community_secretary"]
    with pytest.raises(ServiceError, match="Enter a title"):
        services.to_need(req, secretary, _need_data(title=""))
    with pytest.raises(ServiceError):
        category = whistles.ensure_default_categories()[0]
        services.to_whistle(req, secretary, whistles.WhistleData("t", "p", "a", category.id), [])
    assert req.status == "received" and req.need_id is None and req.whistle_id is None


def test_spam_is_closed_with_a_reason_kept_from_the_resident(world):
    req = _submit(world)
    with pytest.raises(ServiceError, match="Say why"):
        services.reject(req, world.users["community_secretary"], "")
    services.reject(req, world.users["community_secretary"], "广告")
    assert req.status == "rejected" and req.reason == "广告" and req.reply == ""


def test_only_the_communitys_secretaries_triage(world):
    req = _submit(world)
    neighbour = make_user(
        "wenhua_secretary",
        PASSWORD,
        world.district,
        RoleGrant(role=Role.community_secretary.value, area=world.community2),
    )
    db.session.flush()
    readers = (world.users["subdistrict_officer"], world.users["city_org"])
    for user in (neighbour, world.users["other_secretary"], *readers):
        with pytest.raises(ServiceError, match="not within your scope"):
            services.answer(req, user, "好的")
        with pytest.raises(ServiceError, match="Only the community's secretaries"):
            services.to_need(req, user, _need_data())
    assert req.status == "received" and db.session.query(Need).count() == 0


def test_the_count_of_requests_waiting(world):
    for _ in range(3):
        _submit(world)
    services.answer(_submit(world), world.users["community_secretary"], "好")
    assert services.received_counts([world.community, world.community2]) == {world.community.id: 3}


def test_a_new_request_tells_the_communitys_secretaries_and_triage_reads_it_for_them(world):
    req = _submit(world, what="楼道灯坏了一个星期，老人晚上上下楼很危险，请社区尽快联系物业维修，谢谢！")
    _submit(world)
    db.session.commit()
    secretary, other = world.users["community_secretary"], world.users["other_secretary"]
    notices = db.session.scalars(select(Notice).where(Notice.request_id == req.id)).all()
    assert [(n.user_id, n.kind, n.read_at) for n in notices] == [(secretary.id, "request", None)]
    assert not db.session.scalar(select(Notice.id).where(Notice.user_id == other.id))
    words = describe(notices[0])  # the first 30 characters of what the resident wrote
    assert words.startswith("A resident left a request with 翠湖社区: “") and words.endswith("…”. Triage it.")
    assert "楼道灯坏了一个星期，老人晚上上下楼很危险，请社区尽快联系物业…" in words  # its first 30 characters
    services.answer(req, secretary, "已联系物业。")
    db.session.commit()
    db.session.expire_all()
    assert notices[0].read_at is not None
    assert db.session.scalar(select(func.count(Notice.id)).where(Notice.read_at.is_(None))) == 1  # the other one


def test_the_demo_has_requests_at_cuihu_in_every_state(app, ctx):
    from kmvolunteer import demo

    demo.seed(echo=lambda *_: None)
    rows = db.session.scalars(select(ResidentRequest).order_by(ResidentRequest.id)).all()
    assert {r.community.name for r in rows} == {"翠湖社区"}
    assert [r.status for r in rows] == ["received", "answered", "to_need", "to_whistle", "rejected"]
    made = rows[2]
    assert made.need is not None and made.need.community_id == made.community_id
    assert "13987650002" not in made.need.description  # the resident's phone stays with the request
    assert rows[3].whistle.summonses and rows[1].reply
    told = db.session.scalars(select(Notice).where(Notice.request_id.is_not(None))).all()
    assert [(n.request_id, n.read_at) for n in told] == [(rows[0].id, None)]  # only the one still waiting


@pytest.mark.committing
def test_two_secretaries_triaging_at_once_make_one_need(app, world, monkeypatch):
    """Both have found the request waiting before either acts: one need is published and linked; the other
    secretary is told, and their need is not saved."""
    req = _submit(world)
    second = make_user(
        "cuihu_deputy", PASSWORD, world.district, RoleGrant(role=Role.community_secretary.value, area=world.community)
    )
    db.session.commit()
    ids = (req.id, world.users["community_secretary"].id, second.id)
    both_checked = threading.Barrier(2, timeout=10)
    check = services._require_triage

    def check_then_wait(*args):
        check(*args)
        both_checked.wait()

    monkeypatch.setattr(services, "_require_triage", check_then_wait)

    def triage(index: int) -> str:
        mine = db.session.get(ResidentRequest, ids[0])
        try:
            services.to_need(mine, db.session.get(User, ids[1 + index]), _need_data(f"需求 {index}"))
            db.session.commit()
            return "made"
        except ServiceError as error:
            db.session.rollback()
            return error.message

    results = run_together(app, 2, triage)
    assert sorted(results)[0].startswith("Someone else has already changed") and sorted(results)[1] == "made"
    db.session.expire_all()
    needs = db.session.scalars(select(Need)).all()
    assert len(needs) == 1 and db.session.get(ResidentRequest, ids[0]).need_id == needs[0].id
