"""Demo data for this feature, added by `flask seed-demo` after the places and people."""
from __future__ import annotations

import random
from typing import Callable


def seed(*, rng: random.Random, generated: bool, echo: Callable[[str], None]) -> None:
    """Fill in this feature's demo data (bulk inserts when ``generated`` is a city-scale run)."""
