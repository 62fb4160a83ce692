"""CPU time per item of each step the reminders at volume go through in notifications, in one process
on SQLite (NATS for the relay only): the figures that do not depend on how busy the machine is (``reminders.py``
measures wall-clock figures, which on a shared machine mostly measure the other tenants).

Each step is the service's own code, called the way its consumer calls it, in batches of ``--batch``:

- a deadline requested: the inbox check and rows of ``notifications-deadlines`` and ``apply_events``;
- a timer fired: the inbox check and rows of ``notifications-reminders`` and ``record_reminders``
  (inbox item and ``comitas.deadline.reminder`` in the outbox);
- the outbox relay publishing a reminder event (``OutboxRelay.publish_pending``, to a ``nats-server`` of its
  own, whose CPU is not counted);
- the webhook fan-out of one event (``enqueue_for_event``, here with no subscription, as in the
  benchmark): one transaction per event (how it ran before issue 12) and one per batch (how it runs now).

``time.process_time`` counts every thread of the process, so SQLite's work in aiosqlite's threads is in.

Run: ``.venv/bin/python -m benchmarks.reminders_cpu -n 5000``.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import time as dt_time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from comitas_shared import migrations
from comitas_shared.clock import real_now
from comitas_shared.db import Database
from comitas_shared.events.catalogue import DEADLINE_REQUESTED, DeadlineRequested
from comitas_shared.events.consumer import (
    claim_in_inbox,
    decode_cloudevent,
    record_in_inbox,
    unhandled_in_inbox,
)
from comitas_shared.events.nats import NatsHandle
from comitas_shared.events.outbox import OutboxRelay
from comitas_shared.platform_tables import PlatformTables
from comitas_shared.testing import NatsServer

KIND = "bench_reminder"
INSTITUTIONS = 20


@dataclass(frozen=True)
class Message:
    """What the decoders read of a NATS message."""

    headers: dict[str, str]
    data: bytes


async def timed(items: int, work: Callable[[], Awaitable[None]]) -> float:
    """Milliseconds of CPU per item that ``work`` took."""
    began = time.process_time()
    await work()
    return (time.process_time() - began) * 1000 / items


async def measure(count: int, batch: int, fanout_batch: int) -> dict[str, float]:
    from comitas_notifications.deadlines import service as deadlines
    from comitas_notifications.deadlines.consumers import decode_timer
    from comitas_notifications.deadlines.domain import default_offsets
    from comitas_notifications.deadlines.models import Deadline, ReminderSetting
    from comitas_notifications.deadlines.policy import ReminderPolicy
    from comitas_notifications.deliveries import service as deliveries
    from comitas_notifications.models import load_all_models, tables

    load_all_models()
    var = Path(tempfile.mkdtemp(prefix="comitas-bench-cpu-"))
    database_url = f"sqlite+aiosqlite:///{var / 'notifications.db'}"
    migrations.upgrade("comitas_notifications", database_url)
    database = Database(database_url)
    figures: dict[str, float] = {}
    try:
        institutions = [str(uuid.uuid4()) for _ in range(INSTITUTIONS)]
        async with database.transaction() as session:
            session.add_all([ReminderSetting(id=str(uuid.uuid4()), institution_id=i, kind=KIND, before=[],
                                             on_the_day=False, overdue=True, updated_at=real_now())
                             for i in institutions])
        start = real_now() + timedelta(hours=1)
        requested = []
        for n in range(count):
            institution, due = institutions[n % INSTITUTIONS], start + timedelta(seconds=n * 0.01)
            event = DEADLINE_REQUESTED.build(
                source="/comitas/bench", subject=f"bench-{n}", institution_id=institution, time=real_now(),
                data=DeadlineRequested(deadline_key=f"bench:{n}", institution_id=institution, kind=KIND,
                                       title=f"Bench deadline {n}", case_ref=f"BENCH-{n // 100}",
                                       last_day=due.date(), time_zone="Europe/Paris", due_at=due, calendar="bench"))
            requested.append(Message(event.nats_headers(), event.nats_body()))

        async def ingest() -> None:
            for first in range(0, count, batch):
                decoded = [decode_cloudevent(m) for m in requested[first:first + batch]]  # type: ignore[arg-type]
                async with database.transaction() as session:
                    fresh = await unhandled_in_inbox(session, tables, "bench-deadlines", [d.message_id for d in decoded])
                    await record_in_inbox(session, tables, "bench-deadlines", fresh)
                    await deadlines.apply_events(session, [d.item for d in decoded], now=real_now())

        figures["deadline requested (consumer, batch)"] = await timed(count, ingest)

        async with database.transaction() as session:
            rows = (await session.execute(select(Deadline.id, Deadline.institution_id, Deadline.deadline_key,
                                                 Deadline.due_at))).all()
        fired = [Message({}, json.dumps({
            "timer_id": f"tmr-{row.id}", "deadline_id": row.id, "institution_id": row.institution_id,
            "deadline_key": row.deadline_key, "reminder": "overdue", "fire_at": row.due_at.isoformat(),
            "due_at": row.due_at.isoformat(), "revision": 1}).encode()) for row in rows]
        # Every institution has its setting for the bench's kind (above): the defaults are never read.
        policy = ReminderPolicy(default_offsets([], on_the_day=False, overdue=True), dt_time(9))

        async def record() -> None:
            for first in range(0, count, batch):
                decoded = [decode_timer(m) for m in fired[first:first + batch]]  # type: ignore[arg-type]
                async with database.transaction() as session:
                    fresh = await unhandled_in_inbox(session, tables, "bench-reminders", [d.message_id for d in decoded])
                    await deadlines.record_reminders(session, tables, [d.item for d in decoded], now=real_now(),
                                                     policy=policy, source="/comitas/bench")
                    await record_in_inbox(session, tables, "bench-reminders", fresh)

        figures["timer fired (consumer, batch)"] = await timed(count, record)
        figures["outbox relay, one reminder event"] = await relay_events(count, database, tables, var)

        async def fan_out_each(consumer: str) -> None:
            for message in requested:
                decoded = decode_cloudevent(message)  # type: ignore[arg-type]
                async with database.transaction() as session:
                    if await claim_in_inbox(session, tables, consumer, decoded.message_id):
                        await deliveries.enqueue_for_event(session, decoded.item, traceparent=None, now=real_now())

        async def fan_out_batch(consumer: str) -> None:
            for first in range(0, count, fanout_batch):
                decoded = [decode_cloudevent(m) for m in requested[first:first + fanout_batch]]  # type: ignore[arg-type]
                async with database.transaction() as session:
                    fresh = await unhandled_in_inbox(session, tables, consumer, [d.message_id for d in decoded])
                    for item in decoded:
                        if item.message_id in fresh:
                            await deliveries.enqueue_for_event(session, item.item, traceparent=None, now=real_now())
                    await record_in_inbox(session, tables, consumer, fresh)

        figures["fan-out of one event, a transaction each"] = await timed(count, lambda: fan_out_each("bench-each"))
        figures["fan-out of one event, a transaction per batch"] = await timed(
            count, lambda: fan_out_batch("bench-batch"))
    finally:
        await database.dispose()
        shutil.rmtree(var, ignore_errors=True)
    return figures


async def relay_events(count: int, database: Database, tables: PlatformTables, var: Path) -> float:
    """CPU per event of the outbox relay publishing the reminder events ``record`` staged, to a NATS
    server of its own (its CPU is not counted: another process), as the service runs it."""
    server = NatsServer(var / "nats").start()
    handle = NatsHandle(server.url, name="bench-relay")
    try:
        await handle.start(wait=10.0)
        await handle.wait_ready(timeout=30)
        relay = OutboxRelay(database=database, tables=tables, js=lambda: handle.js)

        async def drain() -> None:
            while await relay.publish_pending():
                pass

        return await timed(count, drain)
    finally:
        await handle.close()
        server.stop()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.reminders_cpu", description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--items", type=int, default=5000)
    parser.add_argument("-b", "--batch", type=int, default=500, help="batch of the deadline and reminder consumers")
    args = parser.parse_args(argv)
    from comitas_notifications.deliveries.consumers import FANOUT_BATCH

    figures = asyncio.run(measure(args.items, args.batch, FANOUT_BATCH))
    print(f"CPU per item, {args.items} items, batches of {args.batch} (fan-out {FANOUT_BATCH}), SQLite, one process:")
    for name, value in figures.items():
        print(f"  {name:<48} {value:6.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
