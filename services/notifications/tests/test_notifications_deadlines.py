"""Deadlines from their owners' events to durable timers in JetStream and reminders in the inbox."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nats.js.errors import NotFoundError
from sqlalchemy import update

from comitas_notifications.deadlines.models import Deadline
from comitas_notifications.deadlines.timers import (
    SCHEDULES_STREAM,
    deadline_token,
    reminder_subject,
    schedule_subject,
)
from comitas_shared.db import Database
from comitas_shared.events.catalogue import (
    DEADLINE_REQUESTED,
    DEADLINE_WITHDRAWN,
    DeadlineRequested,
    DeadlineWithdrawn,
)
from comitas_shared.testing import eventually


def requested(institution_id: str, key: str, due_at: datetime, *, title: str = "Application to the ECtHR",
              at: datetime | None = None):
    return DEADLINE_REQUESTED.build(
        source="/comitas/intake", subject="complaint-1", institution_id=institution_id, time=at or datetime.now(UTC),
        data=DeadlineRequested(deadline_key=key, institution_id=institution_id, kind="filing", title=title,
                               case_ref="CMP-2026-0001", mechanism="ecthr", last_day=due_at.date(),
                               time_zone="Europe/Strasbourg", due_at=due_at, calendar="calendar days",
                               hard=True, rule={"provision": "ECHR Art 35(1)", "status": "confirmed"}))


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


async def schedule(env, institution_id: str, key: str, reminder: str):
    try:
        return await env.js.get_last_msg(SCHEDULES_STREAM, schedule_subject(deadline_token(institution_id, key), reminder))
    except NotFoundError:
        return None


async def schedules_of(env, institution_id: str, key: str) -> dict[str, int]:
    info = await env.js.stream_info(SCHEDULES_STREAM, subjects_filter=f"schedules.deadline.{deadline_token(institution_id, key)}.>")
    return info.state.subjects or {}


def at_header(message) -> datetime:
    value = message.headers["Nats-Schedule"]
    assert value.startswith("@at ")
    return datetime.fromisoformat(value.removeprefix("@at "))


async def test_a_requested_deadline_is_stored_and_gets_its_timers(env, institution):
    key = f"ecthr:{uuid.uuid4()}"
    due = (datetime.now(UTC) + timedelta(days=40)).replace(microsecond=0)
    await env.publish(requested(institution.id, key, due))

    [deadline] = await eventually(lambda: deadlines(institution.api), timeout=5)
    assert deadline["deadline_key"] == key and deadline["state"] == "open"
    assert datetime.fromisoformat(deadline["due_at"]) == due
    assert deadline["last_day"] == due.date().isoformat() and deadline["time_zone"] == "Europe/Strasbourg"
    assert deadline["rule"] == {"provision": "ECHR Art 35(1)", "status": "confirmed"}

    subjects = await eventually(lambda: _all_four(env, institution.id, key), timeout=5)
    assert set(subjects) == {schedule_subject(deadline_token(institution.id, key), r) for r in ("d30", "d7", "d1", "due")}
    token = deadline_token(institution.id, key)
    for reminder, before in (("d30", 30), ("d7", 7), ("d1", 1), ("due", 0)):
        message = await schedule(env, institution.id, key, reminder)
        assert at_header(message) == due - timedelta(days=before)
        assert message.headers["Nats-Schedule-Target"] == reminder_subject(token, reminder)
        body = json.loads(message.data)
        assert body["deadline_id"] == deadline["id"] and body["reminder"] == reminder
        assert body["institution_id"] == institution.id


async def _all_four(env, institution_id, key):
    subjects = await schedules_of(env, institution_id, key)
    return subjects if len(subjects) == 4 else None


async def test_a_deadline_due_in_two_seconds_lands_in_the_inbox(env, institution):
    key = f"ecthr:{uuid.uuid4()}"
    due = datetime.now(UTC) + timedelta(seconds=2)
    await env.publish(requested(institution.id, key, due, title="Rule 39 request"))
    message = await eventually(lambda: schedule(env, institution.id, key, "due"), timeout=5)
    assert await schedules_of(env, institution.id, key) == {message.subject: 1}  # d30/d7/d1 are past

    [item] = await eventually(lambda: inbox(institution.api), timeout=10)
    assert item["title"] == "Deadline reached: Rule 39 request"
    assert item["deadline_key"] == key and item["reminder"] == "due" and item["read"] is False
    assert abs(datetime.fromisoformat(item["due_at"]) - due) < timedelta(milliseconds=1)
    # Fired by the timer, not at once: well after the publish, about two seconds before `due`.
    assert datetime.fromisoformat(item["created_at"]) >= due - timedelta(seconds=1)
    assert await schedule(env, institution.id, key, "due") is None  # the server removed the fired schedule
    assert await inbox(institution.api, read=True) == []
    assert len(await inbox(institution.api, read=False)) == 1


async def test_a_moved_deadline_replaces_its_timers(env, institution):
    key = f"ecthr:{uuid.uuid4()}"
    first = (datetime.now(UTC) + timedelta(days=40)).replace(microsecond=0)
    await env.publish(requested(institution.id, key, first))
    old = await eventually(lambda: schedule(env, institution.id, key, "due"), timeout=5)
    assert at_header(old) == first

    moved = first + timedelta(days=10)
    await env.publish(requested(institution.id, key, moved))

    async def replaced():
        message = await schedule(env, institution.id, key, "due")
        return message if message and at_header(message) == moved else None

    new = await eventually(replaced, timeout=5)
    assert new.seq != old.seq
    assert len(await schedules_of(env, institution.id, key)) == 4  # one message per reminder, not eight
    [deadline] = await deadlines(institution.api)
    assert datetime.fromisoformat(deadline["due_at"]) == moved


async def test_a_deadline_moved_closer_drops_reminders_now_in_the_past(env, institution):
    key = f"ecthr:{uuid.uuid4()}"
    far = (datetime.now(UTC) + timedelta(days=40)).replace(microsecond=0)
    await env.publish(requested(institution.id, key, far))
    await eventually(lambda: _all_four(env, institution.id, key), timeout=5)
    near = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    await env.publish(requested(institution.id, key, near))

    async def two_left():
        subjects = await schedules_of(env, institution.id, key)
        return subjects if len(subjects) == 2 else None

    subjects = await eventually(two_left, timeout=5)
    token = deadline_token(institution.id, key)
    assert set(subjects) == {schedule_subject(token, "d1"), schedule_subject(token, "due")}


async def test_a_withdrawn_deadline_loses_its_timers_and_never_reminds(env, institution):
    key = f"ecthr:{uuid.uuid4()}"
    due = datetime.now(UTC) + timedelta(seconds=2)
    await env.publish(requested(institution.id, key, due))
    await eventually(lambda: schedule(env, institution.id, key, "due"), timeout=5)
    await env.publish(withdrawn(institution.id, key))

    async def purged():
        return await schedules_of(env, institution.id, key) == {}

    await eventually(purged, timeout=5)
    [deadline] = await eventually(lambda: deadlines(institution.api, state="withdrawn"), timeout=5)
    assert deadline["closed_reason"] == "withdrawn"
    await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 1.0)
    assert await inbox(institution.api) == []
    assert await deadlines(institution.api, state="open") == []


async def test_a_met_deadline_is_closed_as_met(env, institution):
    key = f"ecthr:{uuid.uuid4()}"
    await env.publish(requested(institution.id, key, datetime.now(UTC) + timedelta(days=40)))
    await eventually(lambda: _all_four(env, institution.id, key), timeout=5)
    await env.publish(withdrawn(institution.id, key, reason="met"))
    [deadline] = await eventually(lambda: deadlines(institution.api, state="met"), timeout=5)
    assert deadline["closed_reason"] == "met"
    await eventually(lambda: _none(env, institution.id, key), timeout=5)


async def _none(env, institution_id, key):
    return await schedules_of(env, institution_id, key) == {}


async def test_a_timer_that_fires_for_a_moved_deadline_is_ignored(env, institution):
    """The handler re-checks: a reminder for a due time the deadline no longer has records nothing."""
    key = f"ecthr:{uuid.uuid4()}"
    due = datetime.now(UTC) + timedelta(seconds=1)
    await env.publish(requested(institution.id, key, due))
    message = await eventually(lambda: schedule(env, institution.id, key, "due"), timeout=5)
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
    token = deadline_token(institution.id, key)

    async def fired():
        try:
            return await env.js.get_last_msg(SCHEDULES_STREAM, reminder_subject(token, "due"))
        except NotFoundError:
            return None

    await eventually(fired, timeout=5)
    await asyncio.sleep(0.5)
    assert await inbox(institution.api) == []
    assert json.loads(message.data)["reminder"] == "due"


async def test_the_reconciler_publishes_timers_lost_between_commit_and_publish(env, institution):
    """A crash after the consumer's commit and before the publish: the row is there, NATS has nothing,
    and the in-memory request to sync is gone with the process. A fresh timers task (the restarted
    process) finds the row lagging and publishes."""
    from comitas_notifications.deadlines.timers import DeadlineTimers

    runtime = env.app.state.notifications
    crashed = runtime.timers
    await crashed.stop()
    key = f"ecthr:{uuid.uuid4()}"
    due = (datetime.now(UTC) + timedelta(days=40)).replace(microsecond=0)
    try:
        await env.publish(requested(institution.id, key, due))
        await eventually(lambda: deadlines(institution.api), timeout=5)
        assert await _row(env, institution.id, key, "schedule_revision") is None
        assert await schedules_of(env, institution.id, key) == {}
    finally:
        runtime.timers = DeadlineTimers(database=crashed.database, nats=crashed.nats, settings=crashed.settings)
        runtime.timers.start()
    subjects = await eventually(lambda: _all_four(env, institution.id, key), timeout=5)
    assert len(subjects) == 4
    assert await _row(env, institution.id, key, "scheduled_for") == due
    assert await _row(env, institution.id, key, "schedule_revision") == 1


async def _row(env, institution_id: str, key: str, column: str):
    from sqlalchemy import select

    database = Database(env.database_url)
    try:
        async with database.transaction() as session:
            row = (await session.execute(select(Deadline).where(Deadline.institution_id == institution_id,
                                                                Deadline.deadline_key == key))).scalar_one()
            return getattr(row, column)
    finally:
        await database.dispose()


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


@pytest.mark.parametrize("reminder", ["d30", "d7", "d1", "due"])
def test_schedule_subjects_are_valid_nats_tokens(reminder):
    token = deadline_token("inst", "key with spaces.and.dots>*")
    assert "." not in token and " " not in token and ">" not in token and "*" not in token
    assert schedule_subject(token, reminder).count(".") == 3
