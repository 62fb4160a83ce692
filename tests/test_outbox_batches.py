"""The outbox relay publishes a claimed batch pipelined (ADR 0003, revised 2026-12-01): in ``seq`` order,
each event once, and a failure in the middle of a batch loses nothing and doubles nothing once the cause
is gone. Real NATS (a server of the test's own, so it can be stopped) and the real database (SQLite, or
PostgreSQL with ``DATABASE_URL``)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig
from sqlalchemy import MetaData, func, select

from comitas_shared.db import Database
from comitas_shared.events.envelope import CloudEvent
from comitas_shared.events.outbox import OutboxRelay, add_events
from comitas_shared.platform_tables import PlatformTables, define_platform_tables
from comitas_shared.testing import NatsServer, drop_database, eventually, fresh_database_url

pytestmark = pytest.mark.timeout(300)

STREAM = "BATCHTEST"
OK_SUBJECT = "events.batchtest.ok"
LATE_SUBJECT = "events.batchtest.late"


@dataclass
class Outbox:
    database: Database
    tables: PlatformTables
    nats: NatsServer
    client: Client

    def relay(self, **options: float) -> OutboxRelay:
        return OutboxRelay(database=self.database, tables=self.tables, js=self.client.jetstream, **options)

    async def stage(self, types: list[str]) -> list[str]:
        """Commits one event per type, in this order; returns their ids."""
        events = [CloudEvent(source="/comitas/batchtest", type=t, data={"n": n}) for n, t in enumerate(types)]
        async with self.database.transaction() as session:
            await add_events(session, self.tables, events)
        return [event.id for event in events]

    async def unpublished(self) -> int:
        outbox = self.tables.outbox
        async with self.database.transaction() as session:
            query = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            return int((await session.execute(query)).scalar_one())

    async def stored_ids(self, expected: int) -> list[str]:
        """The event ids in the stream, in stream order (read once ``expected`` messages are there)."""
        js = self.client.jetstream()
        await eventually(lambda: _messages(js, expected), timeout=60)
        consumer = await js.pull_subscribe("events.batchtest.>", durable=None, stream=STREAM,
                                           config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL,
                                                                 ack_policy=AckPolicy.NONE))
        ids: list[str] = []
        while len(ids) < expected:
            for message in await consumer.fetch(min(500, expected - len(ids)), timeout=10):
                ids.append((message.headers or {})["Nats-Msg-Id"])
        await consumer.unsubscribe()
        return ids


async def _messages(js: object, expected: int) -> bool:
    info = await js.stream_info(STREAM)  # type: ignore[attr-defined]
    return bool(info.state.messages >= expected)


@pytest.fixture
async def outbox(tmp_path: Path) -> AsyncIterator[Outbox]:
    url = fresh_database_url("outbox_batches", tmp_path)
    metadata = MetaData()
    tables = define_platform_tables(metadata)
    database = Database(url)
    async with database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    server = NatsServer(tmp_path / "nats").start()
    client = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    try:
        await client.jetstream().add_stream(StreamConfig(name=STREAM, subjects=[OK_SUBJECT],
                                                         duplicate_window=600))
        yield Outbox(database, tables, server, client)
    finally:
        await client.close()
        server.stop()
        await database.dispose()
        drop_database(url)


async def test_a_batch_leaves_in_seq_order_each_event_once(outbox: Outbox) -> None:
    ids = await outbox.stage(["comitas.batchtest.ok"] * 250)
    relay = outbox.relay(batch_size=100)
    passes = [await relay.publish_pending() for _ in range(4)]
    assert passes == [100, 100, 50, 0]
    assert await outbox.unpublished() == 0
    assert await outbox.stored_ids(250) == ids


async def test_a_failure_in_the_middle_of_a_batch_loses_and_doubles_nothing(outbox: Outbox) -> None:
    # The 41st event goes to a subject no stream holds yet: JetStream refuses it while it stores the
    # events on either side of it, all sent in one pass.
    types = ["comitas.batchtest.ok"] * 40 + ["comitas.batchtest.late"] + ["comitas.batchtest.ok"] * 59
    ids = await outbox.stage(types)
    relay = outbox.relay(batch_size=100)
    assert await relay.publish_pending() == 99
    assert await outbox.unpublished() == 1
    async with outbox.database.transaction() as session:
        failed = (await session.execute(select(outbox.tables.outbox).where(
            outbox.tables.outbox.c.published_at.is_(None)))).mappings().one()
    assert failed["event_id"] == ids[40] and failed["attempts"] == 1 and failed["last_error"]
    assert await relay.publish_pending() == 0  # still refused: retried, nothing else sent again
    await outbox.client.jetstream().update_stream(StreamConfig(name=STREAM, subjects=[OK_SUBJECT, LATE_SUBJECT],
                                                               duplicate_window=600))
    assert await relay.publish_pending() == 1
    assert await outbox.unpublished() == 0
    stored = await outbox.stored_ids(100)
    # Every event once; the failed one after those that were stored while it failed (ADR 0003).
    assert Counter(stored) == Counter(ids)
    assert stored == ids[:40] + ids[41:] + [ids[40]]


async def test_nats_stopped_during_batches_loses_and_doubles_nothing_once_back(outbox: Outbox) -> None:
    ids = await outbox.stage(["comitas.batchtest.ok"] * 3000)
    relay = outbox.relay(batch_size=500, poll_seconds=0.2, publish_timeout=1.0)
    relay.start()
    try:
        # Stop NATS while the relay is part-way through (whatever it had in flight is then unacknowledged,
        # stored or not), keep it down for a few of the relay's passes, and start it again.
        await eventually(lambda: _fewer_than(outbox, 3000), timeout=60)
        outbox.nats.stop()
        await asyncio.sleep(1.0)
        outbox.nats.start()
        await eventually(lambda: _zero(outbox), timeout=120)
    finally:
        await relay.stop()
    await asyncio.sleep(1.0)  # room for a late duplicate, if JetStream let one through
    stored = await outbox.stored_ids(3000)
    info = await outbox.client.jetstream().stream_info(STREAM)
    assert info.state.messages == 3000
    assert Counter(stored) == Counter(ids)


async def _fewer_than(outbox: Outbox, total: int) -> bool:
    return await outbox.unpublished() < total


async def _zero(outbox: Outbox) -> bool:
    return await outbox.unpublished() == 0
