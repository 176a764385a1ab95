"""Human names of roles, for menus and tables."""

from flask_babel import lazy_gettext as _l

from kmvolunteer.auth.models import Role

ROLE_LABELS = {
    Role.member: _l("Party member"),
    Role.branch_secretary: _l("Branch secretary"),
    Role.community_secretary: _l("Community secretary"),
    Role.subdistrict_officer: _l("Subdistrict officer"),
    Role.department_officer: _l("Department officer"),
    Role.org_department: _l("Organization department"),
    Role.agency_party_org: _l("Agency party organization"),
    Role.agency_work_committee: _l("Agency work committee"),
}

LEVEL_LABELS = {
    "city": _l("City"),
    "district": _l("District"),
    "subdistrict": _l("Subdistrict"),
    "community": _l("Community"),
}
