"""反馈函 pages: the community's list with preview and issue, the letter (A4), who reads it (out of scope: 404),
the party organization's notice and acknowledgement, correcting, CSRF, and the public check by serial that
shows nothing personal."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.letters import services
from kmvolunteer.letters.models import FeedbackLetter
from tests.conftest import PASSWORD, row_count
from tests.factories import letters_world

YEAR = local_today().year - 1


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the pages, written in English."""


@pytest.fixture
def served(world):
    return letters_world(world, YEAR, PASSWORD)


@pytest.fixture
def letter(served):
    issued = services.issue_letter(served.community, served.agency, YEAR, "H1")
    db.session.commit()
    return issued


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_the_community_secretary_previews_and_issues_a_letter(login, served):
    w = served
    b = login("community_secretary")
    assert f'href="/letters/communities/{w.community.id}"' in b.get("/reports/").get_data(as_text=True)
    page = b.get(f"/letters/communities/{w.community.id}?year={YEAR}&period=H1")
    assert page.status_code == 200 and w.agency.name in _text(page)
    preview = b.get(f"/letters/communities/{w.community.id}/agencies/{w.agency.id}/preview?year={YEAR}&period=H1")
    assert preview.status_code == 200 and "Preview: this letter is not issued" in _text(preview)
    assert "张明" in _text(preview) and _letters() == 0
    url = f"/letters/communities/{w.community.id}/agencies/{w.agency.id}/issue"
    response = b.post(url, {"year": YEAR, "period": "H1"})
    assert response.status_code == 303
    letter = db.session.scalar(select(FeedbackLetter))
    assert response.headers["Location"] == f"/letters/{letter.id}"
    text = _text(b.get(response.headers["Location"]))
    for words in (letter.serial, "翠湖社区", w.agency.name, "张明", "Community party organization (seal)"):
        assert words in text, words
    assert f"/verify/letter/{letter.serial}" in text
    # The same period again is refused: a correction is the way.
    before = row_count()
    again = b.post(url, {"year": YEAR, "period": "H1"})
    assert again.status_code == 303 and row_count() == before
    assert "was already issued" in _text(b.get(again.headers["Location"]))
    # A period not ended, and one the rule does not ask for, are refused; a hand-made period too.
    for period in ("Y", "Q1"):
        b.post(url, {"year": local_today().year, "period": period})
    assert row_count() == before
    assert b.post(url, {"year": YEAR, "period": "H1"}, csrf=False).status_code == 400
    assert row_count() == before


def _letters() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(FeedbackLetter.id)))


@pytest.mark.parametrize(
    "who, sees",
    [
        ("community_secretary", True),
        ("district_org", True),  # over the community
        ("city_org", True),
        ("wuhua_party", True),  # the agency's party organization
        ("wuhua_committee", True),  # the work committee over the agency
        ("branch_secretary", True),  # a branch of the agency
        ("subdistrict_officer", False),
        ("other_secretary", False),
        ("other_org", False),
        ("other_branch_secretary", False),
        ("department_officer", False),
        ("13800000001", False),  # 张明 himself
    ],
)
def test_who_reads_a_letter(login, letter, who, sees):
    b = login(who)
    assert b.get(f"/letters/{letter.id}").status_code == (200 if sees else 404)
    agency_page = b.get(f"/letters/agencies/{letter.agency_id}")
    expected = who in ("wuhua_party", "wuhua_committee", "branch_secretary")
    assert agency_page.status_code == (200 if expected else 404)
    if expected:
        assert letter.serial in _text(agency_page)
    community_page = b.get(f"/letters/communities/{letter.community_id}")
    assert community_page.status_code == (200 if who in ("community_secretary", "district_org", "city_org") else 404)


def test_others_cannot_issue_preview_or_correct(login, letter, served):
    w = served
    for who in ("district_org", "wuhua_party", "wuhua_committee", "branch_secretary", "other_secretary"):
        b = login(who)
        base = f"/letters/communities/{w.community.id}/agencies/{w.agency.id}"
        assert b.get(f"{base}/preview?year={YEAR}&period=H1").status_code == 404
        assert b.post(f"{base}/issue", {"year": YEAR, "period": "Y"}).status_code == 404
        assert b.get(f"/letters/{letter.id}/correct").status_code == 404
        assert b.post(f"/letters/{letter.id}/correct", {"reason": "x"}).status_code == 404
    assert _letters() == 1


def test_the_party_organization_is_told_and_acknowledges_once(login, letter, served):
    party = login("wuhua_party")
    notices = party.get("/notices")
    assert notices.status_code == 200
    assert f'href="/letters/{letter.id}"' in notices.get_data(as_text=True) and letter.serial in _text(notices)
    agency_page = party.get(f"/agency-party/agencies/{served.agency.id}?year={YEAR}")
    assert f'href="/letters/{letter.id}"' in agency_page.get_data(as_text=True)
    page = party.get(f"/letters/{letter.id}")
    assert 'id="acknowledge-form"' in page.get_data(as_text=True)
    for who in ("wuhua_committee", "branch_secretary", "community_secretary"):
        b = login(who)
        assert 'id="acknowledge-form"' not in b.get(f"/letters/{letter.id}").get_data(as_text=True)
        assert b.post(f"/letters/{letter.id}/acknowledge").status_code == 404
    assert party.post(f"/letters/{letter.id}/acknowledge", csrf=False).status_code == 400
    response = party.post(f"/letters/{letter.id}/acknowledge")
    assert response.status_code == 303
    assert "Acknowledged by" in _text(party.get(f"/letters/{letter.id}"))
    before = row_count()
    again = party.post(f"/letters/{letter.id}/acknowledge")
    assert again.status_code == 303 and row_count() == before
    db.session.expire_all()
    assert db.session.get(FeedbackLetter, letter.id).status == "acknowledged"


def test_a_correction_supersedes_and_both_stay_verifiable(login, letter, client):
    b = login("community_secretary")
    assert b.get(f"/letters/{letter.id}/correct").status_code == 200
    refused = b.post(f"/letters/{letter.id}/correct", {"reason": ""})
    assert refused.status_code == 422 and "Say what the correction changes" in _text(refused)
    assert _letters() == 1
    response = b.post(f"/letters/{letter.id}/correct", {"reason": "补录服务时长"})
    assert response.status_code == 303
    new = db.session.scalar(select(FeedbackLetter).where(FeedbackLetter.supersedes_id == letter.id))
    assert response.headers["Location"] == f"/letters/{new.id}"
    old_page = _text(b.get(f"/letters/{letter.id}"))
    assert f"Superseded by {new.serial}: 补录服务时长" in old_page
    assert b.get(f"/letters/{letter.id}/correct").status_code == 200  # the form shows; the service refuses
    assert b.post(f"/letters/{letter.id}/correct", {"reason": "再改"}).status_code == 422
    assert _letters() == 2
    old_check = client.get(f"/verify/letter/{letter.serial}")
    assert old_check.status_code == 200
    assert "superseded" in _text(old_check) and new.serial in _text(old_check)
    assert "valid" in _text(client.get(f"/verify/letter/{new.serial}"))


def test_the_public_check_shows_nothing_personal(client, letter, served):
    response = client.get(f"/verify/letter/{letter.serial}")
    assert response.status_code == 200 and response.headers["X-Robots-Tag"] == "noindex"
    text = _text(response)
    for shown in (letter.serial, "翠湖社区", served.agency.name, "valid", "First half"):
        assert shown in text, shown
    for hidden in ("张明", "张*", "机关党支部", "积极参加志愿服务", "助老食堂", "13800000001"):
        assert hidden not in text, hidden
    assert re.search(r"Members\s+1\b", text)
    assert client.get("/verify/letter/FKH-2026-NOTAREALNO").status_code == 404
    asked = client.get(f"/verify/letter?serial={letter.serial.lower()}")
    assert asked.status_code == 303 and asked.headers["Location"] == f"/verify/letter/{letter.serial}"
    assert client.get("/verify/letter").status_code == 200
    assert client.get(f"/letters/{letter.id}").status_code == 302  # the letter itself needs a login
