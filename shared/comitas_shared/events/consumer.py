"""Durable JetStream consumers with explicit ack and an inbox, so a redelivery changes nothing.

Two layers:

- :class:`DurableConsumer` pulls from a durable consumer, decodes each message into an item and its id,
  and runs the handler in one transaction together with the inbox row for that id; then it acks. A
  crash before the ack redelivers the message and the inbox row makes the second run a no-op. A handler
  that raises is nak'ed with a growing delay; a message that cannot be decoded is terminated.
- :class:`EventDispatcher` sits on top for catalogue events: it maps each ``EventType`` to a typed
  handler that receives the payload as that type's ``EventData`` class, so no consumer decodes JSON by
  hand. :class:`BatchDispatcher` does the same for a consumer that takes each fetched batch in one
  transaction (deadlines, complaint indexing): ``prepare`` loads what the batch touches once, each
  event goes to its type's typed handler, ``finish`` writes. Messages that are not one catalogue type
  each (the webhook fan-out over ``events.>``, fired deadline reminders) use :class:`DurableConsumer`
  with their own decoder; ``tests/test_consumers_are_durable.py`` holds every consumer to this.

A consumer that must keep up with thousands of messages a second (deadlines, fired reminders) passes a
``batch_handler`` instead of (or besides) ``handler``: each fetched batch is then handled in one
transaction (one inbox query and insert for all its ids, one commit) and acked after the commit, by
``workers`` concurrent pullers. If the batch fails, each of its messages is handled alone, so one bad
message is nak'ed without holding the others back. Without a ``batch_handler`` nothing changes.

The inbox rows are written before the handler runs, so on SQLite the batch holds the database's single
write lock while it reads (a handler that reads rows and writes them back needs that). A handler that
only inserts may pass ``inbox_last=True``: the rows are then written after it, and the write lock is
held only for the batch's writes, not for its reads and its Python work; two replicas handling the same
id meanwhile still cannot both commit (the inbox's primary key). A batch handler whose writes are
idempotent by their own unique keys may pass ``inbox=False``: no inbox rows are read or written, and a
redelivered message is a no-op because the handler finds its row already there (two replicas racing
on the same message: one commits, the other's unique key fails its batch, and handled alone the
message then finds the row).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, Self, TypeVar

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import real_now
from ..db import Database
from ..platform_tables import PlatformTables
from ..tasks import cancel_and_wait
from ..telemetry import SpanKind, span_from_headers
from .catalogue import EventData, EventType
from .envelope import CloudEvent, subject_for_type
from .nats import EVENTS_STREAM, NatsHandle

log = logging.getLogger(__name__)

T = TypeVar("T")
D = TypeVar("D", bound=EventData)

Handler = Callable[[AsyncSession, T], Awaitable[None]]
BatchHandler = Callable[[AsyncSession, list[T]], Awaitable[None]]


class Undecodable(ValueError):
    """A message that will never become readable: it is terminated, not retried."""


@dataclass(frozen=True)
class Decoded(Generic[T]):
    """What a decoder makes of a message: the id the inbox records, and the item the handler gets."""

    message_id: str
    item: T


Decoder = Callable[[Msg], Decoded[T]]


def decode_cloudevent(message: Msg) -> Decoded[CloudEvent]:
    try:
        event = CloudEvent.from_nats(message.headers, message.data)
    except Exception as exc:  # noqa: BLE001 - whatever the reason, it will not parse next time either
        raise Undecodable(str(exc)) from exc
    return Decoded(event.id, event)


async def claim_in_inbox(session: AsyncSession, tables: PlatformTables, consumer: str, event_id: str) -> bool:
    """True when this consumer has not handled ``event_id`` yet; records it in the current transaction."""
    inbox = tables.inbox
    seen = await session.execute(
        select(inbox.c.event_id).where(inbox.c.consumer == consumer, inbox.c.event_id == event_id)
    )
    if seen.first() is not None:
        return False
    # Real time: the inbox row's age only decides when housekeeping may prune it.
    await session.execute(insert(inbox).values(consumer=consumer, event_id=event_id, handled_at=real_now()))
    return True


async def unhandled_in_inbox(session: AsyncSession, tables: PlatformTables, consumer: str,
                             event_ids: list[str]) -> list[str]:
    """Of ``event_ids``, those this consumer has not handled yet, each once (one query per few hundred)."""
    inbox = tables.inbox
    unique = list(dict.fromkeys(event_ids))
    seen: set[str] = set()
    for start in range(0, len(unique), INBOX_CHUNK):
        chunk = unique[start:start + INBOX_CHUNK]
        found = await session.execute(
            select(inbox.c.event_id).where(inbox.c.consumer == consumer, inbox.c.event_id.in_(chunk)))
        seen.update(str(row[0]) for row in found)
    return [event_id for event_id in unique if event_id not in seen]


async def record_in_inbox(session: AsyncSession, tables: PlatformTables, consumer: str, event_ids: list[str]) -> None:
    """Records ``event_ids`` as handled by this consumer, in the current transaction (one insert per few
    hundred). An id recorded meanwhile by another replica makes the insert, and so the transaction, fail."""
    handled_at = real_now()
    for start in range(0, len(event_ids), INBOX_CHUNK):
        await session.execute(insert(tables.inbox), [
            {"consumer": consumer, "event_id": event_id, "handled_at": handled_at}
            for event_id in event_ids[start:start + INBOX_CHUNK]])


INBOX_CHUNK = 500
# A consumer is behind while its latest fetch, at most this long ago, left messages waiting, or in a burst
# while it brought at least BURST_BATCH messages (a thousand a second, with BATCH_GATHER_SECONDS).
BEHIND_FRESH_SECONDS = 2.0
BURST_BATCH = 50
# How often work that gives way to a consumer behind checks whether it may go on.
GIVE_WAY_POLL_SECONDS = 0.02
# How long a batch consumer waits for more messages once the first of a batch is there.
BATCH_GATHER_SECONDS = 0.05


def redelivery_delay(attempt: int) -> float:
    """Seconds before a failed message comes back: 0.5, 1, 2, … capped at a minute."""
    return min(0.5 * 2.0 ** (max(attempt, 1) - 1), 60.0)


async def give_way(busy: Callable[[], bool] | None, longest: float) -> None:
    """Waits while ``busy()`` (another consumer is behind), for at most ``longest`` seconds, so work that
    can wait (a fan-out, the outbox relay) leaves the process's CPU to work that cannot during a burst,
    and still makes progress if the burst never ends."""
    if busy is None:
        return
    # A poll rather than an event: being behind is read off each fetch, nothing signals its end.
    for _ in range(max(1, round(longest / GIVE_WAY_POLL_SECONDS))):
        if not busy():
            return
        await asyncio.sleep(GIVE_WAY_POLL_SECONDS)


def _one_at_a_time(batch_handler: BatchHandler[T]) -> Handler[T]:
    """A batch handler as a handler of one item (a batch that failed is retried message by message)."""

    async def handle(session: AsyncSession, item: T) -> None:
        await batch_handler(session, [item])

    return handle


class DurableConsumer(Generic[T]):
    """Pulls from a durable consumer on ``stream`` and hands each decoded item to ``handler`` (or each
    fetched batch to ``batch_handler``, see the module's docstring)."""

    def __init__(
        self,
        *,
        name: str,
        subjects: list[str],
        decode: Decoder[T],
        handler: Handler[T] | None = None,
        database: Database,
        tables: PlatformTables,
        nats: NatsHandle,
        stream: str = EVENTS_STREAM,
        ack_wait: float = 30.0,
        max_deliver: int = -1,
        batch: int = 20,
        batch_handler: BatchHandler[T] | None = None,
        workers: int = 1,
        max_ack_pending: int = 1000,
        inbox_last: bool = False,
        inbox: bool = True,
        give_way_to: Callable[[], bool] | None = None,
        give_way_seconds: float = 10.0,
    ) -> None:
        if handler is None:
            if batch_handler is None:
                raise ValueError("a consumer needs a handler or a batch_handler")
            handler = _one_at_a_time(batch_handler)
        self.name = name
        self.subjects = subjects
        self.decode = decode
        self.batch_handler = batch_handler
        self.handler = handler
        self.inbox_last = inbox_last
        if not inbox and batch_handler is None:
            raise ValueError("only a batch handler may do without the inbox (see the module's docstring)")
        self.inbox = inbox
        self.database = database
        self.tables = tables
        self.nats = nats
        self.stream = stream
        self.ack_wait = ack_wait
        self.max_deliver = max_deliver
        self.batch = batch
        self.workers = max(1, workers)
        # Room for every worker's batch in flight and the next one being fetched.
        self.max_ack_pending = max(max_ack_pending, 2 * self.batch * self.workers) if batch_handler else max_ack_pending
        # Before each fetch, while ``give_way_to()`` says so (another consumer is behind), wait, up to
        # ``give_way_seconds`` at a time: nothing fetched is held meanwhile.
        self.give_way_to = give_way_to
        self.give_way_seconds = give_way_seconds
        self._tasks: list[asyncio.Task[None]] = []
        self._subscriptions: set[JetStreamContext.PullSubscription] = set()
        self._waiting = 0
        self._fetched = 0
        self._fetched_at = 0.0

    def behind(self) -> bool:
        """Whether this consumer's latest fetch (recent) left messages waiting, or brought a burst's worth
        (``BURST_BATCH``): it is not keeping up, or keeps up only by taking everything each time. What
        other work gives way to (``give_way_to``)."""
        recent = asyncio.get_running_loop().time() - self._fetched_at < BEHIND_FRESH_SECONDS
        return recent and (self._waiting > 0 or self._fetched >= BURST_BATCH)

    def config(self) -> ConsumerConfig:
        config = ConsumerConfig(
            durable_name=self.name,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait,
            max_deliver=self.max_deliver,
            max_ack_pending=self.max_ack_pending,
        )
        if len(self.subjects) == 1:
            config.filter_subject = self.subjects[0]
        else:
            config.filter_subjects = self.subjects
        return config

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run(), name=f"consumer-{self.name}-{worker}")
                       for worker in range(self.workers)]

    async def stop(self) -> None:
        for task in self._tasks:
            await cancel_and_wait(task)
        self._tasks = []
        # A fetch cancelled mid-flight can still receive a message or a pull status afterwards; left
        # subscribed, it sits unread in the pending queue and the connection's drain waits for it
        # (drain_timeout, 30 s) on shutdown. Unsubscribed, the drain skips it; JetStream redelivers.
        for subscription in list(self._subscriptions):
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
        self._subscriptions.clear()

    async def _subscribe(self, js: JetStreamContext) -> JetStreamContext.PullSubscription:
        with contextlib.suppress(Exception):
            await js.add_consumer(self.stream, self.config())
        # Each worker pulls through a subscription of its own (a pull subscription serves one fetch at a time).
        subscription = await js.pull_subscribe_bind(durable=self.name, stream=self.stream)
        self._subscriptions.add(subscription)
        return subscription

    async def _run(self) -> None:
        subscription = None
        while True:
            try:
                if subscription is None:
                    await self.nats.wait_ready()
                    subscription = await self._subscribe(self.nats.js)
                await give_way(self.give_way_to, self.give_way_seconds)
                try:
                    if self.batch_handler is not None:
                        # Wait for the first message, then take whatever else is already there: a batch
                        # never waits to fill (a fetch of n waits until n arrive or its time is up).
                        messages = await subscription.fetch(1, timeout=1.0)
                        if self.batch > 1:
                            with contextlib.suppress(TimeoutError, NatsTimeoutError):
                                messages += await subscription.fetch(self.batch - 1, timeout=BATCH_GATHER_SECONDS)
                    else:
                        messages = await subscription.fetch(self.batch, timeout=1.0)
                except (TimeoutError, NatsTimeoutError):
                    # nats-py raises the plain asyncio.TimeoutError too (deadline spent between its two
                    # pull requests): an empty fetch either way, not a reason to resubscribe.
                    continue
                self._note_waiting(messages)
                if self.batch_handler is not None:
                    await self.handle_batch(messages)
                else:
                    for message in messages:
                        await self.handle(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - NATS away, consumer gone: resubscribe
                log.info("consumer %s: %s; resubscribing", self.name, exc)
                if subscription is not None:
                    with contextlib.suppress(Exception):
                        await subscription.unsubscribe()
                    self._subscriptions.discard(subscription)
                subscription = None
                await asyncio.sleep(0.5)

    def _note_waiting(self, messages: list[Msg]) -> None:
        """What the last message fetched says is still waiting in the stream for this consumer."""
        try:
            self._waiting = int(messages[-1].metadata.num_pending or 0) if messages else 0
        except Exception:  # noqa: BLE001 - not a JetStream message (no metadata): nothing known
            self._waiting = 0
        self._fetched = len(messages)
        self._fetched_at = asyncio.get_running_loop().time()

    async def handle_batch(self, messages: list[Msg]) -> None:
        """A fetched batch: decode each, then the batch handler and every inbox row in one transaction,
        then ack them all. If that fails, each message on its own (:meth:`handle`)."""
        assert self.batch_handler is not None
        decoded: list[tuple[Msg, Decoded[T]]] = []
        for message in messages:
            try:
                decoded.append((message, self.decode(message)))
            except Undecodable as exc:
                log.error("consumer %s: unreadable message on %s (%s); terminating it", self.name, message.subject,
                          exc)
                await message.term()
        if not decoded:
            return
        with span_from_headers(f"{self.name} process batch", decoded[0][0].headers, kind=SpanKind.CONSUMER,
                               attributes={"messaging.system": "nats", "messaging.consumer.group.name": self.name,
                                           "messaging.batch.message_count": str(len(decoded))}):
            try:
                async with self.database.transaction() as session:
                    ids = [d.message_id for _, d in decoded]
                    fresh = await unhandled_in_inbox(session, self.tables, self.name, ids) if self.inbox else ids
                    if self.inbox and not self.inbox_last:
                        await record_in_inbox(session, self.tables, self.name, fresh)
                    pending = set(fresh)
                    items: list[T] = []
                    for _, item in decoded:
                        if item.message_id in pending:
                            pending.discard(item.message_id)  # the same id twice in one batch: handled once
                            items.append(item.item)
                    if items:
                        await self.batch_handler(session, items)
                    if self.inbox and self.inbox_last:
                        await record_in_inbox(session, self.tables, self.name, fresh)
            except Exception as exc:  # noqa: BLE001 - each message alone: the bad one is nak'ed, not the rest
                log.warning("consumer %s: batch of %s failed (%s); handling its messages one by one", self.name,
                            len(decoded), exc)
                for message, _ in decoded:
                    await self.handle(message)
                return
        for message, _ in decoded:
            await message.ack()

    async def handle(self, message: Msg) -> None:
        """One message: decode, then handler and inbox row in one transaction, then ack (or nak)."""
        try:
            decoded = self.decode(message)
        except Undecodable as exc:
            log.error("consumer %s: unreadable message on %s (%s); terminating it", self.name, message.subject, exc)
            await message.term()
            return
        with span_from_headers(f"{message.subject} process", message.headers, kind=SpanKind.CONSUMER,
                               attributes={"messaging.system": "nats", "messaging.consumer.group.name": self.name,
                                           "messaging.message.id": decoded.message_id}):
            try:
                async with self.database.transaction() as session:
                    if not self.inbox or await claim_in_inbox(session, self.tables, self.name, decoded.message_id):
                        await self.handler(session, decoded.item)
            except Exception:
                attempt = message.metadata.num_delivered if message.metadata else 1
                log.exception("consumer %s: handling %s failed (attempt %s)", self.name, decoded.message_id, attempt)
                await message.nak(delay=redelivery_delay(attempt or 1))
                return
        await message.ack()


EventConsumer = DurableConsumer[CloudEvent]
"""A durable consumer of CloudEvents (the platform's consumers list holds these and the others)."""

TypedHandler = Callable[[AsyncSession, D, CloudEvent], Awaitable[None]]


def typed_payload(event: CloudEvent, data_class: type[D]) -> D | None:
    """``event``'s payload as ``data_class``, unknown top-level fields ignored (the catalogue's changes
    are additive); None, logged, for a payload that does not validate: it never will, so retrying it
    would only hold the consumer back."""
    try:
        return data_class.model_validate({k: v for k, v in event.data.items() if k in data_class.model_fields})
    except ValidationError as exc:
        log.error("%s %s is malformed and ignored: %s", event.type, event.id, exc)
        return None


H = TypeVar("H")


class _Routes(Generic[H]):
    """``EventType`` → typed handler, one handler a type: what both dispatchers declare (``on``), the
    subjects their consumer reads, and an event's handler with its payload as the type's ``EventData``
    (unknown top-level fields ignored, as the catalogue promises consumers; a payload that will never
    validate is logged and skipped by ``typed_payload``)."""

    def __init__(self) -> None:
        self._routes: dict[str, tuple[type[EventData], H]] = {}

    def on(self, event_type: EventType, handler: H) -> Self:
        if event_type.type in self._routes:
            raise ValueError(f"{event_type.type} already has a handler")
        self._routes[event_type.type] = (event_type.data, handler)
        return self

    @property
    def subjects(self) -> list[str]:
        return sorted(subject_for_type(t) for t in self._routes)

    def _routed(self, event: CloudEvent) -> tuple[H, Any] | None:
        """The event's handler and typed payload; None for a type with no handler or a payload that does not
        validate (it stays in the stream for whoever fixes the producer, not retried for ever)."""
        route = self._routes.get(event.type)
        if route is None:
            return None
        data = typed_payload(event, route[0])
        return None if data is None else (route[1], data)


class EventDispatcher(_Routes[TypedHandler[Any]]):
    """Catalogue events to typed handlers, one event per transaction:
    ``dispatcher.on(DEADLINE_REQUESTED, apply_requested)``. A type with no handler is ignored."""

    async def __call__(self, session: AsyncSession, event: CloudEvent) -> None:
        routed = self._routed(event)
        if routed is not None:
            handler, data = routed
            await handler(session, data, event)


S = TypeVar("S")
# What a batch's typed handler receives: the batch's own state (what ``prepare`` loaded), the payload as its
# catalogue class, and the event.
BatchTypedHandler = Callable[[S, Any, CloudEvent], None]


class BatchDispatcher(_Routes[BatchTypedHandler[S]]):
    """Catalogue events to typed handlers, for a consumer that takes each fetched batch in one transaction
    (a busy day brings thousands a minute: one query for what the whole batch touches, not one per event).

    ``prepare(session, routed)`` loads what the batch's events touch and returns the batch's state; each
    event then goes, in order, to its type's handler (``on``) with that state and its payload as the type's
    ``EventData``; ``finish(state)`` writes what the handlers left. An event whose handler raises one of
    ``skipped`` cannot be applied and never will (a pause that overlaps another, say): it is logged and the
    batch goes on."""

    def __init__(self, prepare: Callable[[AsyncSession, list[tuple[CloudEvent, Any]]], Awaitable[S]],
                 finish: Callable[[S], Awaitable[None]], *, skipped: tuple[type[Exception], ...] = ()) -> None:
        super().__init__()
        self._prepare = prepare
        self._finish = finish
        self._skipped = skipped

    async def __call__(self, session: AsyncSession, events: list[CloudEvent]) -> None:
        routed = [(event, found) for event in events if (found := self._routed(event)) is not None]
        if not routed:
            return
        typed = [(event, data) for event, (_, data) in routed]
        state = await self._prepare(session, typed)
        for event, (handler, data) in routed:
            try:
                handler(state, data, event)
            except self._skipped as exc:
                log.warning("%s %s not applied: %s", event.type, event.id, exc)
        await self._finish(state)


def event_consumer(*, name: str, dispatcher: EventDispatcher, database: Database, tables: PlatformTables,
                   nats: NatsHandle) -> EventConsumer:
    """The durable consumer of the catalogue events ``dispatcher`` has handlers for."""
    return DurableConsumer(name=name, subjects=dispatcher.subjects, decode=decode_cloudevent, handler=dispatcher,
                           database=database, tables=tables, nats=nats)


def batch_event_consumer(*, name: str, dispatcher: BatchDispatcher[Any], database: Database,
                         tables: PlatformTables, nats: NatsHandle, batch: int = 20, workers: int = 1) -> EventConsumer:
    """The durable consumer, one transaction per fetched batch, of the catalogue events ``dispatcher`` has
    handlers for."""
    return DurableConsumer(name=name, subjects=dispatcher.subjects, decode=decode_cloudevent, batch_handler=dispatcher,
                           database=database, tables=tables, nats=nats, batch=batch, workers=workers)


async def follow_subject(
    nats: NatsHandle, subject: str, since: timedelta, callback: Callable[[CloudEvent], Awaitable[None]],
    *, stream: str = EVENTS_STREAM, check_every: float = 2.0,
) -> None:
    """Every event on ``subject`` from ``now - since``, to every replica (no durable: each process gets
    all). Used for the token deny-list, which each replica holds in memory.

    An ephemeral pull consumer is recreated from the last sequence seen whenever it disappears (NATS
    restarted, the consumer was reaped), so nothing is missed across a NATS outage."""
    last_sequence: int | None = None
    subscription = None
    while True:
        try:
            await nats.wait_ready()
            js = nats.js
            if last_sequence is None:
                start = (real_now() - since).isoformat().replace("+00:00", "Z")
                # nats-py sends opt_start_time as given: the server wants RFC 3339 text, whatever the
                # library's annotation says.
                config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME,
                                        opt_start_time=start,  # type: ignore[arg-type]
                                        ack_policy=AckPolicy.NONE, inactive_threshold=300)
            else:
                config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                                        opt_start_seq=last_sequence + 1, ack_policy=AckPolicy.NONE,
                                        inactive_threshold=300)
            subscription = await js.pull_subscribe(subject, durable=None, stream=stream, config=config)
            idle_since = asyncio.get_running_loop().time()
            while True:
                try:
                    messages = await subscription.fetch(100, timeout=check_every)
                except NatsTimeoutError:
                    messages = []
                for message in messages:
                    if message.metadata and message.metadata.sequence:
                        last_sequence = message.metadata.sequence.stream
                    with contextlib.suppress(Exception):
                        await callback(CloudEvent.from_nats(message.headers, message.data))
                if messages:
                    idle_since = asyncio.get_running_loop().time()
                elif asyncio.get_running_loop().time() - idle_since >= check_every:
                    # Quiet: make sure the consumer still exists (it does not survive a NATS restart).
                    await subscription.consumer_info()
                    idle_since = asyncio.get_running_loop().time()
        except asyncio.CancelledError:
            # Left subscribed, the connection's drain would wait for it on shutdown.
            if subscription is not None:
                with contextlib.suppress(Exception):
                    await subscription.unsubscribe()
            raise
        except Exception as exc:  # noqa: BLE001
            log.info("follow %s: %s; recreating the consumer", subject, exc)
            if subscription is not None:
                with contextlib.suppress(Exception):
                    await subscription.unsubscribe()
            subscription = None
            await asyncio.sleep(0.5)
