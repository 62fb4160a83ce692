"""Reminders at volume: 100,000 deadlines whose reminders fall due evenly over one minute (about 1,700 a
second), in-app channel (the inbox, and the ``comitas.deadline.reminder`` event each writes).

notifications runs as ``make run`` starts it (uvicorn, its own process, SQLite), on a NATS of its own,
with nothing else on the machine's two cores but this load generator. Each deadline has one reminder,
``overdue``, at its ``due_at`` (the bench's kind is set to that alone), so the schedule's ``@at`` is the
deadline's ``due_at``. Measured:

- ingestion: from the first ``comitas.deadline.requested`` published to the last deadline's timer stored
  in the SCHEDULES stream (consumer transaction, timers published, ``schedule_revision`` recorded);
- firing lag, from each schedule's ``@at``:
  - to NATS producing the reminder (the fired message's stream timestamp): what the server adds;
  - to its inbox item's commit, as a reader sees it: the bench polls the database every
    ``COMMIT_POLL_SECONDS`` for rows past the last ``rowid`` it saw (SQLite has one writer at a time, so
    rowids grow in commit order) and stamps each with the time it first saw it; an upper bound of the
    commit by at most one poll interval. The row's ``created_at`` (taken when its batch is handled, before
    the commit) is printed beside it as the lower bound;
  - to its reminder event leaving the outbox (``published_at``, after the relay's publish);
- notifications' peak resident memory (``VmHWM``) and the load average (the machine is shared: the
  figures mean little without it).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import nats
from sqlalchemy import func, select

import comitas_devstack as devstack
from comitas_shared import migrations
from comitas_shared.clock import real_now
from comitas_shared.db import Database
from comitas_shared.events.catalogue import DEADLINE_REQUESTED, DeadlineRequested
from comitas_shared.testing import free_ports, nats_server_binary

KIND = "bench_reminder"
INSTITUTIONS = 20
ZONE = "Europe/Paris"
STARTUP_TIMEOUT = 180.0
COMMIT_POLL_SECONDS = 0.05
# Issue 12, acceptance 7.
TARGET_INGESTION_PER_SECOND = 1000.0
TARGET_LAG_P99_SECONDS = 1.0
TARGET_RSS_MB = 300.0


@dataclass
class ReminderFigures:
    deadlines: int
    published_in: float = 0.0
    committed_in: float = 0.0
    ingested_in: float = 0.0
    recorded: int = 0
    events_out: int = 0
    inbox_lag: list[float] = field(default_factory=list)
    commit_lag: list[float] = field(default_factory=list)
    fired_lag: list[float] = field(default_factory=list)
    event_lag: list[float] = field(default_factory=list)
    rss_peak_mb: float = 0.0
    # notifications' CPU time (user + system): steadier than wall time on a shared machine.
    cpu_ingesting: float = 0.0
    cpu_firing: float = 0.0
    firing_in: float = 0.0
    load_window: list[float] = field(default_factory=list)
    # What went wrong on the way, from notifications' log: (count, a few distinct lines).
    troubles: tuple[int, list[str]] = (0, [])
    load_before: float = 0.0
    load_after: float = 0.0
    missing: int = 0

    @property
    def ingestion_rate(self) -> float:
        return self.deadlines / self.ingested_in if self.ingested_in else float("nan")


def percentile(values: list[float], p: int) -> float:
    if not values:
        return float("nan")
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


TROUBLE_WORDS = ("failed", "Traceback", "ERROR", "will retry", "not applied")


def troubles(log: Path) -> tuple[int, list[str]]:
    """Lines of notifications' log that say something failed (a batch handled one by one, timers not
    published, an exception): none is expected, and each slows the figures down."""
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines()
                 if any(word in line for word in TROUBLE_WORDS)]
    except OSError:
        return 0, []
    return len(lines), list(dict.fromkeys(line[:200] for line in lines))[:5]


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


async def seed_settings(database_url: str, institutions: list[str], *, kind: str = KIND) -> None:
    """``kind`` (the bench's unless told) gets one reminder, overdue, in every institution (PUT
    /v1/reminder-settings/{kind} does the same; writing the rows spares the bench an identity)."""
    from comitas_notifications.deadlines.models import ReminderSetting
    from comitas_notifications.models import load_all_models

    load_all_models()
    database = Database(database_url)
    try:
        async with database.transaction() as session:
            session.add_all([ReminderSetting(id=str(uuid.uuid4()), institution_id=i, kind=kind, before=[],
                                             on_the_day=False, overdue=True, updated_at=real_now())
                             for i in institutions])
    finally:
        await database.dispose()


async def counts(database: Database) -> tuple[int, int]:
    from comitas_notifications.deadlines.models import Deadline
    from comitas_notifications.inbox.models import InboxItem

    async with database.transaction() as session:
        deadlines = (await session.execute(select(func.count()).select_from(Deadline))).scalar_one()
        inbox = (await session.execute(select(func.count()).select_from(InboxItem))).scalar_one()
    return deadlines, inbox


async def lags(database: Database) -> tuple[list[float], list[float], int]:
    from comitas_notifications.inbox.models import InboxItem
    from comitas_notifications.models import tables

    async with database.transaction() as session:
        items = (await session.execute(select(InboxItem.due_at, InboxItem.created_at))).all()
        events = (await session.execute(select(tables.outbox.c.envelope, tables.outbox.c.published_at).where(
            tables.outbox.c.event_type == "comitas.deadline.reminder"))).all()
    inbox_lag = [(created - due).total_seconds() for due, created in items]
    event_lag = [(published - datetime.fromisoformat(envelope["data"]["fire_at"])).total_seconds()
                 for envelope, published in events if published is not None]
    return inbox_lag, event_lag, len(events)


class CommitWatcher:
    """Stamps each inbox item with the time a reader first sees it committed (module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen: list[tuple[str, datetime]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="commit-watcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _watch(self) -> None:
        connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5)
        try:
            last = 0
            while not self._stop.is_set():
                try:
                    rows = connection.execute("SELECT rowid, due_at FROM inbox_item WHERE rowid > ? ORDER BY rowid",
                                              (last,)).fetchall()
                except sqlite3.OperationalError:  # busy for longer than the timeout: the next poll
                    rows = []
                seen = real_now()
                for rowid, due_at in rows:
                    self.seen.append((due_at, seen))
                    last = max(last, rowid)
                self._stop.wait(COMMIT_POLL_SECONDS)
        finally:
            connection.close()

    def lags(self) -> list[float]:
        return [(seen - datetime.fromisoformat(due).replace(tzinfo=UTC)).total_seconds() for due, seen in self.seen]


async def fired_lags(js: nats.js.JetStreamContext) -> list[float]:
    """From each reminder's ``@at`` (``fire_at`` in its body) to the stream timestamp of the message NATS
    produced: what the server itself adds to the lag."""
    lags: list[float] = []
    subscription = await js.subscribe("reminders.deadline.>", stream="SCHEDULES", ordered_consumer=True)
    try:
        while True:
            try:
                message = await subscription.next_msg(timeout=5.0)
            except (TimeoutError, nats.errors.TimeoutError):
                return lags
            if message.metadata is not None and message.metadata.timestamp is not None:
                fire_at = datetime.fromisoformat(json.loads(message.data)["fire_at"])
                lags.append((message.metadata.timestamp - fire_at).total_seconds())
    finally:
        await subscription.unsubscribe()


async def drive(nats_url: str, database_url: str, pid: int, *, count: int, window: float, margin: float,
                figures: ReminderFigures) -> None:
    connection = await nats.connect(nats_url)
    js = connection.jetstream()
    database = Database(database_url)
    institutions = [str(uuid.uuid4()) for _ in range(INSTITUTIONS)]
    try:
        await seed_settings(database_url, institutions)
        for _ in range(100):  # the service creates its streams on connect
            try:
                await js.stream_info("EVENTS")
                await js.stream_info("SCHEDULES")
                break
            except Exception:  # noqa: BLE001 - not there yet
                await asyncio.sleep(0.2)
        baseline = (await js.stream_info("SCHEDULES")).state.messages
        start = real_now() + timedelta(seconds=margin)
        step = window / count
        print(f"  building {count} deadline events (due {start:%H:%M:%S} + {window:.0f} s) ...", flush=True)
        messages = []
        for n in range(count):
            institution = institutions[n % INSTITUTIONS]
            due = start + timedelta(seconds=n * step)
            event = DEADLINE_REQUESTED.build(
                source="/comitas/bench", subject=f"bench-{n}", institution_id=institution, time=real_now(),
                data=DeadlineRequested(deadline_key=f"bench:{n}:{uuid.uuid4().hex[:8]}", institution_id=institution,
                                       kind=KIND, title=f"Bench deadline {n}", case_ref=f"BENCH-{n // 100}",
                                       last_day=due.date(), time_zone=ZONE, due_at=due, calendar="bench"))
            messages.append((event.nats_subject, event.nats_body(), event.nats_headers()))
        # Watching from the start: a reminder committed before the watcher's first look would be stamped late.
        watcher = CommitWatcher(Path(database_url.split(":///", 1)[1]))
        watcher.start()
        print("  publishing ...", flush=True)
        cpu_began = cpu_seconds(pid)
        began = time.monotonic()
        pending: list[asyncio.Future[object]] = []
        for subject, body, headers in messages:
            pending.append(await js.publish_async(subject, body, headers=headers))
            if len(pending) >= 2000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
        figures.published_in = time.monotonic() - began
        del messages

        committed = scheduled = False
        while not scheduled:
            await asyncio.sleep(0.25)
            stored = (await js.stream_info("SCHEDULES")).state.messages - baseline
            if not committed and (await counts(database))[0] >= count:
                figures.committed_in, committed = time.monotonic() - began, True
            if stored >= count:
                figures.ingested_in, scheduled = time.monotonic() - began, True
                figures.committed_in = figures.committed_in or figures.ingested_in
            if real_now() > start + timedelta(seconds=window + 60):
                figures.ingested_in = time.monotonic() - began
                print(f"  ! only {stored} of {count} timers stored by the end of the window", flush=True)
                break
        figures.cpu_ingesting = cpu_seconds(pid) - cpu_began
        print(f"  {count} deadlines ingested in {figures.ingested_in:.1f} s; "
              f"waiting for the window ({max(0.0, (start - real_now()).total_seconds()):.0f} s) ...", flush=True)

        end = start + timedelta(seconds=window)
        await asyncio.sleep(max(0.0, (start - real_now()).total_seconds() - 1.0))
        cpu_window, firing_began = cpu_seconds(pid), time.monotonic()
        while True:
            await asyncio.sleep(1.0)
            figures.load_window.append(os.getloadavg()[0])
            figures.rss_peak_mb = max(figures.rss_peak_mb, peak_rss_mb(pid))
            _, recorded = await counts(database)
            if recorded >= count or real_now() > end + timedelta(seconds=120):
                break
        figures.cpu_firing, figures.firing_in = cpu_seconds(pid) - cpu_window, time.monotonic() - firing_began
        watcher.stop()
        figures.commit_lag = watcher.lags()
        await asyncio.sleep(3.0)  # the relay's last events
        figures.rss_peak_mb = max(figures.rss_peak_mb, peak_rss_mb(pid))
        figures.fired_lag = await fired_lags(js)
        figures.inbox_lag, figures.event_lag, figures.events_out = await lags(database)
        figures.recorded = len(figures.inbox_lag)
        figures.missing = count - figures.recorded
    finally:
        await database.dispose()
        await connection.close()


# Diagnostic only (--without-fanout): notifications with its webhook fan-out consumer (every event on
# events.>, one transaction per event) reading nothing, to show what the fan-out costs at this volume.
WITHOUT_FANOUT = """
import sys
import uvicorn
from comitas_notifications import main
from comitas_shared.events.consumer import DurableConsumer, decode_cloudevent

async def _nothing(session, event):
    return None

main.webhook_consumer = lambda platform, *args, **kwargs: DurableConsumer(
    name="bench-no-fanout", subjects=["events.bench.nothing"], decode=decode_cloudevent, handler=_nothing,
    database=platform.database, tables=platform.tables, nats=platform.nats)
uvicorn.run(main.create_app(), host="127.0.0.1", port=int(sys.argv[1]), access_log=False)
"""


def run(*, count: int = 100_000, window: float = 60.0, margin: float | None = None,
        keep: bool = False, without_fanout: bool = False, settings: dict[str, str] | None = None) -> ReminderFigures:
    """Starts NATS and notifications in a temporary directory (kept with ``keep``), drives the load, stops
    both."""
    figures = ReminderFigures(deadlines=count, load_before=os.getloadavg()[0])
    # Every timer must be set before its reminder is due: room for ingestion at 400 deadlines a second.
    margin = margin if margin is not None else max(30.0, count / 400)
    var = Path(tempfile.mkdtemp(prefix="comitas-bench-reminders-"))
    try:
        database_url = f"sqlite+aiosqlite:///{var / 'notifications.db'}"
        migrations.upgrade("comitas_notifications", database_url)
        nats_port, port, issuer_port, identity_port = free_ports(4)
        nats_child = devstack.Child.spawn("nats", [nats_server_binary(), "-a", "127.0.0.1", "-p", str(nats_port),
                                                   "-js", "-sd", str(var / "nats")], log=var / "nats.log",
                                          port=nats_port)
        prefix = "COMITAS_NOTIFICATIONS_"
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("COMITAS_")}, "PYTHONUNBUFFERED": "1",
               prefix + "ENVIRONMENT": "development", prefix + "DATABASE_URL": database_url,
               prefix + "NATS_URL": f"nats://127.0.0.1:{nats_port}", prefix + "PUBLIC_URL": f"http://127.0.0.1:{port}",
               prefix + "ISSUER": f"http://127.0.0.1:{issuer_port}",
               prefix + "IDENTITY_URL": f"http://127.0.0.1:{identity_port}",
               **{prefix + name.upper(): value for name, value in (settings or {}).items()}}
        command = [sys.executable, "-m", "uvicorn", "--factory", "comitas_notifications.main:create_app",
                   "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
        if without_fanout:
            command = [sys.executable, "-c", WITHOUT_FANOUT, str(port)]
        service = devstack.Child.spawn(
            "notifications", command,
            log=var / "notifications.log", env=env, health_url=f"http://127.0.0.1:{port}/readyz", port=port)
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if not service.running or time.monotonic() > deadline:
                    raise RuntimeError(f"notifications did not start:\n{service.tail()}")
                time.sleep(0.3)
            print(f"Reminders: notifications pid {service.process.pid}; {count} deadlines, reminders due over "
                  f"{window:.0f} s from {margin:.0f} s after "
                  f"publishing starts (logs in {var}) ...", flush=True)
            asyncio.run(drive(f"nats://127.0.0.1:{nats_port}", database_url, service.process.pid, count=count,
                              window=window, margin=margin, figures=figures))
        finally:
            figures.load_after = os.getloadavg()[0]
            devstack.stop_children([service])
            devstack.stop_children([nats_child])
            if figures.missing or not figures.recorded:
                print(f"notifications' log, last lines:\n{service.tail(40)}", flush=True)
            figures.troubles = troubles(var / "notifications.log")
    finally:
        if not keep:
            shutil.rmtree(var, ignore_errors=True)
    return figures


def report(figures: ReminderFigures) -> str:
    def ms(value: float) -> str:
        return f"{value * 1000:.0f} ms"

    def target(met: bool, text: str) -> str:
        return f"[target {text}: {'met' if met else 'NOT met'}]"

    lag_p99 = percentile(figures.commit_lag, 99)
    share = figures.cpu_firing / figures.firing_in if figures.firing_in else float("nan")
    window_load = (f"{statistics.fmean(figures.load_window):.2f} (max {max(figures.load_window):.2f})"
                   if figures.load_window else "n/a")

    rate = figures.deadlines / figures.published_in if figures.published_in else float("nan")
    lines = [
        f"  deadlines published             {figures.deadlines:>8}   in {figures.published_in:6.1f} s "
        f"({rate:,.0f}/s by the load generator)",
        f"  ingestion (event → timer in NATS) {figures.ingestion_rate:>6,.0f} deadlines/s "
        f"{target(figures.ingestion_rate >= TARGET_INGESTION_PER_SECOND, '≥ 1,000/s')}",
        f"                                  (all rows committed after {figures.committed_in:.1f} s, "
        f"all timers stored after {figures.ingested_in:.1f} s)",
        f"  reminders recorded              {figures.recorded:>8}   missing {figures.missing}, "
        f"reminder events {figures.events_out}",
        f"  lag @at → NATS fires it         p50 {ms(percentile(figures.fired_lag, 50))}   "
        f"p99 {ms(percentile(figures.fired_lag, 99))}   ({len(figures.fired_lag)} fired)",
        f"  lag @at → inbox commit          p50 {ms(percentile(figures.commit_lag, 50))}   "
        f"p99 {ms(lag_p99)}   max {ms(max(figures.commit_lag, default=float('nan')))}   "
        f"{target(lag_p99 <= TARGET_LAG_P99_SECONDS, 'p99 ≤ 1 s')}",
        f"                                  (seen by a reader polling every {COMMIT_POLL_SECONDS * 1000:.0f} ms)",
        f"    (inbox item's created_at      p50 {ms(percentile(figures.inbox_lag, 50))}   "
        f"p99 {ms(percentile(figures.inbox_lag, 99))}: before its commit)",
        f"  lag @at → event out of outbox   p50 {ms(percentile(figures.event_lag, 50))}   "
        f"p99 {ms(percentile(figures.event_lag, 99))}",
        f"  notifications peak RSS          {figures.rss_peak_mb:.0f} MB   "
        f"{target(figures.rss_peak_mb <= TARGET_RSS_MB, '≤ 300 MB')}",
        f"  notifications CPU time          {figures.cpu_ingesting:.1f} s ingesting "
        f"({figures.cpu_ingesting * 1000 / figures.deadlines:.2f} ms a deadline), {figures.cpu_firing:.1f} s "
        f"from the window until all were recorded ({figures.cpu_firing * 1000 / figures.deadlines:.2f} ms a reminder, "
        f"{share:.0%} of one core over {figures.firing_in:.0f} s)",
        f"  load average (2 cores, shared)  {figures.load_before:.2f} before, {window_load} while firing, "
        f"{figures.load_after:.2f} after",
        f"  troubles in notifications' log  {figures.troubles[0]}",
        *(f"    {line}" for line in figures.troubles[1]),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.reminders", description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--reminders", type=int, default=100_000)
    parser.add_argument("-w", "--window", type=float, default=60.0)
    parser.add_argument("-m", "--margin", type=float, default=None, help="seconds from publishing to the window")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, database)")
    parser.add_argument("--without-fanout", action="store_true",
                        help="diagnostic: the webhook fan-out consumer reads nothing (what does it cost?)")
    parser.add_argument("-s", "--setting", action="append", default=[], metavar="NAME=VALUE",
                        help="a notifications setting for this run (reminder_consumer_batch=1000)")
    args = parser.parse_args()
    result = run(count=args.reminders, window=args.window, margin=args.margin, keep=args.keep,
                 without_fanout=args.without_fanout, settings=dict(s.split("=", 1) for s in args.setting))
    print(report(result))
    sys.exit(1 if result.missing else 0)
