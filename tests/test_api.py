"""The open API over HTTP: tokens (made, shown once, scoped, bound, expired, revoked), reads within reach with
cursor paging and ETags, the two writes through the same services as the pages, and every bad input answered
as a problem with the right status and nothing changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kmvolunteer.api import tokens
from kmvolunteer.api.models import SCOPES, ApiToken
from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.time import local_today, utcnow
from kmvolunteer.extensions import db
from kmvolunteer.reportin.models import Claim
from kmvolunteer.service.models import ServiceRecord
from tests.factories import make_need, service_report_in


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the messages, written in English."""


def _personal(world, who="member", scopes=tuple(SCOPES), days=30) -> str:
    _token, secret = tokens.create_personal(world.users[who], "测试应用", list(scopes), days)
    db.session.commit()
    return secret


def _integration(world, who="district_org", area=None, scopes=("read:areas", "read:needs", "read:tallies")) -> str:
    _token, secret = tokens.create_integration(world.users[who], area or world.district, "云岭先锋", list(scopes), 30)
    db.session.commit()
    return secret


def _call(client, method, url, secret, **kwargs):
    headers = {"Authorization": f"Bearer {secret}", **kwargs.pop("headers", {})}
    return client.open(url, method=method, headers=headers, **kwargs)


def _counts():
    db.session.expire_all()
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Claim, ServiceRecord))


# --------------------------------------------------------------------------- tokens


def test_a_token_is_shown_once_and_kept_only_as_a_fingerprint(world):
    token, secret = tokens.create_personal(world.users["member"], "我的应用", ["read:needs"], 30)
    assert secret.startswith("kmv_") and len(secret) > 40
    assert token.digest != secret and secret not in (token.prefix + token.digest) and secret.startswith(token.prefix)
    assert tokens.recognise(secret) == token and tokens.recognise(secret + "x") is None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "api_token.created"))
    assert secret not in (entry.after or "")


@pytest.mark.parametrize(
    ("name", "scopes", "days", "field"),
    [
        ("", ["read:needs"], 30, "name"),
        ("应用", [], 30, "scopes"),
        ("应用", ["read:everything"], 30, "scopes"),
        ("应用", ["read:needs"], 0, "days"),
        ("应用", ["read:needs"], 367, "days"),
        ("应用", ["read:needs"], None, "days"),
    ],
)
def test_bad_tokens_are_refused(world, name, scopes, days, field):
    with pytest.raises(ServiceError) as refusal:
        tokens.create_personal(world.users["member"], name, scopes, days)
    assert refusal.value.field == field


def test_an_integration_reads_only_and_only_within_its_makers_reach(world):
    with pytest.raises(ServiceError) as refusal:
        tokens.create_integration(world.users["district_org"], world.district, "平台", ["write:service"], 30)
    assert refusal.value.field == "scopes"
    for who, area in (("district_org", world.other_district), ("community_secretary", world.district)):
        with pytest.raises(ServiceError, match="within your reach"):
            tokens.create_integration(world.users[who], area, "平台", ["read:areas"], 30)
    with pytest.raises(ServiceError, match="within your reach"):
        tokens.create_integration(world.users["city_org"], world.subdistrict, "平台", ["read:areas"], 30)


def test_no_token_a_wrong_one_an_expired_or_a_revoked_one_is_a_401_problem(client, world):
    secret = _personal(world)
    assert _call(client, "GET", "/api/v1/areas", secret).status_code == 200
    for header in ({}, {"Authorization": "Bearer kmv_nonsense"}, {"Authorization": f"Basic {secret}"}):
        answer = client.get("/api/v1/areas", headers=header)
        assert answer.status_code == 401 and answer.content_type == "application/problem+json"
        assert answer.json["status"] == 401 and "Bearer" in answer.headers["WWW-Authenticate"]
    token = tokens.recognise(secret)
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert _call(client, "GET", "/api/v1/areas", secret).status_code == 401
    token.expires_at = utcnow() + timedelta(days=1)
    tokens.revoke(token, world.users["member"])
    db.session.commit()
    assert _call(client, "GET", "/api/v1/areas", secret).status_code == 401
    world.users["member"].active = False  # a person's token goes with the person
    assert tokens.recognise(_personal(world)) is None


def test_the_scope_matrix_every_endpoint_wants_its_own_scope(client, world):
    service_report_in(world.members["member"], world.community)
    need = make_need(world.community, title="助老", headcount=5)
    db.session.commit()
    calls = {
        "read:areas": ("GET", "/api/v1/areas", None),
        "read:needs": ("GET", "/api/v1/needs", None),
        "read:tallies": ("GET", f"/api/v1/tallies/members?area_id={world.community.id}", None),
        "read:whistles": ("GET", "/api/v1/whistles", None),
        "write:claims": ("POST", f"/api/v1/needs/{need.id}/claims", None),
        "write:service": (
            "POST",
            "/api/v1/service-entries",
            {"service_date": local_today().isoformat(), "content": "政策宣传", "hours": "1.5"},
        ),
    }
    assert set(calls) == set(SCOPES)
    who = {"read:tallies": "community_secretary", "read:whistles": "community_secretary"}
    for held in SCOPES:
        secret = _personal(world, who.get(held, "member"), scopes=[held])
        for scope, (method, url, body) in calls.items():
            answer = _call(client, method, url, secret, json=body)
            if scope == held:
                assert answer.status_code in (200, 201), (held, scope, answer.json)
            else:
                assert answer.status_code == 403 and answer.json["detail"] == f"This token may not {scope}.", (
                    held,
                    scope,
                )


def test_an_integration_reads_only_within_its_area(client, world):
    secret = _integration(world)
    mine = make_need(world.community, title="本区需求")
    make_need(world.other_community, title="外区需求")
    db.session.commit()
    areas = _call(client, "GET", "/api/v1/areas?limit=200", secret).json["items"]
    assert {a["name"] for a in areas} == {"五华区", "华山街道", world.community.name, world.community2.name}
    needs = _call(client, "GET", "/api/v1/needs", secret).json["items"]
    assert [n["id"] for n in needs] == [mine.id]
    elsewhere = _call(client, "GET", f"/api/v1/tallies/members?area_id={world.other_community.id}", secret)
    assert elsewhere.status_code == 404 and elsewhere.content_type == "application/problem+json"
    assert _call(client, "GET", f"/api/v1/tallies/members?area_id={world.community.id}", secret).status_code == 200
    assert _call(client, "POST", f"/api/v1/needs/{mine.id}/claims", secret).status_code == 403


def test_a_maker_who_loses_the_grant_takes_the_integrations_reach_with_them(client, world):
    secret = _integration(world)
    world.users["district_org"].grants[0].area = world.other_district
    db.session.commit()
    answer = _call(client, "GET", f"/api/v1/tallies/members?area_id={world.community.id}", secret)
    assert answer.status_code == 404


# --------------------------------------------------------------------------- reading


def test_lists_are_paged_by_cursor_and_answer_304_when_unchanged(client, world):
    secret = _personal(world, scopes=["read:needs"])
    made = [make_need(world.community, title=f"需求{i}").id for i in range(5)]
    db.session.commit()
    seen, cursor = [], None
    while True:
        answer = _call(client, "GET", "/api/v1/needs?limit=2" + (f"&cursor={cursor}" if cursor else ""), secret)
        assert answer.status_code == 200
        seen += [n["id"] for n in answer.json["items"]]
        cursor = answer.json["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(made)
    first = _call(client, "GET", "/api/v1/needs", secret)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"
    again = _call(client, "GET", "/api/v1/needs", secret, headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.data
    make_need(world.community, title="新需求")
    db.session.commit()
    assert _call(client, "GET", "/api/v1/needs", secret, headers={"If-None-Match": etag}).status_code == 200
    for bad in ("x", "aWQ6eA", "bm9uZQ", "%00"):
        answer = _call(client, "GET", f"/api/v1/needs?cursor={bad}", secret)
        assert answer.status_code == 400 and answer.content_type == "application/problem+json"


def test_member_tallies_are_the_tally_pages_numbers(client, world):
    from tests.factories import make_record

    service_report_in(world.members["member"], world.community)
    make_record(world.members["member"], world.community, local_today(), half_hours=5)
    db.session.commit()
    secret = _personal(world, "community_secretary", scopes=["read:tallies"])
    answer = _call(client, "GET", f"/api/v1/tallies/members?area_id={world.community.id}", secret)
    rows = {r["name"]: r for r in answer.json["items"]}
    assert rows["张明"]["approved_hours"] == "2.5" and rows["张明"]["approved_entries"] == 1
    assert rows["张明"]["branch"] == world.branch.name and "phone" not in rows["张明"]
    member_secret = _personal(world, scopes=["read:tallies"])  # a member reads no community's tally
    assert (
        _call(client, "GET", f"/api/v1/tallies/members?area_id={world.community.id}", member_secret).status_code == 404
    )


# --------------------------------------------------------------------------- changing


def test_a_member_claims_and_logs_through_the_same_rules_as_the_pages(client, world):
    secret = _personal(world)
    need = make_need(world.community, title="助老", headcount=1)
    db.session.commit()
    refused = _call(client, "POST", f"/api/v1/needs/{need.id}/claims", secret)
    assert refused.status_code == 422 and "reported in" in refused.json["detail"]  # as on the lists
    service_report_in(world.members["member"], world.community)
    db.session.commit()
    claimed = _call(client, "POST", f"/api/v1/needs/{need.id}/claims", secret)
    assert claimed.status_code == 201 and claimed.json["places_left"] == 0
    assert _call(client, "POST", f"/api/v1/needs/{need.id}/claims", secret).status_code == 422
    body = {"service_date": local_today().isoformat(), "content": "为老人理发", "hours": "2", "need_id": need.id}
    logged = _call(client, "POST", "/api/v1/service-entries", secret, json=body)
    assert logged.status_code == 201 and logged.json["status"] == "submitted" and logged.json["hours"] == "2"
    used = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "api_token.used")).all()
    assert len(used) == 2 and all(e.actor_id == world.users["member"].id for e in used)
    future = {**body, "service_date": (local_today() + timedelta(days=1)).isoformat()}
    answer = _call(client, "POST", "/api/v1/service-entries", secret, json=future)
    assert answer.status_code == 422 and answer.content_type == "application/problem+json"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"service_date": "2026-13-40", "content": "x", "hours": "1"}, 422, "service_date"),
        ({"service_date": "today", "content": "x", "hours": "1"}, 422, "service_date"),
        ({"content": "x", "hours": "1"}, 422, "service_date"),
        ({"service_date": "2026-12-01", "content": "x", "hours": "many"}, 422, "hours"),
        ({"service_date": "2026-12-01", "content": "x", "hours": "100"}, 422, "hours"),
        ({"service_date": "2026-12-01", "content": "", "hours": "1"}, 422, "content"),
        ({"service_date": "2026-12-01", "content": "x" * 2001, "hours": "1"}, 422, "content"),
        ({"service_date": "2026-12-01", "content": "x", "hours": "1", "status": "approved"}, 422, "status"),
        ({"service_date": "2026-12-01", "content": "x", "need_id": 99999999999}, 422, "need_id"),
        ({"service_date": "2026-12-01", "content": ["x"], "hours": "1"}, 422, "content"),
    ],
)
def test_bad_bodies_are_problems_naming_the_field_and_change_nothing(client, world, body, status, field):
    service_report_in(world.members["member"], world.community)
    db.session.commit()
    secret = _personal(world, scopes=["write:service"])
    before = _counts()
    answer = _call(client, "POST", "/api/v1/service-entries", secret, json=body)
    assert answer.status_code == status and answer.content_type == "application/problem+json"
    assert field in answer.json["errors"]
    assert _counts() == before


def test_malformed_json_oversized_bodies_and_wrong_methods_are_problems(client, world):
    secret = _personal(world, scopes=["write:service"])
    before = _counts()
    broken = _call(
        client,
        "POST",
        "/api/v1/service-entries",
        secret,
        data="{not json",
        headers={"Content-Type": "application/json"},
    )
    assert broken.status_code in (400, 422) and broken.content_type == "application/problem+json"
    huge = _call(client, "POST", "/api/v1/service-entries", secret, json={"content": "长" * 3_000_000})
    assert huge.status_code == 413 and huge.content_type == "application/problem+json"
    wrong = _call(client, "DELETE", "/api/v1/service-entries", secret)
    assert wrong.status_code == 405 and "POST" in wrong.headers["Allow"]
    assert _counts() == before


def test_calls_beyond_the_limit_are_a_429_problem(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3 per minute")
    secret = _personal(world, scopes=["read:areas"])
    answers = [_call(client, "GET", "/api/v1/areas", secret).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    last = _call(client, "GET", "/api/v1/areas", secret)
    assert last.content_type == "application/problem+json" and int(last.headers["Retry-After"]) > 0
    assert _call(client, "GET", "/api/v1/areas", _personal(world, scopes=["read:areas"])).status_code == 200


# --------------------------------------------------------------------------- the pages


def test_the_tokens_page_shows_a_new_token_once_and_lets_only_its_keeper_revoke_it(login, world):
    member = login("13800000001")
    page = member.get("/account/api-tokens")
    assert page.status_code == 200 and "integration-form" not in page.get_data(as_text=True)
    made = member.post(
        "/account/api-tokens/personal",
        {"personal-name": "我的应用", "personal-scopes": ["read:needs", "write:claims"], "personal-days": "30"},
    )
    text = made.get_data(as_text=True)
    assert made.status_code == 201 and 'id="token-secret"' in text
    token = db.session.scalar(select(ApiToken))
    secret = text.split('id="token-secret">')[1].split("<")[0]
    assert tokens.recognise(secret) is not None and token.scopes == "read:needs write:claims"
    assert secret not in member.get("/account/api-tokens").get_data(as_text=True)  # never again
    bad = member.post("/account/api-tokens/personal", {"personal-name": "", "personal-scopes": ["read:needs"]})
    assert bad.status_code == 422 and "Name the system" in bad.get_data(as_text=True)
    assert member.post(f"/account/api-tokens/{token.id}/revoke", csrf=False).status_code == 400  # CSRF
    assert login("13800000002").post(f"/account/api-tokens/{token.id}/revoke").status_code == 404
    assert member.post(f"/account/api-tokens/{token.id}/revoke").status_code == 303
    db.session.expire_all()
    assert token.status == "revoked"


def test_an_organization_department_makes_an_integration_token(login, world):
    org = login("district_org")
    page = org.get("/account/api-tokens").get_data(as_text=True)
    assert 'id="integration-form"' in page and f'value="{world.district.id}"' in page
    made = org.post(
        "/account/api-tokens/integration",
        {
            "integration-name": "五华区智慧党建平台",
            "integration-area": str(world.other_district.id),
            "integration-scopes": ["read:areas"],
            "integration-days": "90",
        },
    )
    assert made.status_code == 422  # another district
    made = org.post(
        "/account/api-tokens/integration",
        {
            "integration-name": "五华区智慧党建平台",
            "integration-area": str(world.district.id),
            "integration-scopes": ["read:areas"],
            "integration-days": "90",
        },
    )
    assert made.status_code == 201
    token = db.session.scalar(select(ApiToken))
    assert (token.kind, token.area_id) == ("integration", world.district.id)
    assert login("other_org").post(f"/account/api-tokens/{token.id}/revoke").status_code == 404


def test_the_reference_page_reads_out_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"] == "3.1.0" and "/api/v1/service-entries" in spec["paths"]
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "POST /api/v1/service-entries" in page and "<script" not in page.split("</header>")[1]
