"""Roster import: the whole file is checked first; a clean file imports in one transaction."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from kmvolunteer.auth.models import User
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.extensions import db
from kmvolunteer.org import roster
from kmvolunteer.org.models import Member

HEADER = ["姓名", "手机号", "单位", "支部", "职务"]


def _csv(rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    return "\n".join(",".join(r) for r in [HEADER] + rows).encode(encoding)


def _xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _counts() -> tuple[int, int]:
    return (db.session.scalar(select(func.count(Member.id))), db.session.scalar(select(func.count(User.id))))


def _check(world, data: bytes, name: str = "r.csv"):
    return roster.check_roster(roster.read_table(name, data), [world.branch, world.branch2])


def test_clean_csv_imports_members_with_accounts(world, app):
    data = _csv(
        [
            ["赵一", "13911110001", "五华区民政局", "机关党支部", "科员"],
            ["钱二", "139 1111 0002", "五华区民政局", "离退休干部党支部", ""],
        ]
    )
    check = _check(world, data)
    assert check.clean
    imported = roster.import_roster(check, source="r.csv")
    db.session.commit()
    assert [i.member.phone for i in imported] == ["13911110001", "13911110002"]
    user = db.session.scalar(select(User).where(User.username == "13911110002"))
    assert user.must_change_password and user.member.branch_id == world.branch2.id


def test_xlsx_with_numeric_phones_and_gbk_csv_are_read(world):
    assert _check(world, _xlsx([["孙三", 13911110003, "五华区民政局", "机关党支部", None]]), "r.xlsx").clean
    gbk = _csv([["李四", "13911110004", "五华区民政局", "机关党支部", "科员"]], encoding="gb18030")
    assert _check(world, gbk).clean


@pytest.mark.parametrize(
    "row, reason",
    [
        (["", "13911110005", "五华区民政局", "机关党支部", ""], "name"),
        (["周五", "1234", "五华区民政局", "机关党支部", ""], "1234"),
        (["吴六", "13911110006", "五华区民政局", "不存在的支部", ""], "不存在的支部"),
        (["郑七", "13911110007", "官渡区城市管理局", "机关党支部", ""], "官渡区城市管理局"),  # not theirs
        (["王八", "13800000001", "五华区民政局", "机关党支部", ""], "13800000001"),  # already a member
    ],
)
def test_each_kind_of_bad_row_is_reported_with_its_row_number(world, row, reason, app):
    good = ["冯九", "13911110009", "五华区民政局", "机关党支部", ""]
    with app.test_request_context(headers={"Accept-Language": "en"}):
        check = _check(world, _csv([good, row]))
    assert not check.clean
    assert [line for line, _ in check.problems] == [3]
    assert reason in check.problems[0][1] or reason == "name"
    with pytest.raises(ServiceError):
        roster.import_roster(check, source="r.csv")
    assert _counts() == (3, 12)


def test_duplicate_rows_in_one_file(world):
    row = ["陈十", "13911110010", "五华区民政局", "机关党支部", ""]
    check = _check(world, _csv([row, row]))
    assert [line for line, _ in check.problems] == [3]
    assert "2" in check.problems[0][1]


@pytest.mark.parametrize(
    "name, data, fragment",
    [
        ("r.txt", b"x", "xlsx"),
        ("r.xlsx", b"not a zip", "XLSX"),
        ("r.xlsx", b"PK\x03\x04broken", "XLSX"),
        ("r.csv", "姓名,手机号\n张三,13911110011\n".encode(), "单位"),
        ("r.csv", b"", ""),
        ("r.csv", b"\xff\xfe\x00bad", ""),
    ],
)
def test_unreadable_files_are_refused_clearly(world, name, data, fragment):
    with pytest.raises(ServiceError) as excinfo:
        _check(world, data, name)
    assert fragment.lower() in excinfo.value.message.lower()


def test_file_too_large_is_refused(world, app):
    with pytest.raises(ServiceError):
        roster.read_table("r.csv", b"a" * (app.config["ROSTER_MAX_BYTES"] + 1))


def test_upload_over_http_lists_problems_and_writes_nothing(login, world):
    b = login("branch_secretary")
    b.get("/roster/import")
    data = _csv(
        [["赵一", "13911110001", "五华区民政局", "机关党支部", ""], ["", "139", "五华区民政局", "离退休干部党支部", ""]]
    )  # branch2 is not theirs either
    response = b.post("/roster/import", {"file": (io.BytesIO(data), "r.csv")}, content_type="multipart/form-data")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert '<td class="num">3</td>' in html
    assert _counts() == (3, 12)


def test_upload_over_http_imports_and_shows_passwords_once(login, world):
    b = login("branch_secretary")
    b.get("/roster/import")
    data = _csv([["赵一", "13911110001", "五华区民政局", "机关党支部", "科员"]])
    response = b.post("/roster/import", {"file": (io.BytesIO(data), "r.csv")}, content_type="multipart/form-data")
    assert response.status_code == 200
    assert "13911110001" in response.get_data(as_text=True)
    assert _counts() == (4, 13)


def test_import_page_and_template_need_the_right_role(login, world):
    for name in ("community_secretary", "member", "department_officer"):
        b = login("13800000001" if name == "member" else name)
        assert b.get("/roster/import").status_code == 404
        assert b.get("/roster/template.xlsx").status_code == 404


def test_template_files_have_the_columns(login, world):
    b = login("branch_secretary")
    xlsx = b.get("/roster/template.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert [c.value for c in sheet[1]] == HEADER
    csv_file = b.get("/roster/template.csv")
    assert csv_file.data.startswith("\ufeff".encode())
    assert csv_file.data.decode("utf-8-sig").splitlines()[0] == ",".join(HEADER)


def test_add_one_member_by_hand(login, world):
    b = login("branch_secretary")
    b.get(f"/branches/{world.branch.id}")
    bad = b.post(f"/branches/{world.branch.id}/members", {"name": "韩梅", "phone": "12"})
    assert bad.status_code == 422
    ok = b.post(f"/branches/{world.branch.id}/members", {"name": "韩梅", "phone": "13911119999", "post": "科员"})
    assert ok.status_code == 200 and "13911119999" in ok.get_data(as_text=True)
    assert b.post(f"/branches/{world.branch2.id}/members", {"name": "x", "phone": "13911119998"}).status_code == 404
