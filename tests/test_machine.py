"""The declared state machines (core/machine.py): the order of a transition, its refusals, its event."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from kmvolunteer.core import machine
from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.extensions import db
from kmvolunteer.reportin.models import REPORT_INS, ReportIn, ReportInStatus
from tests.factories import make_report_in

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the machine's messages, written in English."""


@pytest.fixture
def events():
    """Every machine.transitioned event sent during the test, as (sender, kwargs)."""
    seen: list[tuple[type, dict]] = []

    def receiver(sender, **kw):
        seen.append((sender, kw))

    machine.transitioned.connect(receiver)
    yield seen
    machine.transitioned.disconnect(receiver)


def _audit(ri: ReportIn) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry).where(AuditEntry.object_type == "ReportIn", AuditEntry.object_id == ri.id)
        )
    )


def test_a_transition_updates_audits_and_announces(world, events):
    ri = make_report_in(world.members["member"], world.community)
    db.session.commit()
    secretary = world.users["community_secretary"]
    REPORT_INS.perform(ri, "reject", actor_id=secretary.id, scope_path=world.community.path, reason="  不在辖区  ")
    db.session.commit()
    db.session.expire_all()
    assert (ri.status, ri.reason) == ("rejected", "不在辖区")
    (entry,) = _audit(ri)
    assert entry.action == "reportin.rejected" and entry.actor_id == secretary.id
    assert entry.before_data() == {"status": "pending", "reason": ""}
    assert entry.after_data() == {"status": "rejected", "reason": "不在辖区"}
    ((sender, kw),) = events
    assert sender is ReportIn and kw["transition"].action == "reject" and kw["previous"]["status"] == "pending"


def test_the_object_is_current_without_a_reload(world):
    ri = make_report_in(world.members["member"], world.community)
    db.session.commit()
    REPORT_INS.perform(ri, "withdraw", actor_id=None, scope_path="/")
    assert ri.status == "withdrawn" and not db.session.is_modified(ri)


def test_a_transition_from_another_status_is_refused_and_changes_nothing(world, events):
    ri = make_report_in(world.members["member"], world.community, status="confirmed")
    db.session.commit()
    with pytest.raises(ServiceError, match="already confirmed"):
        REPORT_INS.perform(ri, "confirm", actor_id=None, scope_path="/")
    db.session.rollback()
    assert ri.status == "confirmed" and not _audit(ri) and not events


def test_a_stale_object_loses_to_the_first_decision(world, events):
    ri = make_report_in(world.members["member"], world.community)
    db.session.commit()
    db.session.execute(text("UPDATE report_in SET status = 'withdrawn' WHERE id = :id"), {"id": ri.id})
    with pytest.raises(ServiceError, match="Someone else has already changed this report-in: it is now withdrawn"):
        REPORT_INS.perform(ri, "confirm", actor_id=None, scope_path="/")
    db.session.rollback()
    assert not _audit(ri) and not events


def test_people_are_asked_by_policy_and_nobody_decides_about_themselves(world):
    member = world.members["member"]
    ri = make_report_in(member, world.community)
    db.session.commit()
    with pytest.raises(ServiceError, match="not within your scope"):
        REPORT_INS.perform(ri, "confirm", actor_id=world.users["other_member"].id, scope_path="/")
    db.session.rollback()
    record_owner = world.users["member"]
    from kmvolunteer.service.models import RECORDS
    from tests.factories import make_record

    record = make_record(member, world.community, date.today(), status="submitted")
    db.session.commit()
    with pytest.raises(ServiceError, match="You cannot decide your own entry"):
        RECORDS.perform(record, "approve", actor_id=record_owner.id, scope_path="/")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_a_required_reason_is_asked_for(world):
    ri = make_report_in(world.members["member"], world.community)
    db.session.commit()
    with pytest.raises(ServiceError, match="Give a reason for rejecting") as refused:
        REPORT_INS.perform(ri, "reject", actor_id=None, scope_path="/", reason="   ")
    assert refused.value.field == "reason"


def test_a_declaration_names_only_known_statuses():
    with pytest.raises(ValueError, match="unknown statuses"):
        machine.Machine(
            ReportIn,
            ReportInStatus,
            [machine.Transition("lose", ("pending",), "lost", "reportin.decide", "reportin.lost")],
            labels={},
            noun="x",
        )
    assert machine.MACHINES["report_in"] is REPORT_INS


def test_every_policy_action_a_machine_names_exists():
    from kmvolunteer.auth.policy import RULES

    named = {t.allowed_by for m in machine.MACHINES.values() for t in m.transitions.values()}
    assert named <= set(RULES)


def _updated_model(call: ast.Call) -> str | None:
    """The name X of ``update(X)`` at the head of a ``update(X).where(…).values(…)`` chain."""
    node: ast.AST = call.func
    while isinstance(node, ast.Attribute | ast.Call):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "update":
            first = node.args[0] if node.args else None
            return first.id if isinstance(first, ast.Name) else None
        node = node.value if isinstance(node, ast.Attribute) else node.func
    return None


def test_no_status_is_written_by_hand():
    """Outside core/machine.py no ``update(Entity)…values(status=…)`` of an entity with a machine."""
    declared = {m.model.__name__ for m in machine.MACHINES.values()}
    offenders = []
    for path in sorted((ROOT / "kmvolunteer").rglob("*.py")):
        if path.name == "machine.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            values = isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "values"
            if values and any(k.arg == "status" for k in node.keywords) and _updated_model(node) in declared:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders


def test_the_documentation_is_the_declarations():
    assert (ROOT / "docs" / "state-machines.md").read_text(encoding="utf-8") == machine.markdown()


def test_no_feature_imports_the_tallies():
    """Derived data follows events: org, reportin, service, reports and the demo never import tallies."""
    paths = [ROOT / "kmvolunteer" / "demo.py"]
    for package in ("org", "reportin", "service", "reports", "years"):
        paths += (ROOT / "kmvolunteer" / package).rglob("*.py")
    for path in paths:
        assert "kmvolunteer.tallies" not in path.read_text(encoding="utf-8"), path
