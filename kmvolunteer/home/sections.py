"""Feature packages add their own part of each role's home page here.

A section is a template plus a function that returns its context for a user,
or None when the user has nothing to see in it. A section that names the stamps
of what it shows (core/stamps.py) is rendered once and kept until one of them changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import render_template
from flask_babel import get_locale
from markupsafe import Markup

from kmvolunteer.auth.models import User
from kmvolunteer.core import stamps
from kmvolunteer.core.time import local_today

SectionFn = Callable[[User], "dict[str, Any] | None"]
StampsFn = Callable[[User], "list[str] | None"]


@dataclass(frozen=True)
class Section:
    order: int
    template: str
    context: SectionFn
    stamps: StampsFn | None

    def render(self, user: User) -> Markup:
        context = self.context(user)
        return Markup(render_template(self.template, section=context)) if context is not None else Markup()


SECTIONS: list[Section] = []


def home_section(template: str, order: int = 50, *, stamps: StampsFn | None = None) -> Callable[[SectionFn], SectionFn]:
    """Register a section; lower ``order`` comes first (what a user does most goes on top).

    ``stamps(user)`` lists the stamps of everything the section shows for that user; the day,
    the language and the user are added to them.
    """

    def register(fn: SectionFn) -> SectionFn:
        SECTIONS.append(Section(order, template, fn, stamps))
        SECTIONS.sort(key=lambda section: section.order)
        return fn

    return register


def member_stamps(user: User) -> list[str] | None:
    """A member's own sections show their records, the rules of the year and the names of places."""
    member = user.member
    if member is None or not member.active:
        return None
    return [f"member:{member.id}", "rules", "org"]


def sections_for(user: User) -> list[Markup]:
    keys = {section.template: section.stamps(user) if section.stamps else None for section in SECTIONS}
    stamps.versions(k for section_keys in keys.values() if section_keys for k in section_keys)
    vary = (user.id, str(get_locale()), local_today())
    rendered = []
    for section in SECTIONS:
        section_keys = keys[section.template]
        if section_keys is None:
            html = section.render(user)
        else:
            html = stamps.cached(section.template, section_keys, lambda s=section: s.render(user), vary=vary)
        if html:
            rendered.append(html)
    return rendered
