"""Every action code the code writes to the audit log has a label, in English and in Chinese.

The codes are collected from the source: the first argument of every ``audit.record(...)`` call, as
a string, either side of a conditional, a variable (the strings assigned or passed to that name in
the same module), or an f-string expanded over the values its placeholders can take.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from flask_babel import force_locale

from kmvolunteer.audit.labels import ACTIONS
from kmvolunteer.core.machine import MACHINES
from kmvolunteer.reportin.models import ProjectStatus

PACKAGE = Path(__file__).resolve().parents[1] / "kmvolunteer"
CODE = re.compile(r"^[a-z_]+\.[a-z_]+$")
# What the placeholders of f-string codes can be: a new placeholder must be added here.
PLACEHOLDERS = {"side": ["branch", "community"]}
# core/machine.py writes the code its transition declares.
DECLARED = "t.audit"


def _is_audit_record(call: ast.Call) -> bool:
    func = call.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "record"
        and isinstance(func.value, ast.Name)
        and func.value.id == "audit"
    )


def _strings(node: ast.AST) -> list[str]:
    """The string constants an expression can give (both sides of a conditional)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def _names_given(tree: ast.Module, name: str) -> list[str]:
    """Strings assigned to ``name`` or passed as ``name=`` anywhere in the module."""
    found = []
    for node in ast.walk(tree):
        assigned = isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
        if assigned or isinstance(node, ast.keyword) and node.arg == name:
            found += _strings(node.value)
    return [value for value in found if CODE.match(value)]


def _expand(node: ast.JoinedStr, where: str) -> list[str]:
    codes = [""]
    for part in node.values:
        if isinstance(part, ast.Constant):
            codes = [code + part.value for code in codes]
        else:
            name = ast.unparse(part.value)
            assert name in PLACEHOLDERS, f"{where}: say in PLACEHOLDERS what {{{name}}} can be"
            codes = [code + value for code in codes for value in PLACEHOLDERS[name]]
    return codes


def written_codes() -> dict[str, str]:
    """code → where it is written."""
    codes: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call) and _is_audit_record(n)):
            where = f"{path.relative_to(PACKAGE.parent)}:{call.lineno}"
            first = call.args[0] if call.args else next(k.value for k in call.keywords if k.arg == "action")
            if ast.unparse(first) == DECLARED:
                found = [t.audit for machine in MACHINES.values() for t in machine.transitions.values()]
            elif isinstance(first, ast.JoinedStr):
                found = _expand(first, where)
            elif isinstance(first, ast.Name):
                found = _names_given(tree, first.id)
            else:
                found = _strings(first)
            assert found, f"{where}: cannot tell which action codes {ast.unparse(first)} can be"
            for code in found:
                codes.setdefault(code, where)
    return codes


def test_the_scan_finds_every_kind_of_code(app):
    codes = written_codes()
    assert {
        "auth.login",
        "user.deactivated",
        "service.approved",
        "project.done",
        "reportin.reminded",
        "report.acknowledged_by_community",
        "service.resubmitted",
    } <= set(codes)


def test_every_audit_action_code_has_a_label_in_both_languages(app):
    missing = {code: where for code, where in written_codes().items() if code not in ACTIONS}
    assert not missing, f"audit actions without a label in kmvolunteer/audit/labels.py: {missing}"
    with app.test_request_context():
        untranslated = []
        for code, label in ACTIONS.items():
            with force_locale("en"):
                english = str(label)
            with force_locale("zh_Hans_CN"):
                chinese = str(label)
            if chinese == english or not re.search(r"[\u4e00-\u9fff]", chinese):
                untranslated.append((code, english))
    assert not untranslated, f"audit labels without a Chinese translation: {untranslated}"


def test_every_status_of_an_audited_record_reads_in_words_in_both_languages(app):
    from kmvolunteer.audit.labels import STATUSES
    from kmvolunteer.reportin.models import NeedStatus, ReportInStatus
    from kmvolunteer.reports.models import ReportStatus, SheetStatus
    from kmvolunteer.service.models import RecordStatus

    declared = {
        "ServiceRecord": RecordStatus,
        "ReportIn": ReportInStatus,
        "Project": ProjectStatus,
        "Need": NeedStatus,
        "Report": ReportStatus,
        "FeedbackSheet": SheetStatus,
    }
    for kind, statuses in declared.items():
        assert {s.value for s in statuses} <= set(STATUSES[kind]), kind
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        for kind, words in STATUSES.items():
            for code, label in words.items():
                assert re.search(r"[\u4e00-\u9fff]", str(label)), (kind, code, str(label))


def test_the_audit_log_shows_codes_in_words(login, world):
    from tests.factories import make_report_in

    make_report_in(world.members["member"], world.community)
    from kmvolunteer.extensions import db

    db.session.commit()
    secretary = login("community_secretary")
    queue = secretary.get(f"/communities/{world.community.id}/queue").get_data(as_text=True)
    report_in_id = re.search(r"/report-ins/(\d+)/confirm", queue).group(1)
    assert secretary.post(f"/report-ins/{report_in_id}/confirm").status_code in (200, 303)
    rows = login("district_org").get("/audit/").get_data(as_text=True).split("<tbody>")[-1]
    assert "<del>待确认</del> → <ins>已确认</ins>" in rows
    assert "pending" not in rows and "confirmed" not in rows
