"""The open API against its own OpenAPI document (schemathesis): for generated arguments and bodies, valid and
not, every operation answers without a 5xx, with a status the document lists and a body its schema allows."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

from kmvolunteer.api import tokens
from kmvolunteer.api.models import SCOPES
from kmvolunteer.extensions import db
from tests.factories import make_need, service_report_in


@pytest.fixture
def api_schema(app, world):
    service_report_in(world.members["member"], world.community)
    make_need(world.community, title="助老", headcount=50)
    db.session.commit()
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.fixture
def bearer(world) -> dict:
    _token, secret = tokens.create_personal(world.users["member"], "契约测试", list(SCOPES), 30)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_its_contract(case, bearer):
    case.call_and_validate(
        headers=bearer, checks=[not_a_server_error, status_code_conformance, response_schema_conformance]
    )
