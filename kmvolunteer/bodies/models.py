"""A joint body (社区"大党委" of a community, 街道党建联盟 of a subdistrict), its member units (agencies of the
site, companies, schools, hospitals, social organizations, property companies), its part-time members
(兼职委员: a person and the unit they represent, with term dates) and, for an alliance, the monthly
rotating chair (轮值主席)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kmvolunteer.core.db import known_statuses
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Agency, Area
from kmvolunteer.reportin.models import Need


class BodyKind(str, enum.Enum):
    committee = "committee"  # 社区"大党委", of a community
    alliance = "alliance"  # 街道党建联盟, of a subdistrict


BODY_LEVELS = {BodyKind.committee.value: "community", BodyKind.alliance.value: "subdistrict"}
BODY_LABELS = {BodyKind.committee.value: _l("Community party committee"), BodyKind.alliance.value: _l("Party alliance")}


class UnitKind(str, enum.Enum):
    agency = "agency"  # an agency of the site (机关单位)
    company = "company"
    school = "school"
    hospital = "hospital"
    social_org = "social_org"
    property = "property"  # 物业企业


UNIT_LABELS = {
    UnitKind.agency.value: _l("Government agency"),
    UnitKind.company.value: _l("Company"),
    UnitKind.school.value: _l("School"),
    UnitKind.hospital.value: _l("Hospital"),
    UnitKind.social_org.value: _l("Social organization"),
    UnitKind.property.value: _l("Property company"),
}


class JointBody(db.Model):
    __tablename__ = "joint_body"
    __table_args__ = (known_statuses(BodyKind, "kind"), UniqueConstraint("area_id", name="uq_joint_body_area"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    area: Mapped[Area] = relationship()
    units: Mapped[list[BodyUnit]] = relationship(back_populates="body", order_by="BodyUnit.id")


class BodyUnit(db.Model):
    """A member unit of a body: an agency of the site, or another organization named here."""

    __tablename__ = "body_unit"
    __table_args__ = (known_statuses(UnitKind, "kind"), UniqueConstraint("body_id", "name", name="uq_body_unit_name"))

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("joint_body.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)

    body: Mapped[JointBody] = relationship(back_populates="units")
    agency: Mapped[Agency | None] = relationship()


class BodyMember(db.Model):
    """兼职委员: a person on the body, for the unit they represent, for a term."""

    __tablename__ = "body_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("joint_body.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("body_unit.id"))
    name: Mapped[str] = mapped_column(String(50))
    post: Mapped[str] = mapped_column(String(100), default="")  # their post in the unit
    term_start: Mapped[date]
    term_end: Mapped[date]

    unit: Mapped[BodyUnit] = relationship()


class ChairMonth(db.Model):
    """轮值主席: the member unit chairing an alliance in one month (the month's first day)."""

    __tablename__ = "chair_month"

    body_id: Mapped[int] = mapped_column(ForeignKey("joint_body.id"), primary_key=True)
    month: Mapped[date] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("body_unit.id"))

    unit: Mapped[BodyUnit] = relationship()


class Attendance(str, enum.Enum):
    present = "present"
    excused = "excused"  # 请假
    absent = "absent"


ATTENDANCE_LABELS = {
    Attendance.present.value: _l("Present"),
    Attendance.excused.value: _l("Excused"),
    Attendance.absent.value: _l("Absent"),
}


class JointMeeting(db.Model):
    """联席会议: a meeting of a body — when and where, its topics and decisions, who came; a decision may have
    published a need on the three lists (linked here)."""

    __tablename__ = "joint_meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("joint_body.id"), index=True)
    held_on: Mapped[date]
    place: Mapped[str] = mapped_column(String(100), default="")
    topics: Mapped[str] = mapped_column(Text)
    decisions: Mapped[str] = mapped_column(Text, default="")
    need_id: Mapped[int | None] = mapped_column(ForeignKey("need.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    body: Mapped[JointBody] = relationship()
    need: Mapped[Need | None] = relationship()
    attendance: Mapped[list[MeetingAttendance]] = relationship(order_by="MeetingAttendance.unit_id")


class MeetingAttendance(db.Model):
    __tablename__ = "meeting_attendance"
    __table_args__ = (known_statuses(Attendance),)

    meeting_id: Mapped[int] = mapped_column(ForeignKey("joint_meeting.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("body_unit.id"), primary_key=True, index=True)
    status: Mapped[str] = mapped_column(String(8))

    unit: Mapped[BodyUnit] = relationship()
