"""Feature packages add their own part of each role's home page here.

A section is a template plus a function that returns its context for a user,
or None when the user has nothing to see in it.
"""
from __future__ import annotations

from typing import Any, Callable

from kmvolunteer.auth.models import User

SectionFn = Callable[[User], "dict[str, Any] | None"]
SECTIONS: list[tuple[int, str, SectionFn]] = []


def home_section(template: str, order: int = 50) -> Callable[[SectionFn], SectionFn]:
    """Register a section; lower ``order`` comes first (what a user does most goes on top)."""
    def register(fn: SectionFn) -> SectionFn:
        SECTIONS.append((order, template, fn))
        SECTIONS.sort(key=lambda section: section[0])
        return fn

    return register


def sections_for(user: User) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for _order, template, fn in SECTIONS:
        context = fn(user)
        if context is not None:
            found.append((template, context))
    return found
