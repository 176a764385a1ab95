"""Where in a community a need or a whistle is: one of its estates (小区) or grids (网格), carried as a link.

A form offers ``spot_choices``; a service turns the chosen key back into the estate and its grid (or the
grid alone) with ``locate``, which refuses another community's or a retired one.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.text import parse_id
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Estate, Grid


def spot_choices(community_id: int) -> list[tuple[str, str]]:
    """The community's estates in use (each with its grid) and its grids, as (key, label)."""
    estates = db.session.scalars(
        select(Estate)
        .where(Estate.community_id == community_id, Estate.active.is_(True))
        .options(selectinload(Estate.grid))
        .order_by(Estate.name)
    )
    grids = db.session.scalars(
        select(Grid).where(Grid.community_id == community_id, Grid.active.is_(True)).order_by(Grid.name)
    )
    choices = [("", _("— not in an estate or grid —"))]
    for e in estates:
        label = _("%(estate)s (in %(grid)s)", estate=e.name, grid=e.grid.name) if e.grid else e.name
        choices.append((f"estate:{e.id}", label))
    choices += [(f"grid:{g.id}", _("Grid: %(name)s", name=g.name)) for g in grids]
    return choices


def locate(community_id: int, key: str | None) -> tuple[Estate | None, Grid | None]:
    """The estate (with its grid) or the grid that ``key`` names, of ``community_id``; (None, None) for none."""
    if not key:
        return None, None
    kind, _sep, raw = key.partition(":")
    model = {"estate": Estate, "grid": Grid}.get(kind)
    found = db.session.get(model, parse_id(raw)) if model is not None and parse_id(raw) else None
    if found is None or found.community_id != community_id or not found.active:
        raise ServiceError(_("Choose one of this community's estates or grids."), field="spot")
    if isinstance(found, Estate):
        return found, found.grid
    return None, found
