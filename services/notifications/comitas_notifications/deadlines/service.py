"""Deadlines: kept in step with their owners' events (in batches), reminders recorded when their timers
fire (inbox item and ``comitas.deadline.reminder`` in one transaction), read through the API, and each
institution's reminder settings."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId, institution_id_for_system
from comitas_shared.clock import Clock
from comitas_shared.errors import InvalidInput, NotFound
from comitas_shared.events.catalogue import (
    DEADLINE_EXTENDED,
    DEADLINE_PAUSED,
    DEADLINE_REMINDER,
    DEADLINE_REQUESTED,
    DEADLINE_RESUMED,
    DEADLINE_WITHDRAWN,
    DeadlineExtended,
    DeadlinePaused,
    DeadlineReminder,
    DeadlineRequested,
    DeadlineResumed,
    DeadlineWithdrawn,
)
from comitas_shared.events.consumer import BatchDispatcher
from comitas_shared.events.envelope import CloudEvent, new_event_id
from comitas_shared.events.outbox import add_events
from comitas_shared.pagination import Page, PageRequest
from comitas_shared.platform_tables import PlatformTables

from ..inbox import service as inbox
from . import repository
from .domain import (
    DeadlineFacts,
    DeadlineRecord,
    DeadlineState,
    ExtensionRecord,
    StateFilter,
    cap_from,
    counting_from,
    counting_to_json,
    day_starts_at,
    extensions_from_json,
    extensions_to_json,
    on_extended,
    on_paused,
    on_requested,
    on_resumed,
    on_withdrawn,
    parties,
    pause_facts_from_json,
    pause_facts_to_json,
    pause_intervals,
    reminder_applies,
    reminder_offsets,
    reminder_title,
    standing,
)
from .domain import Timing as _Timing
from .models import Deadline, ReminderSetting
from .policy import ReminderPolicy
from .schemas import DeadlineOut, ExtensionOut, PauseOut, ReminderSettingIn, ReminderSettingOut
from .timers import deadline_token

log = logging.getLogger(__name__)

# Set on a session whose deadlines need their timers changed: after the commit, the timers follow.
SYNC_TIMERS = "comitas_notifications_sync_timers"
# How long an event about a deadline not requested yet is retried before it is ignored.
ORPHAN_PATIENCE = timedelta(minutes=2)
NO_LONGER_CONCERNED = "no_longer_concerned"

OwnerEvent = DeadlineRequested | DeadlineWithdrawn | DeadlinePaused | DeadlineResumed | DeadlineExtended


# --- from the owners' events ------------------------------------------------------------------------


def _facts(data: DeadlineRequested) -> DeadlineFacts:
    counting = counting_from(data.counting.model_dump(mode="json")) if data.counting else None
    return DeadlineFacts(kind=data.kind, title=data.title, case_ref=data.case_ref, case_kind=data.case_kind,
                         mechanism=data.mechanism, last_day=data.last_day, time_zone=data.time_zone,
                         due_at=data.due_at.astimezone(UTC), calendar=data.calendar, hard=data.hard,
                         rule=dict(data.rule), concerns=parties(data.institution_id, data.concerns),
                         counting=counting, holidays_version=data.holidays_version,
                         calendar_data_version=data.calendar_data_version)


def _record(row: Deadline) -> DeadlineRecord:
    facts = DeadlineFacts(kind=row.kind, title=row.title, case_ref=row.case_ref, case_kind=row.case_kind,
                          mechanism=row.mechanism, last_day=row.announced_last_day or row.last_day,
                          time_zone=row.time_zone, due_at=row.due_at, calendar=row.calendar, hard=row.hard,
                          rule=dict(row.rule), concerns=tuple(row.concerns), counting=counting_from(row.counting),
                          holidays_version=row.holidays_version, calendar_data_version=row.calendar_data_version)
    timing = _Timing(last_day=row.last_day, time_zone=row.time_zone, due_at=row.due_at, calendar=row.calendar,
                     holidays_version=row.holidays_version, calendar_data_version=row.calendar_data_version,
                     complete=row.complete, paused_since=row.paused_since, explanation=tuple(row.explanation))
    return DeadlineRecord(facts, timing, DeadlineState(row.state), row.closed_reason, row.revision,
                          row.last_event_at, pause_facts_from_json(row.pauses), extensions_from_json(row.extensions))


def _write(row: Deadline, record: DeadlineRecord, event: CloudEvent, now: datetime) -> None:
    facts, timing = record.facts, record.timing
    row.kind, row.title, row.case_ref, row.case_kind = facts.kind, facts.title[:500], facts.case_ref, facts.case_kind
    row.mechanism, row.hard, row.rule, row.concerns = facts.mechanism, facts.hard, dict(facts.rule), list(facts.concerns)
    row.counting = counting_to_json(facts.counting)
    row.announced_last_day = facts.last_day if facts.counting is not None else None
    row.last_day, row.time_zone, row.due_at = timing.last_day, timing.time_zone, timing.due_at
    row.day_starts_at = day_starts_at(timing.last_day, timing.time_zone)
    row.calendar = timing.calendar[:500]
    row.holidays_version, row.calendar_data_version = timing.holidays_version, timing.calendar_data_version
    row.complete, row.explanation, row.paused_since = timing.complete, list(timing.explanation), timing.paused_since
    row.pauses = pause_facts_to_json(record.pause_facts)
    row.extensions = extensions_to_json(record.extensions, timing.refused)
    row.state, row.closed_reason, row.revision = record.state, record.closed_reason, record.revision
    row.last_event_id, row.last_event_at, row.updated_at = event.id, record.last_event_at, now


def _mark_for_timers(session: AsyncSession, row: Deadline) -> None:
    session.info.setdefault(SYNC_TIMERS, set()).add((row.institution_id, row.id))


class _Draft:
    """A deadline row not stored yet: plain attributes, inserted with the batch's other new rows in one
    statement (building ORM table models costs milliseconds each, a thousand deadlines a second cannot
    afford it)."""

    def __init__(self, **values: Any) -> None:
        self.revision = 1
        self.schedule_revision: int | None = None
        self.scheduled_for: datetime | None = None
        self.scheduled_reminders: list[str] = []
        self.__dict__.update(values)


class NotYetRequested(RuntimeError):
    """An event about a deadline whose request has not been applied yet: retried, not ignored."""


@dataclass
class _Batch:
    """The rows a batch of events touches, by owner and key, then by the institution concerned."""

    session: AsyncSession
    now: datetime
    rows: dict[tuple[str, str], dict[str, Deadline]]
    new: list[_Draft]

    def apply(self, row: Deadline, record: DeadlineRecord | None, event: CloudEvent) -> None:
        if record is None:
            return
        previous = row.revision
        _write(row, record, event, self.now)
        if row.revision != previous or row.schedule_revision is None:
            _mark_for_timers(self.session, row)


def owner_events(clock: Clock) -> BatchDispatcher[_Batch]:
    """The owners' deadline events, in order, in the consumer's transaction: one query per owner for the
    rows they touch, one insert of the new rows. An event that cannot be applied (a pause that overlaps
    another, an extension beyond its cap) is logged and skipped: it will not apply on a retry either."""

    async def prepare(session: AsyncSession, typed: list[tuple[CloudEvent, Any]]) -> _Batch:
        named = [(institution_id_for_system(data.institution_id), data.deadline_key) for _, data in typed]
        rows: dict[tuple[str, str], dict[str, Deadline]] = defaultdict(dict)
        for row in await repository.by_owner_keys(session, named):
            rows[(row.owner_institution_id, row.deadline_key)][row.institution_id] = row
        return _Batch(session, clock(), rows, [])

    return (BatchDispatcher(prepare, _finish, skipped=(InvalidInput,))
            .on(DEADLINE_REQUESTED, _requested)
            .on(DEADLINE_WITHDRAWN, _withdrawn)
            .on(DEADLINE_PAUSED, _paused)
            .on(DEADLINE_RESUMED, _resumed)
            .on(DEADLINE_EXTENDED, _extended))


async def apply_events(session: AsyncSession, events: Sequence[CloudEvent], *, now: datetime) -> None:
    """``owner_events`` at ``now`` (the benchmarks call it without a consumer)."""
    await owner_events(lambda: now)(session, list(events))


async def _finish(batch: _Batch) -> None:
    if batch.new:
        await repository.insert_new(batch.session, [vars(draft) for draft in batch.new])
    await batch.session.flush()


def _requested(batch: _Batch, data: DeadlineRequested, event: CloudEvent) -> None:
    owner, key = data.institution_id, data.deadline_key
    party_rows = batch.rows[(owner, key)]
    facts = _facts(data)
    for party in facts.concerns:
        row = party_rows.get(party)
        record = on_requested(_record(row) if row else None, facts, event_at=event.time)
        if record is None:
            continue
        if row is None:
            draft = _Draft(id=new_event_id(), institution_id=party, owner_institution_id=owner, deadline_key=key,
                           timer_token=deadline_token(party, key, owner=owner), created_at=batch.now)
            party_rows[party] = row = cast(Deadline, draft)
            batch.new.append(draft)
        batch.apply(row, record, event)
    for party, row in party_rows.items():
        if party not in facts.concerns and row.state == DeadlineState.OPEN:
            batch.apply(row, on_withdrawn(_record(row), NO_LONGER_CONCERNED, event_at=event.time), event)


def _requested_rows(batch: _Batch, data: OwnerEvent, event: CloudEvent) -> dict[str, Deadline]:
    """Each concerned institution's row of the deadline an event names (none: see ``NotYetRequested``)."""
    party_rows = batch.rows[(data.institution_id, data.deadline_key)]
    if not party_rows:
        if event.time > batch.now - ORPHAN_PATIENCE:
            # Several workers and replicas share the consumer: the deadline's own request may be in a
            # batch still being handled. Retried (nak'ed with a growing delay) until it is old.
            raise NotYetRequested(f"{event.type} {event.id} names a deadline not requested yet")
        log.info("%s %s names a deadline never requested; ignored", event.type, event.id)
    return party_rows


def _withdrawn(batch: _Batch, data: DeadlineWithdrawn, event: CloudEvent) -> None:
    for row in _requested_rows(batch, data, event).values():
        batch.apply(row, on_withdrawn(_record(row), data.reason, event_at=event.time), event)


def _paused(batch: _Batch, data: DeadlinePaused, event: CloudEvent) -> None:
    for row in _requested_rows(batch, data, event).values():
        batch.apply(row, on_paused(_record(row), data.paused_on, data.reason, event_at=event.time), event)


def _resumed(batch: _Batch, data: DeadlineResumed, event: CloudEvent) -> None:
    for row in _requested_rows(batch, data, event).values():
        batch.apply(row, on_resumed(_record(row), data.resumed_on, event_at=event.time), event)


def _extended(batch: _Batch, data: DeadlineExtended, event: CloudEvent) -> None:
    cap = cap_from(data.cap.model_dump(mode="json")) if data.cap else None
    for row in _requested_rows(batch, data, event).values():
        extension = ExtensionRecord(event.id, data.amount, data.unit, data.reason, cap)
        batch.apply(row, on_extended(_record(row), extension, event_at=event.time), event)


# --- reminders fired ----------------------------------------------------------------------------------


def reminder_event_id(deadline_id: str, reminder: str, due_at: datetime) -> str:
    """The same for every firing of one reminder of one deadline at one due time: what every channel
    dedupes on (a UUID of version 8, from SHA-256)."""
    raw = f"{deadline_id}\x00{reminder}\x00{due_at.astimezone(UTC).isoformat()}".encode()
    digest = bytearray(hashlib.sha256(raw).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x80
    digest[8] = (digest[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(digest)))


async def record_reminders(session: AsyncSession, tables: PlatformTables, timers: Sequence[Mapping[str, Any]], *,
                           now: datetime, policy: ReminderPolicy, source: str) -> int:
    """Fired timers: for each whose deadline is still open, not paused, not moved, and whose institution
    still wants that reminder, an inbox item and a ``comitas.deadline.reminder`` in the outbox, in the
    caller's transaction (a purge can race with a firing timer; the re-check makes that harmless).
    Returns how many were recorded; a reminder already in the inbox is not recorded again.

    A batch takes a handful of statements whatever its size: the deadlines (only the columns a reminder
    needs), the institutions' settings, the inbox items already there, and one insert each for the new
    items and their events."""
    named = [(institution_id_for_system(str(t["institution_id"])), str(t["deadline_id"])) for t in timers]
    rows = {(r.institution_id, r.id): r for r in await repository.for_reminders(session, named)}
    pairs = {(r.institution_id, r.kind) for r in rows.values()}
    settings = {(s.institution_id, s.kind): s for s in await repository.settings_for_many(session, pairs)}
    wanted = {pair: policy.offsets(settings.get(pair)).names for pair in pairs}
    due: list[tuple[Any, str, datetime]] = []
    for timer, key in zip(timers, named, strict=True):
        row = rows.get(key)
        if row is None:
            continue
        name = str(timer["reminder"])
        fire_at = datetime.fromisoformat(str(timer.get("fire_at") or timer["due_at"]))
        if reminder_applies(row.state, paused=row.paused_since is not None, due_at=row.due_at, reminder=name,
                            wanted=wanted[(row.institution_id, row.kind)],
                            reminder_due_at=datetime.fromisoformat(str(timer["due_at"]))):
            due.append((row, name, fire_at))
    added = await inbox.add_deadline_reminders(session, now=now, reminders=[
        inbox.NewReminder(institution_id=institution_id_for_system(row.institution_id), deadline_id=row.id,
                          deadline_key=row.deadline_key, case_ref=row.case_ref, title=reminder_title(row.title, name),
                          reminder=name, due_at=row.due_at, last_day=row.last_day, time_zone=row.time_zone,
                          event_id=reminder_event_id(row.id, name, row.due_at))
        for row, name, _ in due])
    fired = {(row.id, name): (row, fire_at) for row, name, fire_at in due}
    await add_events(session, tables, [
        _reminder_event(fired[(item.deadline_id, item.reminder)][0], item.reminder,
                        fired[(item.deadline_id, item.reminder)][1], item.event_id, now, source)
        for item in added])
    return len(added)


def _reminder_event(row: Any, reminder: str, fire_at: datetime, event_id: str, now: datetime,
                    source: str) -> CloudEvent:
    event = DEADLINE_REMINDER.build(
        source=source, subject=row.case_ref, institution_id=row.institution_id, concerns=(row.institution_id,),
        time=now, data=DeadlineReminder(
            deadline_id=row.id, deadline_key=row.deadline_key, institution_id=row.institution_id,
            owner_institution_id=row.owner_institution_id, case_ref=row.case_ref, case_kind=row.case_kind,
            kind=row.kind, title=row.title, mechanism=row.mechanism, hard=row.hard, reminder=reminder,
            fire_at=fire_at, last_day=row.last_day, time_zone=row.time_zone, due_at=row.due_at))
    return event.model_copy(update={"id": event_id})


# --- read -------------------------------------------------------------------------------------------


def to_out(row: Deadline, now: datetime) -> DeadlineOut:
    return DeadlineOut(
        id=row.id, deadline_key=row.deadline_key, owner_institution_id=row.owner_institution_id,
        concerns=list(row.concerns), kind=row.kind, title=row.title, case_ref=row.case_ref, case_kind=row.case_kind,
        mechanism=row.mechanism, last_day=row.last_day, time_zone=row.time_zone, due_at=row.due_at,
        calendar=row.calendar, holidays_version=row.holidays_version,
        calendar_data_version=row.calendar_data_version, complete=row.complete, explanation=list(row.explanation),
        hard=row.hard, rule=dict(row.rule), counting=row.counting,
        pauses=[PauseOut(paused_on=p.paused_on, resumed_on=p.resumed_on, reason=p.reason)
                for p in pause_intervals(pause_facts_from_json(row.pauses))],
        extensions=[ExtensionOut(amount=e["amount"], unit=e["unit"], reason=e["reason"], cap=e.get("cap"),
                                 refused=bool(e.get("refused"))) for e in row.extensions],
        paused_since=row.paused_since, state=DeadlineState(row.state),
        standing=standing(row.state, paused_since=row.paused_since, day_starts_at=row.day_starts_at,
                          due_at=row.due_at, now=now),
        closed_reason=row.closed_reason,
        reminders=list(row.scheduled_reminders) if row.schedule_revision == row.revision else [],
        created_at=row.created_at, updated_at=row.updated_at)


async def list_page(session: AsyncSession, *, institution_id: InstitutionId, page: PageRequest, now: datetime,
                    state: StateFilter | None = None, case_ref: str | None = None, kind: str | None = None,
                    last_day_from: date | None = None, last_day_to: date | None = None) -> Page[DeadlineOut]:
    rows = await repository.list_page(session, institution_id, page, now=now, state=state, case_ref=case_ref,
                                      kind=kind, last_day_from=last_day_from, last_day_to=last_day_to)
    return repository.SOONEST_FIRST.cut(rows, page, lambda row: to_out(row, now))


async def for_calendar(session: AsyncSession, *, institution_id: InstitutionId, since: datetime, now: datetime,
                       limit: int) -> list[DeadlineOut]:
    """What an institution's calendar feed shows: its open deadlines ending after ``since``."""
    rows = await repository.for_calendar(session, institution_id, since=since, limit=limit)
    return [to_out(row, now) for row in rows]


# --- reminder settings ------------------------------------------------------------------------------


def _setting_out(kind: str, setting: ReminderSetting | None, policy: ReminderPolicy) -> ReminderSettingOut:
    offsets = policy.offsets(setting)
    return ReminderSettingOut(kind=kind, before=[o.text for o in offsets.before], on_the_day=offsets.on_the_day,
                              overdue=offsets.overdue, default=setting is None,
                              updated_at=setting.updated_at if setting else None)


async def reminder_settings(session: AsyncSession, *, institution_id: InstitutionId,
                            policy: ReminderPolicy) -> list[ReminderSettingOut]:
    return [_setting_out(s.kind, s, policy) for s in await repository.settings_of(session, institution_id)]


async def reminder_setting(session: AsyncSession, *, institution_id: InstitutionId, kind: str,
                           policy: ReminderPolicy) -> ReminderSettingOut:
    return _setting_out(kind, await repository.setting(session, institution_id, kind), policy)


async def put_reminder_setting(session: AsyncSession, *, institution_id: InstitutionId, kind: str,
                               request: ReminderSettingIn, policy: ReminderPolicy,
                               now: datetime) -> ReminderSettingOut:
    """The institution's reminders for ``kind`` from now on; its open deadlines of that kind get them at
    once (their timers are set again after the commit)."""
    offsets = reminder_offsets(request.before, on_the_day=request.on_the_day, overdue=request.overdue)
    row = await repository.setting(session, institution_id, kind)
    if row is None:
        row = ReminderSetting(id=new_event_id(), institution_id=institution_id, kind=kind, updated_at=now)
        await repository.add_setting(session, row)
    row.before = [o.text for o in offsets.before]
    row.on_the_day, row.overdue, row.updated_at = offsets.on_the_day, offsets.overdue, now
    await _retime(session, institution_id, kind)
    return _setting_out(kind, row, policy)


async def delete_reminder_setting(session: AsyncSession, *, institution_id: InstitutionId, kind: str,
                                  policy: ReminderPolicy) -> ReminderSettingOut:
    if not await repository.delete_setting(session, institution_id, kind):
        raise NotFound(f"no reminder setting for {kind!r}: the defaults apply")
    await _retime(session, institution_id, kind)
    return _setting_out(kind, None, policy)


async def _retime(session: AsyncSession, institution_id: InstitutionId, kind: str) -> None:
    for deadline_id in await repository.bump_open_of_kind(session, institution_id, kind):
        session.info.setdefault(SYNC_TIMERS, set()).add((institution_id, deadline_id))


async def get(session: AsyncSession, *, institution_id: InstitutionId, deadline_id: str,
              now: datetime) -> DeadlineOut | None:
    row = await repository.get(session, institution_id, deadline_id)
    return to_out(row, now) if row else None


def warm_calendars() -> None:
    """Loads what the first count of a State's calendar would otherwise load on the event loop (the
    holidays library lists every country it supports: seconds, once per process). Run in a thread at
    start-up."""
    from comitas_shared import calendars

    calendars.state_calendar("FR", time_zone="Europe/Paris")
    calendars.body_keys()
