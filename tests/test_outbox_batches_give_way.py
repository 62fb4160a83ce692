"""Work that can wait gives way to a consumer that is behind (notifications: the webhook fan-out, the feeds
and the outbox relay wait while fired reminders are waiting, ADR 0031 revised 2026-12-01): a consumer
knows when its fetches leave messages waiting, and the relay waits while told to, then publishes
everything. Real NATS and the real database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.aio.msg import Msg
from nats.js.api import StreamConfig
from sqlalchemy import MetaData, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.db import Database
from comitas_shared.events.consumer import BURST_BATCH, Decoded, DurableConsumer
from comitas_shared.events.envelope import CloudEvent
from comitas_shared.events.nats import NatsHandle
from comitas_shared.events.outbox import OutboxRelay, add_events
from comitas_shared.platform_tables import PlatformTables, define_platform_tables
from comitas_shared.testing import NatsServer, drop_database, eventually, fresh_database_url

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
async def parts(tmp_path: Path) -> AsyncIterator[tuple[Database, PlatformTables, NatsHandle]]:
    url = fresh_database_url("outbox_give_way", tmp_path)
    metadata = MetaData()
    tables = define_platform_tables(metadata)
    database = Database(url)
    async with database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    server = NatsServer(tmp_path / "nats").start()
    handle = NatsHandle(server.url, name="give-way-test")
    try:
        await handle.start(wait=10.0)
        await handle.wait_ready(timeout=60)
        yield database, tables, handle
    finally:
        await handle.close()
        server.stop()
        await database.dispose()
        drop_database(url)


async def test_a_consumer_knows_when_it_is_behind(parts: tuple[Database, PlatformTables, NatsHandle]) -> None:
    database, tables, handle = parts
    js = handle.js
    await js.add_stream(StreamConfig(name="GIVEWAY", subjects=["giveway.>"]))
    for n in range(30):
        await js.publish(f"giveway.{n}", str(n).encode())
    release = asyncio.Event()
    handled: list[str] = []

    def decode(message: Msg) -> Decoded[str]:
        return Decoded(f"giveway-{message.data.decode()}", message.data.decode())

    async def hold(session: AsyncSession, items: list[str]) -> None:
        await release.wait()
        handled.extend(items)

    consumer: DurableConsumer[str] = DurableConsumer(
        name="giveway-test", subjects=["giveway.>"], stream="GIVEWAY", decode=decode,
        batch_handler=hold, batch=5, database=database, tables=tables, nats=handle)
    assert not consumer.behind()
    consumer.start()
    try:
        # Its first batch of 5 is held: 25 are left waiting, and it says so.
        await eventually(consumer.behind, timeout=60)
        release.set()
        await eventually(lambda: len(handled) == 30, timeout=60)
        # Its last fetch left nothing waiting.
        await eventually(lambda: not consumer.behind(), timeout=60)
    finally:
        await consumer.stop()
    assert sorted(handled, key=int) == [str(n) for n in range(30)]



async def test_a_consumer_in_a_burst_counts_as_behind_even_when_it_took_everything(
        parts: tuple[Database, PlatformTables, NatsHandle]) -> None:
    """At 1,700 reminders a second one worker takes everything waiting at each fetch, so "messages left
    waiting" is rarely true while the burst goes on; a batch of at least BURST_BATCH says it as well.
    A trickle (a few at a time) does not hold anything back."""
    database, tables, handle = parts
    js = handle.js
    await js.add_stream(StreamConfig(name="BURST", subjects=["burst.>"]))
    release = asyncio.Event()
    handled: list[str] = []

    async def hold(session: AsyncSession, items: list[str]) -> None:
        await release.wait()
        handled.extend(items)

    def burst_consumer() -> DurableConsumer[str]:
        return DurableConsumer(
            name="burst-test", subjects=["burst.>"], stream="BURST",
            decode=lambda message: Decoded(f"burst-{message.data.decode()}", message.data.decode()),
            batch_handler=hold, batch=500, database=database, tables=tables, nats=handle)

    consumer = burst_consumer()
    consumer.start()
    try:
        release.set()
        for n in range(3):
            await js.publish(f"burst.{n}", str(n).encode())
        await eventually(lambda: len(handled) == 3, timeout=60)
        assert not consumer.behind()  # a trickle
    finally:
        await consumer.stop()
    # The burst is all in the stream before the consumer's next fetch, which therefore takes all of it and
    # leaves nothing waiting: only its size says it is a burst.
    release.clear()
    burst = BURST_BATCH + 10
    for n in range(3, 3 + burst):
        await js.publish(f"burst.{n}", str(n).encode())
    consumer = burst_consumer()
    consumer.start()
    try:
        await eventually(consumer.behind, timeout=60)
        assert consumer._waiting == 0
        release.set()
        await eventually(lambda: len(handled) == 3 + burst, timeout=60)
        # Once no fetch has brought anything for BEHIND_FRESH_SECONDS, the burst is over.
        await eventually(lambda: not consumer.behind(), timeout=60)
    finally:
        await consumer.stop()

async def test_the_relay_waits_while_told_to_then_publishes_everything(
        parts: tuple[Database, PlatformTables, NatsHandle]) -> None:
    database, tables, handle = parts
    events = [CloudEvent(source="/comitas/givewaytest", type="comitas.givewaytest.item", data={"n": n})
              for n in range(20)]
    async with database.transaction() as session:
        await add_events(session, tables, events)
    busy = True
    relay = OutboxRelay(database=database, tables=tables, js=lambda: handle.js, poll_seconds=0.1)
    relay.give_way_to, relay.give_way_seconds = (lambda: busy), 600.0
    relay.start()
    try:
        await asyncio.sleep(1.0)  # several of its polls: it must not have published meanwhile
        assert await _unpublished(database, tables) == 20
        busy = False
        await eventually(lambda: _none_left(database, tables), timeout=60)
    finally:
        await relay.stop()
    info = await handle.js.stream_info("EVENTS")
    assert info.state.messages == 20


async def _unpublished(database: Database, tables: PlatformTables) -> int:
    outbox = tables.outbox
    async with database.transaction() as session:
        query = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        return int((await session.execute(query)).scalar_one())


async def _none_left(database: Database, tables: PlatformTables) -> bool:
    return await _unpublished(database, tables) == 0
