"""The shared DurableConsumer's batch mode (used by the deadlines and reminders consumers): one
transaction per fetched batch, acks after its commit, several workers; the same message id handled
once whether it comes twice in one batch or again later; and a batch that fails is retried message by
message, so one bad message does not hold the others back."""

from __future__ import annotations

import uuid

from nats.js.api import StreamConfig
from nats.js.errors import NotFoundError
from sqlalchemy import func, select

from comitas_shared.db import Database
from comitas_shared.events.consumer import Decoded, DurableConsumer, claim_in_inbox
from comitas_shared.testing import eventually

POISON = "poison"


async def test_batches_commit_once_per_id_and_a_poison_message_is_isolated(env):
    from comitas_notifications.models import tables

    stream = f"BATCH{uuid.uuid4().hex[:8].upper()}"
    subject = f"batch.{stream.lower()}"
    await env.js.add_stream(StreamConfig(name=stream, subjects=[f"{subject}.>"]))
    effects = f"effects-{stream}"
    database = Database(env.database_url)
    doubled: list[str] = []
    batch_sizes: list[int] = []

    async def handle(session, items: list[str]) -> None:
        batch_sizes.append(len(items))
        for item in items:
            if item == POISON:
                raise ValueError("cannot handle this one")
            # The effect of handling an item, in the batch's transaction: recorded once or the batch rolls back.
            if not await claim_in_inbox(session, tables, effects, item):
                doubled.append(item)

    consumer = DurableConsumer(
        name=f"batch-test-{stream.lower()}", subjects=[f"{subject}.>"],
        decode=lambda message: Decoded(message.headers["id"], message.headers["id"]),
        batch_handler=handle, database=database, tables=tables, nats=env.app.state.platform.nats, stream=stream,
        batch=40, workers=3)
    ids = [f"m-{n}" for n in range(200)]
    for n, message_id in enumerate(ids):
        await env.js.publish(f"{subject}.x", b"", headers={"id": message_id})
        if n % 50 == 0:
            await env.js.publish(f"{subject}.x", b"", headers={"id": message_id})  # the same id again
    await env.js.publish(f"{subject}.x", b"", headers={"id": POISON})
    consumer.start()
    try:
        async def all_effects() -> bool:
            async with database.transaction() as session:
                count = (await session.execute(select(func.count()).select_from(tables.inbox).where(
                    tables.inbox.c.consumer == effects))).scalar_one()
            return count == len(ids)

        await eventually(all_effects, timeout=20)
        info = await env.js.consumer_info(stream, consumer.name)
        assert info.config.max_ack_pending >= 2 * 40 * 3
        await eventually(lambda: _only_poison_pending(env, stream, consumer.name), timeout=10)
    finally:
        await consumer.stop()
        await database.dispose()
    assert doubled == []
    assert max(batch_sizes) > 1  # handled in batches, not one by one
    await env.js.delete_stream(stream)


async def _only_poison_pending(env, stream: str, name: str) -> bool:
    info = await env.js.consumer_info(stream, name)
    return info.num_ack_pending + info.num_pending <= 1 and info.num_redelivered >= 1


async def test_a_consumer_idempotent_by_its_own_key_writes_no_inbox_rows_and_still_handles_each_once(env):
    """``inbox=False`` (the fired reminders: one inbox item per deadline, reminder and due time): a message
    redelivered after its effect was committed (a crash before the ack) finds the effect there and
    changes nothing; the consumer's own inbox stays empty."""
    import pytest

    from comitas_notifications.models import tables

    stream = f"KEYED{uuid.uuid4().hex[:8].upper()}"
    subject = f"keyed.{stream.lower()}"
    await env.js.add_stream(StreamConfig(name=stream, subjects=[f"{subject}.>"]))
    effects = f"effects-{stream}"
    database = Database(env.database_url)
    ids = [f"k-{n}" for n in range(120)]
    handled_before_a_crash = ids[:30:3]
    async with database.transaction() as session:
        for message_id in handled_before_a_crash:
            assert await claim_in_inbox(session, tables, effects, message_id)
    doubled: list[str] = []

    async def handle(session, items: list[str]) -> None:
        for item in items:
            # The handler's own key: the effect is there already, or it is written now.
            if not await claim_in_inbox(session, tables, effects, item):
                doubled.append(item)

    name = f"keyed-test-{stream.lower()}"
    with pytest.raises(ValueError, match="batch handler"):
        DurableConsumer(name=name, subjects=[f"{subject}.>"], decode=lambda m: Decoded("x", "x"),
                        handler=handle, database=database, tables=tables, nats=env.app.state.platform.nats,
                        stream=stream, inbox=False)
    consumer = DurableConsumer(
        name=name, subjects=[f"{subject}.>"],
        decode=lambda message: Decoded(message.headers["id"], message.headers["id"]),
        batch_handler=handle, database=database, tables=tables, nats=env.app.state.platform.nats, stream=stream,
        batch=40, inbox=False)
    for message_id in ids:
        await env.js.publish(f"{subject}.x", b"", headers={"id": message_id})
    consumer.start()
    try:
        async def all_acknowledged() -> bool:
            try:
                info = await env.js.consumer_info(stream, name)
            except NotFoundError:  # not created yet: the consumer's workers create it as they start
                return False
            return info.num_ack_pending + info.num_pending == 0 and (info.ack_floor.stream_seq or 0) >= len(ids)

        await eventually(all_acknowledged, timeout=20)
        async with database.transaction() as session:
            count = lambda who: select(func.count()).select_from(tables.inbox).where(  # noqa: E731
                tables.inbox.c.consumer == who)
            assert (await session.execute(count(effects))).scalar_one() == len(ids)
            assert (await session.execute(count(name))).scalar_one() == 0
    finally:
        await consumer.stop()
        await database.dispose()
    # The ones handled before the crash are the only ones the handler found already there.
    assert sorted(doubled) == sorted(handled_before_a_crash)
    await env.js.delete_stream(stream)
