"""Feature packages add their own part of each role's home page here.

A section is a template plus a function that returns its context for a user,
or None when the user has nothing to see in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import render_template
from markupsafe import Markup

from kmvolunteer.auth.models import User

SectionFn = Callable[[User], "dict[str, Any] | None"]


@dataclass(frozen=True)
class Section:
    order: int
    template: str
    context: SectionFn

    def render(self, user: User) -> Markup:
        context = self.context(user)
        return Markup(render_template(self.template, section=context)) if context is not None else Markup()


SECTIONS: list[Section] = []


def home_section(template: str, order: int = 50) -> Callable[[SectionFn], SectionFn]:
    """Register a section; lower ``order`` comes first (what a user does most goes on top)."""

    def register(fn: SectionFn) -> SectionFn:
        SECTIONS.append(Section(order, template, fn))
        SECTIONS.sort(key=lambda section: section.order)
        return fn

    return register


def sections_for(user: User) -> list[Markup]:
    return [html for html in (section.render(user) for section in SECTIONS) if html]
