"""Every query on deadlines and reminder settings. Each takes an institution: the caller's, or the
owner's whose event is being applied. The timers' scans (``out_of_schedule``, ``lagging``,
``mark_scheduled``) work for every institution at once and hand back each deadline's institution."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId, institution_id_for_system
from comitas_shared.db import rows_affected, unindexed
from comitas_shared.pagination import PageKey, PageRequest

from .domain import DeadlineState, StateFilter
from .models import Deadline, ReminderSetting

SOONEST_FIRST = PageKey(at=Deadline.due_at, id=Deadline.id, ascending=True)
# SQLite's default limit on bound parameters is 32766; stay far below it and PostgreSQL's 65535.
CHUNK = 500


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


async def by_owner_keys(session: AsyncSession, named: Sequence[tuple[InstitutionId, str]]) -> list[Deadline]:
    """Every party's row of the deadlines named (owner institution, deadline key), locked for the rest of
    the transaction on PostgreSQL (on SQLite the consumer already holds the write lock): one query per few
    hundred keys, whatever the owners."""
    wanted = set(named)
    owners = sorted({owner for owner, _ in wanted})
    found: list[Deadline] = []
    for chunk in _chunks(sorted({key for _, key in wanted})):
        query = (select(Deadline).where(Deadline.owner_institution_id.in_(owners), Deadline.deadline_key.in_(chunk))
                 .order_by(Deadline.id).with_for_update())
        found.extend(row for row in (await session.execute(query)).scalars()
                     if (row.owner_institution_id, row.deadline_key) in wanted)
    return found


async def get(session: AsyncSession, institution_id: InstitutionId, deadline_id: str) -> Deadline | None:
    query = select(Deadline).where(Deadline.institution_id == institution_id, Deadline.id == deadline_id)
    return (await session.execute(query)).scalar_one_or_none()


async def insert_new(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """New deadlines, as column values, in one statement per few hundred."""
    table = Deadline.__table__  # type: ignore[attr-defined]
    for chunk in _chunks(list(rows)):
        await session.execute(table.insert(), list(chunk))


REMINDER_COLUMNS = (Deadline.id, Deadline.institution_id, Deadline.owner_institution_id, Deadline.deadline_key,
                    Deadline.kind, Deadline.title, Deadline.case_ref, Deadline.case_kind, Deadline.mechanism,
                    Deadline.hard, Deadline.state, Deadline.paused_since, Deadline.due_at, Deadline.last_day,
                    Deadline.time_zone)


async def for_reminders(session: AsyncSession, named: Sequence[tuple[InstitutionId, str]]) -> list[Any]:
    """The deadlines named (institution, deadline id), with only what a fired reminder needs (rows with
    those attributes): one query per few hundred, whatever the institutions."""
    found: list[Any] = []
    for chunk in _chunks(sorted(set(named))):
        # Two plain IN lists and the pairs checked here (SQLite scans the whole table for a row-value IN);
        # the institutions' list unindexed, so the plan looks up each id (see ``unindexed``).
        query = select(*REMINDER_COLUMNS).where(Deadline.id.in_([d for _, d in chunk]),
                                                unindexed(Deadline.institution_id).in_({i for i, _ in chunk}))
        pairs = set(chunk)
        found.extend(row for row in (await session.execute(query)).all() if (row.institution_id, row.id) in pairs)
    return found


def _state_condition(state: StateFilter, now: datetime) -> Any:
    is_open = Deadline.state == DeadlineState.OPEN
    running = Deadline.paused_since.is_(None)  # type: ignore[union-attr]
    match state:
        case StateFilter.OPEN:
            return is_open
        case StateFilter.PAUSED:
            return is_open & Deadline.paused_since.is_not(None)  # type: ignore[union-attr]
        case StateFilter.UPCOMING:
            return is_open & running & (Deadline.day_starts_at > now)
        case StateFilter.DUE:
            return is_open & running & (Deadline.day_starts_at <= now) & (Deadline.due_at >= now)
        case StateFilter.OVERDUE:
            return is_open & running & (Deadline.due_at < now)
        case StateFilter.MET:
            return Deadline.state == DeadlineState.MET
        case StateFilter.WITHDRAWN:
            return Deadline.state == DeadlineState.WITHDRAWN


async def list_page(session: AsyncSession, institution_id: InstitutionId, page: PageRequest, *, now: datetime,
                    state: StateFilter | None = None, case_ref: str | None = None, kind: str | None = None,
                    last_day_from: date | None = None, last_day_to: date | None = None) -> list[Deadline]:
    query = select(Deadline).where(Deadline.institution_id == institution_id)
    if state is not None:
        query = query.where(_state_condition(state, now))
    if case_ref is not None:
        query = query.where(Deadline.case_ref == case_ref)
    if kind is not None:
        query = query.where(Deadline.kind == kind)
    if last_day_from is not None:
        query = query.where(Deadline.last_day >= last_day_from)
    if last_day_to is not None:
        query = query.where(Deadline.last_day <= last_day_to)
    query = SOONEST_FIRST.apply(query, page)
    return list((await session.execute(query)).scalars())


async def for_calendar(session: AsyncSession, institution_id: InstitutionId, *, since: datetime,
                       limit: int) -> list[Deadline]:
    """The institution's open deadlines ending after ``since``, soonest first, at most ``limit``."""
    query = (select(Deadline)
             .where(Deadline.institution_id == institution_id, Deadline.state == DeadlineState.OPEN,
                    Deadline.due_at >= since)
             .order_by(Deadline.due_at, Deadline.id).limit(limit))
    return list((await session.execute(query)).scalars())


async def bump_open_of_kind(session: AsyncSession, institution_id: InstitutionId, kind: str) -> list[str]:
    """A new revision for each open deadline of ``kind``: its reminders must be set again. Returns ids."""
    query = select(Deadline.id).where(Deadline.institution_id == institution_id, Deadline.kind == kind,
                                      Deadline.state == DeadlineState.OPEN)
    ids = list((await session.execute(query)).scalars())
    for chunk in _chunks(ids):
        await session.execute(update(Deadline).where(Deadline.institution_id == institution_id,
                                                     Deadline.id.in_(chunk))
                              .values(revision=Deadline.revision + 1)
                              .execution_options(synchronize_session=False))
    return ids


# --- the timers' scans (every institution) --------------------------------------------------------


async def out_of_schedule(session: AsyncSession, *, limit: int) -> list[tuple[InstitutionId, str]]:
    """Deadlines whose timers in NATS lag behind their revision (never published, moved, or closed)."""
    query = (select(Deadline.institution_id, Deadline.id)
             .where(or_(Deadline.schedule_revision.is_(None),  # type: ignore[union-attr]
                        Deadline.schedule_revision != Deadline.revision))
             .limit(limit))
    return [(institution_id_for_system(i), d) for i, d in (await session.execute(query)).all()]


TIMER_COLUMNS = (Deadline.id, Deadline.institution_id, Deadline.deadline_key, Deadline.kind, Deadline.timer_token, Deadline.state,
                 Deadline.paused_since, Deadline.due_at, Deadline.last_day, Deadline.time_zone, Deadline.revision,
                 Deadline.schedule_revision, Deadline.scheduled_reminders)


async def lagging(session: AsyncSession, deadlines: Sequence[tuple[str, str]], *, for_update: bool) -> list[Any]:
    """Of ``deadlines`` (institution id, deadline id), those whose timers lag (only what the timers need,
    as rows with those attributes), locked on PostgreSQL in id order (so two replicas syncing
    overlapping sets cannot deadlock)."""
    found: list[Any] = []
    for chunk in _chunks(sorted(set(deadlines), key=lambda pair: pair[1])):
        # Two plain IN lists and the pairs checked here (SQLite scans the whole table for a row-value IN);
        # the institutions' list unindexed, so the plan looks up each id (see ``unindexed``).
        query = (select(*TIMER_COLUMNS)
                 .where(Deadline.id.in_([d for _, d in chunk]), unindexed(Deadline.institution_id).in_({i for i, _ in chunk}),
                        or_(Deadline.schedule_revision.is_(None),  # type: ignore[union-attr]
                            Deadline.schedule_revision != Deadline.revision))
                 .order_by(Deadline.id))
        if for_update:
            query = query.with_for_update()
        pairs = set(chunk)
        found.extend(row for row in (await session.execute(query)).all() if (row.institution_id, row.id) in pairs)
    return found


async def mark_scheduled(session: AsyncSession, marks: Sequence[dict[str, Any]]) -> None:
    """Each mark: ``b_id``, ``b_revision`` (the revision whose timers were set), ``b_for`` and
    ``b_reminders``. A row whose revision moved meanwhile is left lagging: the next sync sets it."""
    if not marks:
        return
    table = Deadline.__table__  # type: ignore[attr-defined]
    statement = (update(table)
                 .where(table.c.id == bindparam("b_id"), table.c.revision == bindparam("b_revision"))
                 .values(schedule_revision=bindparam("b_revision"), scheduled_for=bindparam("b_for"),
                         scheduled_reminders=bindparam("b_reminders")))
    connection = await session.connection()
    for chunk in _chunks(list(marks)):
        await connection.execute(statement, list(chunk))


# --- reminder settings ----------------------------------------------------------------------------


async def setting(session: AsyncSession, institution_id: InstitutionId, kind: str) -> ReminderSetting | None:
    query = select(ReminderSetting).where(ReminderSetting.institution_id == institution_id,
                                          ReminderSetting.kind == kind)
    return (await session.execute(query)).scalar_one_or_none()


async def settings_of(session: AsyncSession, institution_id: InstitutionId) -> list[ReminderSetting]:
    query = (select(ReminderSetting).where(ReminderSetting.institution_id == institution_id)
             .order_by(ReminderSetting.kind))
    return list((await session.execute(query)).scalars())


async def settings_for_many(session: AsyncSession, pairs: Iterable[tuple[str, str]]) -> list[ReminderSetting]:
    """The settings of (institution, kind) ``pairs``, each institution's own (for the timers, which work
    for every institution at once)."""
    wanted = set(pairs)
    if not wanted:
        return []
    query = select(ReminderSetting).where(ReminderSetting.institution_id.in_(sorted({i for i, _ in wanted})),
                                          ReminderSetting.kind.in_(sorted({k for _, k in wanted})))
    return [s for s in (await session.execute(query)).scalars() if (s.institution_id, s.kind) in wanted]


async def add_setting(session: AsyncSession, row: ReminderSetting) -> None:
    session.add(row)
    await session.flush()


async def delete_setting(session: AsyncSession, institution_id: InstitutionId, kind: str) -> bool:
    result = await session.execute(delete(ReminderSetting).where(ReminderSetting.institution_id == institution_id,
                                                                 ReminderSetting.kind == kind))
    return rows_affected(result) > 0
