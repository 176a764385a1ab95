"""Online backup of the embedded SQLite database with SQLite's backup API."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from kmvolunteer.config import INSTANCE_DIR


def backup_sqlite(engine: Engine, output: str | None = None) -> Path:
    """Copy the live database page by page into ``output``; readers and writers may go on meanwhile."""
    if engine.dialect.name != "sqlite":
        raise ValueError(
            "backup copies the embedded SQLite database; for PostgreSQL use pg_dump (see README, 'Backups')."
        )
    source_path = engine.url.database
    if not source_path:
        raise ValueError("the SQLite database is in memory; there is nothing to back up")
    target = Path(output) if output else (INSTANCE_DIR / "backups" / f"kmvolunteer-{datetime.now():%Y%m%d-%H%M%S}.db")
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        raise ValueError(f"{target} exists already; choose another name")
    source = sqlite3.connect(source_path, timeout=30)
    destination = sqlite3.connect(target)
    try:
        with destination:
            source.backup(destination, pages=1024)
        check = destination.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise ValueError(f"the copy failed its integrity check: {check}")
    finally:
        destination.close()
        source.close()
    return target
