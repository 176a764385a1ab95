"""Running the same attempt from several threads at once, as requests from several workers would."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from kmvolunteer.extensions import db

T = TypeVar("T")


def run_together(app, n: int, attempt: Callable[[int], T]) -> list[T]:
    """``attempt(0)`` … ``attempt(n - 1)``, each in a thread with its own app context and database session,
    released together by a barrier; their results in the order they finished."""
    barrier = threading.Barrier(n, timeout=30)
    results: list[T] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                result = attempt(index)
            finally:
                db.session.remove()
            with lock:
                results.append(result)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results
