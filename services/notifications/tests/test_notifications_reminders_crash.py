"""Acceptance 2: no reminder lost or doubled when notifications is killed (SIGKILL) and restarted, and when
NATS is restarted.

notifications runs as a real uvicorn process started with the production command, on a nats-server and
a database of its own (sharing the session's NATS would make it share durable consumer names with the
in-process services, and the test restarts this NATS), with real RS256 access tokens from the tests'
issuer (checked against its JWKS over HTTP).

Wave 1: deadlines whose reminders (8 s and 4 s before, and overdue) fire from 6 s on; the process is
killed as soon as the first reminder is in the inbox, while the others keep firing into JetStream with
nobody consuming; a second process is started. Wave 2: deadlines published to the second process, and
NATS stopped for five seconds while some of their reminders are due. In the end every reminder of both
waves is in the inbox exactly once, with exactly one ``comitas.deadline.reminder`` event, and each was
recorded no earlier than its timer. The restarted process's access log never shows a calendar feed's
token.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import nats
import pytest
from sqlalchemy import select
from test_notifications_deadlines import requested

from comitas_notifications.deadlines.timers import SCHEDULES_STREAM
from comitas_shared import migrations
from comitas_shared.db import Database
from comitas_shared.testing import NatsServer, drop_database, free_port, fresh_database_url

KIND = "crash-test"
OFFSETS = ["8s", "4s"]  # and overdue: three reminders per deadline


@dataclass
class Process:
    log: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def start(self, env: dict[str, str]) -> Process:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", "comitas_notifications.main:create_app",
                 "--host", "127.0.0.1", "--port", str(self.port)],
                env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self

    async def ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                assert self.process is not None and self.process.poll() is None, \
                    f"notifications exited:\n{self.output()[-4000:]}"
                try:
                    if (await http.get(f"{self.url}/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"notifications not ready within {timeout}s:\n{self.output()[-4000:]}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Isolated:
    nats: NatsServer
    database_url: str
    env: dict[str, str]
    tmp: Path


@pytest.fixture
async def isolated(tmp_path: Path, issuer) -> AsyncIterator[Isolated]:
    server = NatsServer(store_dir=tmp_path / "nats").start()
    url = fresh_database_url("notifications_crash", tmp_path)
    migrations.upgrade("comitas_notifications", url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMITAS_", "OTEL_"))}
    env.update({"PYTHONUNBUFFERED": "1", "COMITAS_NOTIFICATIONS_ENVIRONMENT": "test",
                "COMITAS_NOTIFICATIONS_DATABASE_URL": url, "COMITAS_NOTIFICATIONS_NATS_URL": server.url,
                "COMITAS_NOTIFICATIONS_ISSUER": issuer.url, "COMITAS_NOTIFICATIONS_OUTBOX_POLL_SECONDS": "0.2",
                "COMITAS_NOTIFICATIONS_DEADLINE_RECONCILE_SECONDS": "1", "COMITAS_NOTIFICATIONS_OTEL_EXPORTER": "none"})
    try:
        yield Isolated(server, url, env, tmp_path)
    finally:
        server.stop()
        if os.environ.get("DATABASE_URL"):
            drop_database(url)


async def recorded(database: Database, institution_id: str) -> tuple[list[tuple[str, str]], list[str], dict]:
    """(deadline, reminder) of every inbox item, the ids of every reminder event in the outbox, and when
    each item was recorded."""
    from comitas_notifications.inbox.models import InboxItem
    from comitas_notifications.models import tables

    async with database.transaction() as session:
        items = (await session.execute(select(InboxItem.deadline_key, InboxItem.reminder, InboxItem.created_at)
                                       .where(InboxItem.institution_id == institution_id))).all()
        events = (await session.execute(select(tables.outbox.c.event_id).where(
            tables.outbox.c.event_type == "comitas.deadline.reminder",
            tables.outbox.c.institution_id == institution_id))).scalars().all()
    return [(k, r) for k, r, _ in items], list(events), {(k, r): at for k, r, at in items}


def step(what: str) -> None:
    """A line in the test's output (shown when it fails): when each stage of the timeline was reached."""
    print(f"{datetime.now(UTC):%H:%M:%S.%f} {what}", flush=True)


async def wait_for(check, what: str, timeout: float, process: Process) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"no {what} after {timeout}s:\n{process.output()[-4000:]}"
        await asyncio.sleep(0.2)


@pytest.mark.timeout(420)  # two cold starts of the service on a shared machine, and the timers' own seconds
async def test_no_reminder_is_lost_or_doubled_across_a_sigkill_and_a_nats_restart(isolated, issuer):
    institution_id = str(uuid.uuid4())
    headers = {"Authorization": f"Bearer {issuer.token(institution_id)}"}
    database = Database(isolated.database_url)
    first = Process(isolated.tmp / "first.log", free_port()).start(isolated.env)
    second: Process | None = None
    connection = await nats.connect(isolated.nats.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    js = connection.jetstream()
    expected: dict[tuple[str, str], datetime] = {}

    async def publish_wave(name: str, count: int, first_due: float) -> None:
        now = datetime.now(UTC)
        for n in range(count):
            key = f"{name}-{n}:{uuid.uuid4()}"
            due = now + timedelta(seconds=first_due + n)
            event = requested(institution_id, key, due, kind=KIND, case_ref=f"CASE-{name}")
            await js.publish(event.nats_subject, event.nats_body(), headers=event.nats_headers())
            for reminder, before in (("s8", 8), ("s4", 4), ("overdue", 0)):
                expected[(key, reminder)] = due - timedelta(seconds=before)

    async def schedules() -> int:
        info = await js.stream_info(SCHEDULES_STREAM, subjects_filter="schedules.deadline.>")
        return len(info.state.subjects or {})

    async def wave_scheduled(case_ref: str, count: int) -> bool:
        from comitas_notifications.deadlines.models import Deadline

        async with database.transaction() as session:
            rows = (await session.execute(select(Deadline.revision, Deadline.schedule_revision).where(
                Deadline.institution_id == institution_id, Deadline.case_ref == case_ref))).all()
        return len(rows) == count and all(r == s for r, s in rows)

    try:
        await first.ready()
        step("first process ready")
        async with httpx.AsyncClient(base_url=first.url, headers=headers, timeout=10) as api:
            response = await api.put(f"/v1/reminder-settings/{KIND}", json={"before": OFFSETS, "on_the_day": False})
            assert response.status_code == 200, response.text

        # Wave 1, then SIGKILL once the first reminder is recorded.
        await publish_wave("one", 6, first_due=14)
        await wait_for(lambda: _equals(schedules, 18), "wave 1 timers", 20, first)

        async def some_recorded() -> bool:
            return len((await recorded(database, institution_id))[0]) >= 1

        await wait_for(some_recorded, "first reminder", 30, first)
        first.kill()
        step("first process killed")
        killed_with = len((await recorded(database, institution_id))[0])
        assert killed_with < 18, "every reminder was in before the kill: the test proves nothing"

        second = Process(isolated.tmp / "second.log", free_port()).start(isolated.env)
        await second.ready()
        step("second process ready")

        # Wave 2, and NATS away while some of its reminders are due.
        await publish_wave("two", 5, first_due=12)
        await wait_for(lambda: wave_scheduled("CASE-two", 5), "wave 2 timers", 20, second)
        await asyncio.sleep(max(0.0, (min(at for (k, _), at in expected.items() if k.startswith("two"))
                                      - datetime.now(UTC)).total_seconds()))
        isolated.nats.stop()
        step("NATS stopped")
        await asyncio.sleep(5)
        isolated.nats.start()
        step("NATS started again")

        async def all_in() -> bool:
            return len((await recorded(database, institution_id))[0]) >= len(expected)

        await wait_for(all_in, f"all {len(expected)} reminders", 90, second)
        step("every reminder recorded")
        await asyncio.sleep(2)  # room for a double to show up
        items, events, at = await recorded(database, institution_id)
        counts = Counter(items)
        assert set(counts) == set(expected), set(expected) ^ set(counts)
        assert all(n == 1 for n in counts.values()), [k for k, n in counts.items() if n > 1]
        assert len(events) == len(expected) == len(set(events))
        early = {k: (at[k], fire) for k, fire in expected.items() if at[k] < fire - timedelta(milliseconds=50)}
        assert not early, early

        # The restarted process's own access log (the production logging set-up) never shows a feed's token.
        async with httpx.AsyncClient(base_url=second.url, headers=headers, timeout=10) as api:
            feed = (await api.post("/v1/calendar-feeds", json={"label": "crash test"})).json()
        async with httpx.AsyncClient(base_url=second.url, timeout=10) as anonymous:
            calendar = await anonymous.get(httpx.URL(feed["url"]).path)
            assert calendar.status_code == 200 and b"BEGIN:VCALENDAR" in calendar.content
        await asyncio.sleep(0.5)
        log = second.output()
        assert "/v1/calendar-feeds/[redacted].ics" in log and feed["token"] not in log
    finally:
        await connection.close()
        first.stop()
        if second is not None:
            second.stop()
        await database.dispose()


async def _equals(count, n: int) -> bool:
    return await count() == n
