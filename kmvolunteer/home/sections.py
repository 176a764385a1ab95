"""Feature packages add their own part of each role's home page here.

A section is a template plus a function that returns its context for a user,
or None when the user has nothing to see in it.
"""
from __future__ import annotations

from typing import Any, Callable

from kmvolunteer.auth.models import User

SectionFn = Callable[[User], "dict[str, Any] | None"]
SECTIONS: list[tuple[str, SectionFn]] = []


def home_section(template: str) -> Callable[[SectionFn], SectionFn]:
    def register(fn: SectionFn) -> SectionFn:
        SECTIONS.append((template, fn))
        return fn

    return register


def sections_for(user: User) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for template, fn in SECTIONS:
        context = fn(user)
        if context is not None:
            found.append((template, context))
    return found
