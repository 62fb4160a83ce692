"""Pruning keeps what may still matter: unpublished events, recent ids, recent keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from comitas_shared import migrations
from comitas_shared.db import Database
from comitas_shared.housekeeping import prune
from comitas_shared.testing import drop_database, fresh_database_url


async def test_prune_removes_only_what_is_past_its_retention(tmp_path):
    from comitas_intake.models import tables

    url = fresh_database_url("housekeeping", tmp_path)
    migrations.upgrade("comitas_intake", url)
    database = Database(url)
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    old, recent = now - timedelta(days=40), now - timedelta(hours=1)
    try:
        async with database.transaction() as session:
            for n, (published, occurred) in enumerate([(old, old), (None, old), (recent, recent)]):
                await session.execute(insert(tables.outbox).values(
                    event_id=f"e{n}", event_type="comitas.complaint.submitted", subject="events.complaint.submitted",
                    occurred_at=occurred, envelope={}, published_at=published, attempts=1))
            await session.execute(insert(tables.inbox).values(consumer="c", event_id="old", handled_at=old))
            await session.execute(insert(tables.inbox).values(consumer="c", event_id="new", handled_at=recent))
            for key, state, created in (("done-old", "done", old), ("running-old", "running", old),
                                        ("done-new", "done", recent)):
                await session.execute(insert(tables.idempotency).values(
                    institution_id="i", operation="o", key=key, request_hash="h", state=state, created_at=created))
            for key, expires in (("gone", now - timedelta(seconds=1)), ("live", now + timedelta(seconds=30))):
                await session.execute(insert(tables.throttle).values(key=key, at=now - timedelta(seconds=30),
                                                                     expires_at=expires))
        removed = await prune(database, tables, now=now)
        assert removed == {"outbox": 1, "inbox": 1, "idempotency": 2, "throttle": 1}
        async with database.transaction() as session:
            left = (await session.execute(select(tables.outbox.c.event_id).order_by(tables.outbox.c.event_id))).scalars()
            assert list(left) == ["e1", "e2"]  # the unpublished one stays, however old
            assert (await session.execute(select(func.count()).select_from(tables.inbox))).scalar_one() == 1
            keys = (await session.execute(select(tables.idempotency.c.key))).scalars()
            assert list(keys) == ["done-new"]
            hits = (await session.execute(select(tables.throttle.c.key))).scalars()
            assert list(hits) == ["live"]
    finally:
        await database.dispose()
        drop_database(url)
