"""我的提醒 (issue 15, item 6): notices follow the whistles' events; the reminder pass tells a department an
hour before each deadline, once however many passes run; the page shows a user their own notices only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kmvolunteer.config import PROJECT_ROOT
from kmvolunteer.extensions import db
from kmvolunteer.notices import services as notices
from kmvolunteer.notices.models import Notice
from kmvolunteer.whistles import services
from kmvolunteer.whistles.models import Summons
from tests.concurrency import run_together
from tests.test_whistles_services import blow, handled
from tests.test_whistles_services import town as town  # a fixture


def kinds(user) -> list[tuple[str, int | None]]:
    db.session.commit()  # the notices of an event are inserted when its transaction commits
    return list(
        db.session.execute(
            select(Notice.kind, Notice.summons_id).where(Notice.user_id == user.id).order_by(Notice.id)
        ).tuples()
    )


def test_a_summons_tells_the_officers_of_its_department(town):
    whistle = blow(town, town.street, town.market)
    street, market = whistle.summonses
    assert kinds(town.officer) == [("summoned", street.id)]
    assert kinds(town.market_officer) == [("summoned", market.id)]
    assert kinds(town.user("community_secretary")) == []


def test_handling_and_declining_tell_the_blowers(town):
    whistle = blow(town, town.street, town.market)
    services.decline(whistle.summonses[1], town.market_officer, "不属于本所职责")
    summons = handled(town, whistle)
    secretary = town.user("community_secretary")
    assert kinds(secretary) == [("declined", whistle.summonses[1].id), ("handled", summons.id)]
    assert kinds(town.user("other_secretary")) == []


def test_an_escalation_tells_everyone_involved(town):
    whistle = blow(town, town.street, town.market)
    (higher,) = services.escalation_pass(whistle.summonses[0].sign_due_at + timedelta(minutes=1))
    db.session.commit()
    told = set(db.session.scalars(select(Notice.user_id).where(Notice.kind == "escalated")))
    involved = {town.user("community_secretary"), town.user("subdistrict_officer"), town.officer, town.market_officer}
    assert told == {user.id for user in involved}
    assert set(db.session.scalars(select(Notice.whistle_id).where(Notice.kind == "escalated"))) == {higher.id}


def test_the_reminder_pass_tells_an_hour_before_each_deadline_once(town):
    whistle = blow(town)
    db.session.commit()
    summons = whistle.summonses[0]
    assert notices.reminder_pass(summons.sign_due_at - timedelta(hours=2)) == 0  # not within the hour yet
    soon = summons.sign_due_at - timedelta(minutes=30)
    assert notices.reminder_pass(soon) == 1
    assert notices.reminder_pass(soon + timedelta(minutes=5)) == 1  # considered again, told once
    assert kinds(town.officer) == [("summoned", summons.id), ("due_sign", summons.id)]
    services.sign(summons, town.officer)
    services.record_contact(summons, town.officer)
    assert notices.reminder_pass(summons.contact_due_at - timedelta(minutes=30)) == 0  # the step is taken
    assert notices.reminder_pass(summons.handle_due_at - timedelta(minutes=10)) == 1
    assert [kind for kind, _ in kinds(town.officer)] == ["summoned", "due_sign", "due_handle"]


def test_a_moved_deadline_is_reminded_again_and_a_handled_summons_not_at_all(town):
    summons = blow(town).summonses[0]
    db.session.commit()
    notices.reminder_pass(summons.handle_due_at - timedelta(minutes=30))
    db.session.execute(Summons.__table__.update().values(handle_due_at=summons.handle_due_at + timedelta(days=2)))
    db.session.expire_all()
    notices.reminder_pass(summons.handle_due_at - timedelta(minutes=30))
    assert [kind for kind, _ in kinds(town.officer)] == ["summoned", "due_handle", "due_handle"]
    handled(town, summons.whistle)
    assert notices.reminder_pass(summons.handle_due_at - timedelta(minutes=20)) == 0


@pytest.mark.committing
def test_two_reminder_passes_at_once_remind_once(app, town):
    summons = blow(town).summonses[0]
    db.session.commit()
    soon = summons.sign_due_at - timedelta(minutes=30)

    def one_pass(_index: int) -> int:
        considered = notices.reminder_pass(soon)
        db.session.commit()
        return considered

    assert run_together(app, 2, one_pass) == [1, 1]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).where(Notice.kind == "due_sign")) == 1


# ---------------------------------------------------------------- the page


def test_the_page_lists_a_users_own_notices_newest_first_and_marks_them_read(town, login):
    whistle = blow(town, town.street, town.market)
    handled(town, whistle)
    db.session.commit()
    notices.reminder_pass(whistle.summonses[1].sign_due_at - timedelta(minutes=30))
    db.session.commit()
    officer = login("street_officer")
    page = officer.get("/notices").get_data(as_text=True)
    assert "我的提醒" in page and 'id="notices-unread">1<' in page
    assert "华山街道城管中队被吹哨" in page and "市场监管所" not in page  # not the market office's reminder
    assert f'href="/whistles/{whistle.id}"' in page  # the notice opens the whistle
    (mine,) = db.session.scalars(select(Notice).where(Notice.user_id == town.officer.id))
    theirs = db.session.scalars(select(Notice).where(Notice.user_id == town.market_officer.id)).all()
    assert len(theirs) == 2
    market = login("market_officer").get("/notices").get_data(as_text=True)
    assert market.index("须在") < market.index("被吹哨")  # newest first: the reminder, then the summons

    assert officer.post(f"/notices/{mine.id}/read", csrf=False).status_code == 400
    assert officer.post(f"/notices/{theirs[0].id}/read").status_code == 404
    assert officer.post(f"/notices/{mine.id}/read").status_code == 303
    db.session.expire_all()
    assert mine.read_at is not None and all(n.read_at is None for n in theirs)
    assert 'id="notices-unread"' not in officer.get("/notices").get_data(as_text=True)


def test_mark_all_read_marks_only_ones_own(town, login):
    blow(town, town.street, town.market)
    db.session.commit()
    market = login("market_officer")
    assert market.post("/notices/read", csrf=False).status_code == 400
    assert market.post("/notices/read").status_code == 303
    db.session.expire_all()
    unread = dict(
        db.session.execute(
            select(Notice.user_id, func.count()).where(Notice.read_at.is_(None)).group_by(Notice.user_id)
        ).all()
    )
    assert unread == {town.officer.id: 1}


def test_only_people_who_can_be_told_have_the_page(town, login):
    member = login("13800000001")
    assert member.get("/notices").status_code == 404
    assert "/notices" not in member.get("/").get_data(as_text=True)
    assert 'href="/notices"' in login("community_secretary").get("/").get_data(as_text=True)


def test_the_whistles_never_import_the_notices():
    """Notices follow the whistles' events, as the tallies follow the features'."""
    for path in (PROJECT_ROOT / "kmvolunteer" / "whistles").rglob("*.py"):
        assert "kmvolunteer.notices" not in path.read_text(encoding="utf-8"), path
