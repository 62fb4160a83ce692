"""What intake staged in its outbox, read back by the tests of several features."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text

from comitas_shared.db import Database


async def outbox(stack: Any, event_type: str) -> list[dict]:
    """Every envelope of ``event_type`` in intake's outbox, decoded (SQLite keeps the JSON as text)."""
    database = Database(stack.database_urls["intake"])
    try:
        async with database.transaction() as session:
            rows = (await session.execute(text("SELECT envelope FROM outbox WHERE event_type = :t"),
                                          {"t": event_type})).all()
    finally:
        await database.dispose()
    return [json.loads(r.envelope) if isinstance(r.envelope, str) else r.envelope for r in rows]
