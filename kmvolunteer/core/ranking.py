"""Ranks the house way: best first, and equal scores share a rank (1, 1, 3)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def shared_ranks(ordered: Sequence[T], score: Callable[[T], Any]) -> list[int]:
    """The rank of each of ``ordered`` (sorted best first): its position, or the rank of the one before it
    when their scores are equal."""
    ranks: list[int] = []
    previous = None
    for position, item in enumerate(ordered, start=1):
        current = score(item)
        ranks.append(ranks[-1] if ranks and current == previous else position)
        previous = current
    return ranks
