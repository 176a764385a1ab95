"""A refused change (ServiceError), answered in one place: errors.py for the views that let it through,
core/refusals.py refused(form) for the views that show it themselves."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import StringField

from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.refusals import refused
from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.reportin.models import ServiceCategory
from kmvolunteer.service import services
from kmvolunteer.service.models import ServiceRecord
from kmvolunteer.service.services import EntryData
from tests.factories import service_report_in

HX = {"HX-Request": "true"}
REFUSED = "This entry is already approved; nothing was changed."


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the messages, written in English."""


@pytest.fixture
def approved(world) -> ServiceRecord:
    """An approved entry of the member's: withdrawing it is refused."""
    member = world.members["member"]
    service_report_in(member, world.community)
    record = services.log_entry(
        member,
        world.users["member"],
        EntryData(
            service_date=local_today() - timedelta(days=1),
            content="反诈宣传摊位值守",
            hours=Decimal("2"),
            community_id=world.community.id,
        ),
    )
    services.approve(record, world.users["community_secretary"])
    db.session.commit()
    return record


def _status(record_id: int) -> str:
    db.session.expire_all()
    return db.session.get(ServiceRecord, record_id).status


def test_a_refused_button_goes_back_to_the_page_it_was_pressed_on_with_the_message(login, approved):
    member = login("13800000001")
    page = f"/service/records/{approved.id}"
    response = member.post(f"{page}/withdraw", headers={"Referer": f"http://localhost{page}"})
    assert response.status_code == 303 and response.headers["Location"] == page
    shown = member.get(page).get_data(as_text=True)
    assert REFUSED in shown and "notice--error" in shown
    assert _status(approved.id) == "approved"


def test_the_form_s_next_comes_before_the_referrer(login, approved):
    member = login("13800000001")
    response = member.post(
        f"/service/records/{approved.id}/withdraw",
        {"next": "/service/my?year=2020"},
        headers={"Referer": f"http://localhost/service/records/{approved.id}"},
    )
    assert response.headers["Location"] == "/service/my?year=2020"


@pytest.mark.parametrize(
    "referrer",
    [
        None,
        "http://elsewhere.example/service/my",  # another site
        "http://localhost/service/records/{id}/withdraw",  # a page shown at a POST-only address
        "http://localhost//elsewhere.example/",
        "http://localhost/no/such/page",
    ],
)
def test_without_a_page_to_go_back_to_a_refusal_goes_home(login, approved, referrer):
    member = login("13800000001")
    headers = {"Referer": referrer.format(id=approved.id)} if referrer else {}
    response = member.post(
        f"/service/records/{approved.id}/withdraw", {"next": "https://evil.example/"}, headers=headers
    )
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert REFUSED in member.get("/").get_data(as_text=True)


def test_an_htmx_fragment_request_gets_the_message_out_of_band_in_the_alert_region(login, approved):
    member = login("13800000001")
    response = member.post(f"/service/records/{approved.id}/withdraw", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in html
    assert 'id="alerts"' in html and 'hx-swap-oob="true"' in html and REFUSED in html
    # Not flashed as well: the next page does not say it again.
    assert REFUSED not in member.get("/").get_data(as_text=True)


def test_a_boosted_request_is_answered_like_a_plain_one(login, approved):
    member = login("13800000001")
    page = f"/service/records/{approved.id}"
    response = member.post(
        f"{page}/withdraw", headers={**HX, "HX-Boosted": "true", "Referer": f"http://localhost{page}"}
    )
    assert response.status_code == 303 and response.headers["Location"] == page


def test_a_refused_form_shows_the_message_in_its_summary(login, world):
    city = login("city_org")
    city.get("/categories")
    assert city.post("/categories", {"name": "助老助残"}).status_code == 303
    again = city.post("/categories", {"name": "助老助残"})
    html = again.get_data(as_text=True)
    assert again.status_code == 422 and 'class="error-summary"' in html
    assert "There is already a category called 助老助残." in html and 'class="field-error"' in html


class _NameForm(FlaskForm):
    class Meta:
        csrf = False

    name = StringField()


def _refuse_after_a_write(form: _NameForm | None, error: ServiceError):
    with refused(form) as refusal:
        db.session.add(ServiceCategory(name="写了又撤"))
        db.session.flush()
        raise error
    return refusal


def _categories() -> int:
    return db.session.scalar(select(func.count(ServiceCategory.id)))


def test_refused_rolls_back_and_puts_the_message_under_the_field_it_names(app, ctx):
    with app.test_request_context("/", method="POST"):
        form = _NameForm()
        refusal = _refuse_after_a_write(form, ServiceError("Taken.", "name"))
        assert refusal and refusal.message == "Taken."
        assert form.name.errors == ["Taken."] and form.form_errors == []
        assert _categories() == 0


@pytest.mark.parametrize("field", [None, "nickname", "meta", "data"])
def test_refused_keeps_a_message_for_no_field_of_the_form_as_the_form_s_own(app, ctx, field):
    with app.test_request_context("/", method="POST"):
        form = _NameForm()
        refusal = _refuse_after_a_write(form, ServiceError("Not now.", field))
        assert refusal.message == "Not now." and form.form_errors == ["Not now."] and not form.name.errors
        assert _categories() == 0


def test_refused_lets_everything_else_through(app, ctx):
    with app.test_request_context("/", method="POST"):
        with refused() as refusal:
            db.session.add(ServiceCategory(name="通过"))
        assert not refusal and refusal.message is None
        with pytest.raises(KeyError), refused():
            raise KeyError("not a refusal")


def test_a_page_refused_on_get_shows_an_error_page_rather_than_going_back(client, monkeypatch):
    """Sent back to where it came from, a page reloaded would come back to itself, again and again."""

    def refuse(serial):
        raise ServiceError("Certificates cannot be checked right now.")

    monkeypatch.setattr(services, "find_certificate", refuse)
    response = client.get("/verify/ABC", headers={"Referer": "http://localhost/verify/ABC"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Not possible" in html
    assert "Certificates cannot be checked right now." in html
