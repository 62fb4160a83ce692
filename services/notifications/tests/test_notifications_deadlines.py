"""Deadlines from their owners' events to durable timers in JetStream and reminders in the inbox (with a
``comitas.deadline.reminder`` event for the other channels): counted like the law, paused, extended,
per institution concerned, with each institution's own reminder offsets."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from nats.js.errors import NotFoundError
from sqlalchemy import func, select, update

from comitas_notifications.deadlines.models import Deadline
from comitas_notifications.deadlines.timers import (
    SCHEDULES_STREAM,
    deadline_token,
    reminder_subject,
    schedule_subject,
)
from comitas_shared.calendars import HOLIDAYS_VERSION, end_of_day_utc
from comitas_shared.db import Database
from comitas_shared.events.catalogue import (
    DEADLINE_EXTENDED,
    DEADLINE_PAUSED,
    DEADLINE_REQUESTED,
    DEADLINE_RESUMED,
    DEADLINE_WITHDRAWN,
    DeadlineCalendar,
    DeadlineCounting,
    DeadlineExtended,
    DeadlinePaused,
    DeadlineRequested,
    DeadlineResumed,
    DeadlineWithdrawn,
    ExtensionCap,
)
from comitas_shared.testing import ServedApp, eventually

ZONE = "Europe/Paris"
DEFAULT_REMINDERS = ("d14", "d3", "d1", "day", "overdue")


def requested(institution_id: str, key: str, due_at: datetime, *, title: str = "Application to the ECtHR",
              at: datetime | None = None, kind: str = "filing", case_ref: str = "CMP-2026-0001",
              concerns: list[str] | None = None, counting: DeadlineCounting | None = None):
    return DEADLINE_REQUESTED.build(
        source="/comitas/intake", subject="complaint-1", institution_id=institution_id, time=at or datetime.now(UTC),
        data=DeadlineRequested(deadline_key=key, institution_id=institution_id, kind=kind, title=title,
                               case_ref=case_ref, mechanism="ecthr", last_day=due_at.date(), time_zone=ZONE,
                               due_at=due_at, calendar="calendar days", hard=True,
                               rule={"provision": "ECHR Art 35(1)", "status": "confirmed"}, concerns=concerns,
                               counting=counting))


def end_of(day: date) -> datetime:
    return end_of_day_utc(day, ZONE)


def withdrawn(institution_id: str, key: str, reason: str = "withdrawn"):
    return DEADLINE_WITHDRAWN.build(
        source="/comitas/intake", subject="complaint-1", institution_id=institution_id, time=datetime.now(UTC),
        data=DeadlineWithdrawn(deadline_key=key, institution_id=institution_id, reason=reason))


async def deadlines(api, **params) -> list[dict]:
    response = await api.get("/v1/deadlines", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def inbox(api, **params) -> list[dict]:
    response = await api.get("/v1/inbox", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def schedule(env, token: str, reminder: str):
    try:
        return await env.js.get_last_msg(SCHEDULES_STREAM, schedule_subject(token, reminder))
    except NotFoundError:
        return None


async def schedules_of(env, token: str) -> dict[str, int]:
    info = await env.js.stream_info(SCHEDULES_STREAM, subjects_filter=f"schedules.deadline.{token}.>")
    return info.state.subjects or {}


async def reminders_set(env, token: str, count: int):
    subjects = await schedules_of(env, token)
    return subjects if len(subjects) == count else None


def at_header(message) -> datetime:
    value = message.headers["Nats-Schedule"]
    assert value.startswith("@at ")
    return datetime.fromisoformat(value.removeprefix("@at "))


async def reminder_events(env, institution_id: str) -> list[dict[str, Any]]:
    """The comitas.deadline.reminder events in the outbox (what the other channels deliver)."""
    from comitas_notifications.models import tables

    database = Database(env.database_url)
    try:
        async with database.transaction() as session:
            rows = await session.execute(select(tables.outbox.c.envelope).where(
                tables.outbox.c.event_type == "comitas.deadline.reminder",
                tables.outbox.c.institution_id == institution_id))
            return [envelope for (envelope,) in rows.all()]
    finally:
        await database.dispose()


async def set_reminders(api, kind: str, before: list[str], *, on_the_day: bool = False, overdue: bool = True):
    response = await api.put(f"/v1/reminder-settings/{kind}",
                             json={"before": before, "on_the_day": on_the_day, "overdue": overdue})
    assert response.status_code == 200, response.text
    return response.json()


# --- timers -------------------------------------------------------------------------------------


async def test_a_requested_deadline_is_stored_and_gets_its_timers(env, institution):
    key = f"ecthr:{uuid.uuid4()}"
    day = (datetime.now(UTC) + timedelta(days=40)).date()
    due = end_of(day)
    await env.publish(requested(institution.id, key, due))

    [deadline] = await eventually(lambda: deadlines(institution.api), timeout=5)
    assert deadline["deadline_key"] == key and deadline["state"] == "open" and deadline["standing"] == "upcoming"
    assert datetime.fromisoformat(deadline["due_at"]) == due
    assert deadline["last_day"] == day.isoformat() and deadline["time_zone"] == ZONE
    assert deadline["rule"] == {"provision": "ECHR Art 35(1)", "status": "confirmed"}
    assert deadline["owner_institution_id"] == institution.id and deadline["concerns"] == [institution.id]

    token = deadline_token(institution.id, key)
    subjects = await eventually(lambda: reminders_set(env, token, 5), timeout=5)
    assert set(subjects) == {schedule_subject(token, r) for r in DEFAULT_REMINDERS}
    for reminder, before in (("d14", 14), ("d3", 3), ("d1", 1), ("overdue", 0)):
        message = await schedule(env, token, reminder)
        assert at_header(message) == due - timedelta(days=before)
        assert message.headers["Nats-Schedule-Target"] == reminder_subject(token, reminder)
        body = json.loads(message.data)
        assert body["deadline_id"] == deadline["id"] and body["reminder"] == reminder
        assert body["institution_id"] == institution.id
    assert at_header(await schedule(env, token, "day")).astimezone(UTC).hour in (8, 7)  # 09:00 in Paris
    [listed] = await deadlines(institution.api)
    assert listed["reminders"] == ["d14", "d3", "d1", "day", "overdue"]


async def test_a_deadline_due_in_two_seconds_lands_in_the_inbox_with_its_reminder_event(env, institution):
    key = f"ecthr:{uuid.uuid4()}"
    due = datetime.now(UTC) + timedelta(seconds=2)
    await env.publish(requested(institution.id, key, due, title="Rule 39 request", case_ref="CMP-R39"))
    token = deadline_token(institution.id, key)
    message = await eventually(lambda: schedule(env, token, "overdue"), timeout=5)
    assert await schedules_of(env, token) == {message.subject: 1}  # d14/d3/d1/day are past

    [item] = await eventually(lambda: inbox(institution.api), timeout=10)
    assert item["title"] == "Deadline passed: Rule 39 request" and item["case_ref"] == "CMP-R39"
    assert item["deadline_key"] == key and item["reminder"] == "overdue" and item["read"] is False
    assert abs(datetime.fromisoformat(item["due_at"]) - due) < timedelta(milliseconds=1)
    # Fired by the timer, not at once: after `due`, about two seconds after the publish.
    assert datetime.fromisoformat(item["created_at"]) >= due - timedelta(milliseconds=100)
    assert await schedule(env, token, "overdue") is None  # the server removed the fired schedule
    [event] = await eventually(lambda: reminder_events(env, institution.id), timeout=5)
    assert event["id"] == item["event_id"] and event["concerns"] == [institution.id]
    assert event["data"]["reminder"] == "overdue" and event["data"]["case_ref"] == "CMP-R39"
    assert event["data"]["last_day"] == item["last_day"] and event["data"]["time_zone"] == ZONE
    [deadline] = await deadlines(institution.api)
    assert deadline["standing"] == "overdue"


async def test_a_moved_deadline_replaces_its_timers(env, institution):
    key = f"ecthr:{uuid.uuid4()}"
    first = end_of((datetime.now(UTC) + timedelta(days=40)).date())
    await env.publish(requested(institution.id, key, first))
    token = deadline_token(institution.id, key)
    old = await eventually(lambda: schedule(env, token, "overdue"), timeout=5)
    assert at_header(old) == first

    moved = end_of(first.date() + timedelta(days=10))
    await env.publish(requested(institution.id, key, moved))

    async def replaced():
        message = await schedule(env, token, "overdue")
        return message if message and at_header(message) == moved else None

    new = await eventually(replaced, timeout=5)
    assert new.seq != old.seq
    assert len(await schedules_of(env, token)) == 5  # one message per reminder, not ten
    [deadline] = await deadlines(institution.api)
    assert datetime.fromisoformat(deadline["due_at"]) == moved


async def test_a_deadline_moved_closer_drops_reminders_now_in_the_past(env, institution):
    key = f"ecthr:{uuid.uuid4()}"
    far = end_of((datetime.now(UTC) + timedelta(days=40)).date())
    await env.publish(requested(institution.id, key, far))
    token = deadline_token(institution.id, key)
    await eventually(lambda: reminders_set(env, token, 5), timeout=5)
    near = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2, hours=12)
    await env.publish(requested(institution.id, key, near))

    async def moved():
        message = await schedule(env, token, "overdue")
        return message if message and at_header(message) == near else None

    await eventually(moved, timeout=5)
    subjects = await schedules_of(env, token)
    assert schedule_subject(token, "d14") not in subjects and schedule_subject(token, "d3") not in subjects
    assert {schedule_subject(token, "d1"), schedule_subject(token, "overdue")} <= set(subjects)


async def test_a_withdrawn_deadline_loses_its_timers_and_never_reminds(env, institution):
    key = f"ecthr:{uuid.uuid4()}"
    due = datetime.now(UTC) + timedelta(seconds=2)
    await env.publish(requested(institution.id, key, due))
    token = deadline_token(institution.id, key)
    await eventually(lambda: schedule(env, token, "overdue"), timeout=5)
    await env.publish(withdrawn(institution.id, key))

    async def purged():
        return await schedules_of(env, token) == {}

    await eventually(purged, timeout=5)
    [deadline] = await eventually(lambda: deadlines(institution.api, state="withdrawn"), timeout=5)
    assert deadline["closed_reason"] == "withdrawn" and deadline["standing"] == "withdrawn"
    await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 1.0)
    assert await inbox(institution.api) == []
    assert await deadlines(institution.api, state="open") == []


async def test_meeting_a_deadline_purges_every_pending_reminder_schedule(env, institution):
    """Acceptance 1: read the SCHEDULES stream itself, before and after the deadline is met."""
    key = f"ecthr:{uuid.uuid4()}"
    await env.publish(requested(institution.id, key, end_of((datetime.now(UTC) + timedelta(days=40)).date())))
    token = deadline_token(institution.id, key)
    before = await eventually(lambda: reminders_set(env, token, 5), timeout=5)
    assert set(before) == {schedule_subject(token, r) for r in DEFAULT_REMINDERS}
    await env.publish(withdrawn(institution.id, key, reason="met"))
    [deadline] = await eventually(lambda: deadlines(institution.api, state="met"), timeout=5)
    assert deadline["closed_reason"] == "met" and deadline["standing"] == "met"

    async def none_left():
        return await schedules_of(env, token) == {}

    await eventually(none_left, timeout=5)
    for reminder in DEFAULT_REMINDERS:
        assert await schedule(env, token, reminder) is None


async def test_a_timer_that_fires_for_a_moved_deadline_is_ignored(env, institution):
    """The handler re-checks: a reminder for a due time the deadline no longer has records nothing."""
    key = f"ecthr:{uuid.uuid4()}"
    due = datetime.now(UTC) + timedelta(seconds=1)
    await env.publish(requested(institution.id, key, due))
    token = deadline_token(institution.id, key)
    message = await eventually(lambda: schedule(env, token, "overdue"), timeout=5)
    # The timer fires for `due`; the deadline has meanwhile moved (its row says so) but the timer's
    # replacement has not reached NATS yet: simulate by moving the row only.
    database = Database(env.database_url)
    try:
        async with database.transaction() as session:
            await session.execute(update(Deadline).where(Deadline.institution_id == institution.id,
                                                         Deadline.deadline_key == key)
                                  .values(due_at=due + timedelta(days=5)))
    finally:
        await database.dispose()

    async def fired():
        try:
            return await env.js.get_last_msg(SCHEDULES_STREAM, reminder_subject(token, "overdue"))
        except NotFoundError:
            return None

    fired_message = await eventually(fired, timeout=5)
    # "Nothing happened" only means something once the handler has run: wait until the reminders
    # consumer has acknowledged this very message (it acks after its transaction commits).
    await eventually(lambda: _acknowledged_by_reminders(env, fired_message.seq), timeout=10)
    assert await inbox(institution.api) == []
    assert await reminder_events(env, institution.id) == []
    assert json.loads(message.data)["reminder"] == "overdue"


async def _acknowledged_by_reminders(env, sequence: int) -> bool:
    from comitas_notifications.deadlines.consumers import REMINDERS_CONSUMER

    info = await env.js.consumer_info(SCHEDULES_STREAM, REMINDERS_CONSUMER)
    return info.ack_floor is not None and (info.ack_floor.stream_seq or 0) >= sequence


async def test_the_reconciler_publishes_timers_lost_between_commit_and_publish(env, institution):
    """A crash after the consumer's commit and before the publish: the row is there, NATS has nothing,
    and the in-memory request to sync is gone with the process. A fresh timers task (the restarted
    process) finds the row lagging and publishes."""
    from comitas_notifications.deadlines.timers import DeadlineTimers

    state = env.app.state
    crashed = state.timers
    await crashed.stop()
    key = f"ecthr:{uuid.uuid4()}"
    due = end_of((datetime.now(UTC) + timedelta(days=40)).date())
    token = deadline_token(institution.id, key)
    try:
        await env.publish(requested(institution.id, key, due))
        await eventually(lambda: deadlines(institution.api), timeout=5)
        assert await _row(env, institution.id, key, "schedule_revision") is None
        assert await schedules_of(env, token) == {}
    finally:
        state.timers = DeadlineTimers(database=crashed.database, nats=crashed.nats, settings=crashed.settings,
                                      policy=crashed.policy)
        state.timers.start()
    subjects = await eventually(lambda: reminders_set(env, token, 5), timeout=5)
    assert len(subjects) == 5
    assert await _row(env, institution.id, key, "scheduled_for") == due
    assert await _row(env, institution.id, key, "schedule_revision") == 1


async def _row(env, institution_id: str, key: str, column: str):
    database = Database(env.database_url)
    try:
        async with database.transaction() as session:
            row = (await session.execute(select(Deadline).where(Deadline.institution_id == institution_id,
                                                                Deadline.deadline_key == key))).scalar_one()
            return getattr(row, column)
    finally:
        await database.dispose()


# --- counted like the law ---------------------------------------------------------------------------


def french_period(amount: int, unit: str, *, cap: ExtensionCap | None = None) -> DeadlineCounting:
    """From Friday 29 October 2027, the Friday before All Saints' Day (Mon 1 Nov, a French holiday)."""
    return DeadlineCounting(start=date(2027, 10, 29), amount=amount, unit=unit,  # type: ignore[arg-type]
                            calendar=DeadlineCalendar(country="FR", time_zone="Europe/Paris"), extension_cap=cap)


def owner_event(event_type, data):
    return event_type.build(source="/comitas/mla", subject="mla-1", institution_id=data.institution_id,
                            time=datetime.now(UTC), data=data)


async def test_a_counted_deadline_ends_on_the_right_day_and_a_pause_moves_it(env, institution):
    """Acceptance 1: ten working days from the Friday before a public holiday of the counting State; the
    same in calendar days; a pause of five days moves the calendar-day deadline by five, and while it is
    paused it has no reminders at all."""
    working, calendar = f"mla:{uuid.uuid4()}", f"mla:{uuid.uuid4()}"
    naive = end_of(date(2027, 11, 12))  # what a weekend-only count would say: notifications counts itself
    await env.publish(requested(institution.id, working, naive, kind="acknowledgement",
                                counting=french_period(10, "working_days")))
    await env.publish(requested(institution.id, calendar, naive, kind="acknowledgement",
                                counting=french_period(10, "calendar_days")))

    async def both():
        items = {d["deadline_key"]: d for d in await deadlines(institution.api)}
        return items if len(items) == 2 else None

    items = await eventually(both, timeout=20)  # the first count in a process loads the holidays library
    by_working = items[working]
    assert by_working["last_day"] == "2027-11-16" and by_working["time_zone"] == "Europe/Paris"
    assert datetime.fromisoformat(by_working["due_at"]) == datetime(2027, 11, 16, 22, 59, 59, 999000, tzinfo=UTC)
    assert by_working["holidays_version"] == HOLIDAYS_VERSION and by_working["complete"] is True
    assert "FR public holidays" in by_working["calendar"] and by_working["counting"]["unit"] == "working_days"
    assert any("All Saints' Day" in line for line in by_working["explanation"])
    assert items[calendar]["last_day"] == "2027-11-08"

    token = deadline_token(institution.id, calendar)
    await eventually(lambda: reminders_set(env, token, 5), timeout=5)
    await env.publish(owner_event(DEADLINE_PAUSED, DeadlinePaused(
        deadline_key=calendar, institution_id=institution.id, paused_on=date(2027, 11, 2),
        reason="clarification requested")))

    async def paused():
        found = await deadlines(institution.api, state="paused")
        return found[0] if len(found) == 1 and await schedules_of(env, token) == {} else None

    during = await eventually(paused, timeout=5)
    assert during["paused_since"] == "2027-11-02" and during["standing"] == "paused" and during["reminders"] == []
    await env.publish(owner_event(DEADLINE_RESUMED, DeadlineResumed(
        deadline_key=calendar, institution_id=institution.id, resumed_on=date(2027, 11, 7))))

    async def resumed():
        found = [d for d in await deadlines(institution.api, state="upcoming") if d["deadline_key"] == calendar]
        return found[0] if found and found[0]["last_day"] == "2027-11-13" else None

    after = await eventually(resumed, timeout=5)
    assert after["pauses"] == [{"paused_on": "2027-11-02", "resumed_on": "2027-11-07",
                                "reason": "clarification requested"}]
    subjects = await eventually(lambda: reminders_set(env, token, 5), timeout=5)
    overdue = await schedule(env, token, "overdue")
    assert at_header(overdue) == datetime(2027, 11, 13, 22, 59, 59, 999000, tzinfo=UTC) and len(subjects) == 5


async def test_an_extension_moves_a_counted_deadline_within_its_cap_only(env, institution):
    key = f"mla:{uuid.uuid4()}"
    cap = ExtensionCap(amount=30, unit="calendar_days", provision="EIO Directive Art 12(5)")
    await env.publish(requested(institution.id, key, end_of(date(2027, 11, 8)),
                                counting=french_period(10, "calendar_days", cap=cap)))
    await eventually(lambda: deadlines(institution.api), timeout=5)
    granted = datetime.now(UTC)
    for n, amount in enumerate((20, 11)):  # the second would pass the cap (30 days from 8 Nov, 20 granted)
        event = owner_event(DEADLINE_EXTENDED, DeadlineExtended(
            deadline_key=key, institution_id=institution.id, amount=amount, unit="calendar_days",
            reason="a hearing is needed"))
        await env.publish(event.model_copy(update={"time": granted + timedelta(seconds=n)}))

    async def settled():
        [found] = await deadlines(institution.api)
        return found if len(found["extensions"]) == 2 else None

    deadline = await eventually(settled, timeout=5)
    assert deadline["last_day"] == "2027-11-28"
    assert [(e["amount"], e["refused"]) for e in deadline["extensions"]] == [(20, False), (11, True)]


# --- the institutions concerned, and their own reminders -----------------------------------------------


async def test_each_institution_concerned_gets_its_own_copy_and_timers(env, institution):
    other = env.new_institution()
    key = f"referral:{uuid.uuid4()}"
    due = end_of((datetime.now(UTC) + timedelta(days=40)).date())
    await env.publish(requested(institution.id, key, due, concerns=[institution.id, other]))
    async with env.client(other) as other_api:
        [theirs] = await eventually(lambda: deadlines(other_api), timeout=5)
        [mine] = await eventually(lambda: deadlines(institution.api), timeout=5)
        assert theirs["id"] != mine["id"] and theirs["owner_institution_id"] == institution.id
        assert theirs["concerns"] == mine["concerns"] == [institution.id, other]
        own_token, other_token = deadline_token(institution.id, key), deadline_token(other, key, owner=institution.id)
        assert own_token != other_token
        await eventually(lambda: reminders_set(env, own_token, 5), timeout=5)
        await eventually(lambda: reminders_set(env, other_token, 5), timeout=5)

        # Only the other institution must act from now on: the owner's copy is closed, its timers purged.
        await env.publish(requested(institution.id, key, due, concerns=[other]))
        [closed] = await eventually(lambda: deadlines(institution.api, state="withdrawn"), timeout=5)
        assert closed["closed_reason"] == "no_longer_concerned"
        await eventually(lambda: _none(env, own_token), timeout=5)
        assert len(await schedules_of(env, other_token)) == 5
        # The owner's withdrawal reaches every copy.
        await env.publish(withdrawn(institution.id, key, reason="met"))
        await eventually(lambda: deadlines(other_api, state="met"), timeout=5)
        await eventually(lambda: _none(env, other_token), timeout=5)


async def _none(env, token: str) -> bool:
    return await schedules_of(env, token) == {}


async def test_reminders_fire_at_the_institutions_own_offsets(env, institution):
    """Acceptance 2 (short offsets): 4 s and 2 s before, and overdue; each once in the inbox, each with its
    reminder event; created when its timer fired."""
    kind = f"short-{uuid.uuid4().hex[:8]}"
    setting = await set_reminders(institution.api, kind, ["4s", "2s"])
    assert setting == {"kind": kind, "before": ["4s", "2s"], "on_the_day": False, "overdue": True,
                       "default": False, "updated_at": setting["updated_at"]}
    key = f"k:{uuid.uuid4()}"
    due = datetime.now(UTC) + timedelta(seconds=6)
    await env.publish(requested(institution.id, key, due, kind=kind))

    async def three():
        items = await inbox(institution.api)
        return items if len(items) == 3 else None

    items = await eventually(three, timeout=15)
    fired = {i["reminder"]: datetime.fromisoformat(i["created_at"]) for i in items}
    assert set(fired) == {"s4", "s2", "overdue"}
    for name, before in (("s4", 4), ("s2", 2), ("overdue", 0)):
        assert due - timedelta(seconds=before) - timedelta(milliseconds=100) <= fired[name] \
            <= due - timedelta(seconds=before) + timedelta(seconds=3)
    events = await reminder_events(env, institution.id)
    assert sorted(e["data"]["reminder"] for e in events) == ["overdue", "s2", "s4"]
    assert {e["id"] for e in events} == {i["event_id"] for i in items}
    await asyncio.sleep(1.0)
    assert len(await inbox(institution.api)) == 3


async def test_changing_the_offsets_retimes_open_deadlines_of_that_kind(env, institution):
    kind = f"retimed-{uuid.uuid4().hex[:8]}"
    key = f"k:{uuid.uuid4()}"
    await env.publish(requested(institution.id, key, end_of((datetime.now(UTC) + timedelta(days=40)).date()),
                                kind=kind))
    token = deadline_token(institution.id, key)
    await eventually(lambda: reminders_set(env, token, 5), timeout=5)
    await set_reminders(institution.api, kind, ["7d"], overdue=False)
    subjects = await eventually(lambda: reminders_set(env, token, 1), timeout=5)
    assert set(subjects) == {schedule_subject(token, "d7")}
    back = await institution.api.delete(f"/v1/reminder-settings/{kind}")
    assert back.status_code == 200 and back.json()["default"] is True
    assert back.json()["before"] == ["14d", "3d", "1d"]
    await eventually(lambda: reminders_set(env, token, 5), timeout=5)
    assert (await institution.api.delete(f"/v1/reminder-settings/{kind}")).status_code == 404


async def test_reminder_settings_are_checked_and_need_their_scope(env, institution):
    bad = await institution.api.put("/v1/reminder-settings/filing", json={"before": ["3 weeks"]})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    unknown_field = await institution.api.put("/v1/reminder-settings/filing", json={"before": [], "x": 1})
    assert unknown_field.status_code == 422
    async with env.client(institution.id, scopes=["deadlines:read"]) as reader:
        assert (await reader.put("/v1/reminder-settings/filing", json={"before": []})).status_code == 403
        current = await reader.get("/v1/reminder-settings/filing")
        assert current.status_code == 200 and current.json()["default"] is True
    listed = await institution.api.get("/v1/reminder-settings")
    assert listed.status_code == 200 and listed.json() == []


# --- the list's filters, and the inbox ---------------------------------------------------------------


async def test_deadlines_filter_by_case_kind_state_and_last_day(env, institution):
    today = datetime.now(UTC)
    specs = [("a", "CASE-A", "filing", end_of((today + timedelta(days=20)).date())),
             ("b", "CASE-B", "acknowledgement", end_of((today + timedelta(days=40)).date())),
             ("c", "CASE-A", "acknowledgement", today - timedelta(hours=1)),
             ("d", "CASE-B", "filing", end_of((today + timedelta(days=60)).date()))]
    keys = {}
    for name, case, kind, due in specs:
        keys[name] = f"{name}:{uuid.uuid4()}"
        await env.publish(requested(institution.id, keys[name], due, case_ref=case, kind=kind))
    await eventually(lambda: len_is(institution.api, 4), timeout=5)
    await env.publish(withdrawn(institution.id, keys["d"], reason="met"))
    await eventually(lambda: deadlines(institution.api, state="met"), timeout=5)

    async def names(**params) -> list[str]:
        found = {d["deadline_key"] for d in await deadlines(institution.api, **params)}
        return sorted(n for n, k in keys.items() if k in found)

    assert await names(case_ref="CASE-A") == ["a", "c"]
    assert await names(kind="acknowledgement") == ["b", "c"]
    assert await names(state="overdue") == ["c"]
    assert await names(state="upcoming") == ["a", "b"]
    assert await names(state="met") == ["d"]
    assert await names(state="open") == ["a", "b", "c"]
    assert await names(state="due") == []
    window = {"last_day_from": (today + timedelta(days=10)).date().isoformat(),
              "last_day_to": (today + timedelta(days=45)).date().isoformat()}
    assert await names(**window) == ["a", "b"]
    assert await names(case_ref="CASE-B", **window) == ["b"]
    assert (await institution.api.get("/v1/deadlines", params={"state": "late"})).status_code == 422
    one = (await deadlines(institution.api, case_ref="CASE-A", kind="filing"))[0]
    fetched = await institution.api.get(f"/v1/deadlines/{one['id']}")
    assert fetched.status_code == 200 and fetched.json()["deadline_key"] == keys["a"]
    async with env.client(env.new_institution()) as other:
        assert (await other.get(f"/v1/deadlines/{one['id']}")).status_code == 404


async def len_is(api, n: int) -> bool:
    return len(await deadlines(api)) == n


async def test_inbox_items_are_read_unread_marked_all_and_filtered_by_case(env, institution):
    kind = f"inbox-{uuid.uuid4().hex[:8]}"
    await set_reminders(institution.api, kind, ["1s"])
    soon = datetime.now(UTC) + timedelta(seconds=2)
    for case in ("CASE-1", "CASE-1", "CASE-2"):
        await env.publish(requested(institution.id, f"k:{uuid.uuid4()}", soon, kind=kind, case_ref=case))

    async def six():
        items = await inbox(institution.api)
        return items if len(items) == 6 else None

    items = await eventually(six, timeout=10)
    assert {i["case_ref"] for i in items} == {"CASE-1", "CASE-2"}
    assert len(await inbox(institution.api, case_ref="CASE-1")) == 4
    first = items[0]["id"]
    read = await institution.api.post(f"/v1/inbox/{first}/read")
    assert read.status_code == 200 and read.json()["read"] is True and read.json()["read_at"]
    assert [i["id"] for i in await inbox(institution.api, read=True)] == [first]
    unread = await institution.api.post(f"/v1/inbox/{first}/unread")
    assert unread.json()["read"] is False and unread.json()["read_at"] is None
    marked = await institution.api.post("/v1/inbox/read-all", json={"case_ref": "CASE-2"})
    assert marked.status_code == 200 and marked.json() == {"marked": 2}
    assert len(await inbox(institution.api, read=False)) == 4
    assert (await institution.api.post("/v1/inbox/read-all")).json() == {"marked": 4}
    assert await inbox(institution.api, read=False) == []
    async with env.client(env.new_institution()) as other:
        assert (await other.post(f"/v1/inbox/{first}/read")).status_code == 404
    assert (await institution.api.post("/v1/inbox/nope/read")).status_code == 404


async def test_deadlines_and_inbox_are_private_and_need_their_scope(env, institution):
    key = f"ecthr:{uuid.uuid4()}"
    await env.publish(requested(institution.id, key, datetime.now(UTC) + timedelta(seconds=1)))
    await eventually(lambda: inbox(institution.api), timeout=10)
    async with env.client(env.new_institution()) as other:
        assert await deadlines(other) == []
        assert await inbox(other) == []
    async with env.client(institution.id, scopes=["subscriptions:manage"]) as unscoped:
        assert (await unscoped.get("/v1/deadlines")).status_code == 403
        assert (await unscoped.get("/v1/inbox")).status_code == 403
    async with env.client(institution.id, scopes=["deadlines:read"]) as reader:
        assert len(await deadlines(reader)) == 1
        assert (await reader.get("/v1/subscriptions")).status_code == 403


async def test_deadlines_are_listed_soonest_first_in_pages(env, institution):
    now = datetime.now(UTC).replace(microsecond=0)
    keys = [f"k-{i}-{uuid.uuid4()}" for i in range(3)]
    for days, key in zip((50, 20, 35), keys, strict=True):
        await env.publish(requested(institution.id, key, now + timedelta(days=days)))

    async def three():
        items = await deadlines(institution.api)
        return items if len(items) == 3 else None

    items = await eventually(three, timeout=5)
    assert [d["deadline_key"] for d in items] == [keys[1], keys[2], keys[0]]
    page = (await institution.api.get("/v1/deadlines", params={"limit": 2})).json()
    rest = (await institution.api.get("/v1/deadlines", params={"limit": 2, "cursor": page["next_cursor"]})).json()
    assert [d["deadline_key"] for d in page["items"] + rest["items"]] == [keys[1], keys[2], keys[0]]
    assert rest["next_cursor"] is None


async def test_an_older_event_arriving_late_does_not_undo_a_newer_one(env, institution):
    key = f"ecthr:{uuid.uuid4()}"
    now = datetime.now(UTC).replace(microsecond=0)
    newer = requested(institution.id, key, now + timedelta(days=40), at=now)
    older = requested(institution.id, key, now + timedelta(days=5), at=now - timedelta(minutes=1))
    await env.publish(newer)
    await eventually(lambda: deadlines(institution.api), timeout=5)
    await env.publish(older)
    probe_key = f"probe:{uuid.uuid4()}"
    await env.publish(requested(institution.id, probe_key, now + timedelta(days=60)))

    async def both():
        items = await deadlines(institution.api)
        return items if len(items) == 2 else None

    items = await eventually(both, timeout=5)
    [deadline] = [d for d in items if d["deadline_key"] == key]
    assert datetime.fromisoformat(deadline["due_at"]) == now + timedelta(days=40)


async def test_two_replicas_record_one_inbox_item_per_reminder(env, institution):
    """Acceptance 2: a second notifications on the same database and NATS; every reminder of twenty
    deadlines yields exactly one inbox item and one reminder event."""
    from comitas_notifications.main import create_app

    second = await ServedApp(create_app(env.app.state.settings)).start()
    try:
        await second.app.state.platform.nats.wait_ready(timeout=10)
        kind = f"replicas-{uuid.uuid4().hex[:8]}"
        await set_reminders(institution.api, kind, ["4s", "2s"])
        due = datetime.now(UTC) + timedelta(seconds=10)
        for n in range(20):
            await env.publish(requested(institution.id, f"r{n}:{uuid.uuid4()}", due, kind=kind))

        async def sixty():
            return await _inbox_count(env, institution.id) >= 60

        await eventually(sixty, timeout=30)
        await asyncio.sleep(1.5)  # room for a double to show up
        assert await _inbox_count(env, institution.id) == 60
        events = await reminder_events(env, institution.id)
        assert len(events) == 60 and len({e["id"] for e in events}) == 60
    finally:
        await second.stop()


async def _inbox_count(env, institution_id: str) -> int:
    from comitas_notifications.inbox.models import InboxItem

    database = Database(env.database_url)
    try:
        async with database.transaction() as session:
            return (await session.execute(select(func.count()).select_from(InboxItem).where(
                InboxItem.institution_id == institution_id))).scalar_one()
    finally:
        await database.dispose()


@pytest.mark.parametrize("reminder", ["d14", "d3", "d1", "day", "overdue", "s10"])
def test_schedule_subjects_are_valid_nats_tokens(reminder):
    for token in (deadline_token("inst", "key with spaces.and.dots>*"),
                  deadline_token("inst", "key with spaces.and.dots>*", owner="other")):
        assert "." not in token and " " not in token and ">" not in token and "*" not in token
        assert schedule_subject(token, reminder).count(".") == 3


async def test_a_pause_that_arrives_before_its_deadline_is_applied_once_the_deadline_is(env, institution):
    """Workers and replicas share the consumer: a pause may be handled before the request it follows. It
    is retried, not dropped."""
    key = f"mla:{uuid.uuid4()}"
    await env.publish(owner_event(DEADLINE_PAUSED, DeadlinePaused(
        deadline_key=key, institution_id=institution.id, paused_on=date(2027, 11, 2), reason="clarification")))
    await asyncio.sleep(0.5)
    await env.publish(requested(institution.id, key, end_of(date(2027, 11, 8)),
                                counting=french_period(10, "calendar_days")))

    async def paused():
        found = await deadlines(institution.api, state="paused")
        return found[0] if found else None

    deadline = await eventually(paused, timeout=15)
    assert deadline["paused_since"] == "2027-11-02"
