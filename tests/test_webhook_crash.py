"""notifications killed with SIGKILL in the middle of delivering: every event still arrives, the ones
that arrive twice carry the same ``webhook-id`` (what a Standard Webhooks receiver dedupes on), and how
many arrive twice is bounded by what was in flight at the kill (the worker's concurrency), not by how
long the outage lasted.

notifications runs as a real uvicorn process (its own database and its own nats-server, tokens from the
session's identity), is killed, and is started again with the same command."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from comitas_shared import migrations
from comitas_shared.events.catalogue import COMPLAINT_SUBMITTED, ComplaintSubmitted
from comitas_shared.events.nats import events_stream_config
from comitas_shared.testing import NatsServer, ServedApp, drop_database, free_port, fresh_database_url

# Real processes start here (imports, migrations, NATS): minutes on a loaded 2-core machine.
pytestmark = pytest.mark.timeout(600)

EVENTS = 30
CONCURRENCY = 4
LEASE_SECONDS = 3
HOLD_SECONDS = 0.8  # the receiver answers slowly, so a kill always finds requests in flight


class SlowReceiver:
    def __init__(self) -> None:
        self.ids: list[str] = []

    async def hook(self, request: Request) -> Response:
        await request.body()
        self.ids.append(request.headers["webhook-id"])
        await asyncio.sleep(HOLD_SECONDS)
        return Response(status_code=204)


def start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "comitas_notifications.main:create_app",
             "--host", "127.0.0.1", "--port", str(port), "--no-proxy-headers", "--log-level", "warning"],
            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


async def wait_healthy(http: httpx.AsyncClient, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, log.read_text(errors="replace")
        try:
            if (await http.get(f"{url}/readyz")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"notifications not ready:\n{log.read_text(errors='replace')}"
        await asyncio.sleep(0.2)


async def until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_a_kill_mid_delivery_doubles_at_most_what_was_in_flight(stack: Any, tmp_path: Path) -> None:
    server = NatsServer(store_dir=tmp_path / "nats").start()
    url = fresh_database_url("notifications_crash", tmp_path)
    migrations.upgrade("comitas_notifications", url)
    receiver = SlowReceiver()
    served = await ServedApp(Starlette(routes=[Route("/hook", receiver.hook, methods=["POST"])])).start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {name: value for name, value in os.environ.items() if not name.startswith("COMITAS_")}
    env.update({f"COMITAS_NOTIFICATIONS_{k}": v for k, v in {
        "ENVIRONMENT": "test", "DATABASE_URL": url, "NATS_URL": server.url, "ISSUER": stack.issuer,
        "PUBLIC_URL": base, "ALLOW_PRIVATE_WEBHOOK_TARGETS": "true", "WEBHOOK_CONCURRENCY": str(CONCURRENCY),
        "WEBHOOK_LEASE_SECONDS": str(LEASE_SECONDS), "WEBHOOK_TIMEOUT_SECONDS": "10",
        "OUTBOX_POLL_SECONDS": "0.2"}.items()})
    env["PYTHONUNBUFFERED"] = "1"
    owner = await stack.new_institution()
    token = await stack.token(owner, "subscriptions:manage")
    first = start(env, port, tmp_path / "first.log")
    second: subprocess.Popen[bytes] | None = None
    nc = await nats.connect(server.url)
    try:
        async with httpx.AsyncClient(timeout=30, headers={"Authorization": f"Bearer {token}"}) as http:
            await wait_healthy(http, base, first, tmp_path / "first.log")
            created = await http.post(f"{base}/v1/subscriptions", json={
                "url": f"{served.url}/hook", "event_types": ["comitas.complaint.submitted"]})
            assert created.status_code == 201, created.text
            js = nc.jetstream()
            await js.add_stream(events_stream_config())
            sent = []
            for _ in range(EVENTS):
                complaint_id = str(uuid.uuid4())
                now = datetime.now(UTC)
                event = COMPLAINT_SUBMITTED.build(
                    source="/comitas/intake", subject=complaint_id, institution_id=owner.institution_id, time=now,
                    data=ComplaintSubmitted(complaint_id=complaint_id, institution_id=owner.institution_id,
                                            reference="CMP-CRASH", channel="partner_api", submitted_at=now))
                await js.publish(event.nats_subject, event.nats_body(), headers=event.nats_headers())
                sent.append(event.id)

            await until(lambda: len(receiver.ids) >= CONCURRENCY * 2, 60, "deliveries under way")
            first.send_signal(signal.SIGKILL)
            first.wait()
            killed_at, received_before = time.monotonic(), len(receiver.ids)

            second = start(env, port, tmp_path / "second.log")
            await wait_healthy(http, base, second, tmp_path / "second.log")
            await until(lambda: set(sent) <= set(receiver.ids), 120, "every event delivered")
            recovered_in = time.monotonic() - killed_at

        counts = Counter(receiver.ids)
        doubled = {event_id: n for event_id, n in counts.items() if n > 1}
        print(f"\n{EVENTS} events, concurrency {CONCURRENCY}, lease {LEASE_SECONDS} s: {received_before} requests "
              f"before the kill, all delivered {recovered_in:.1f} s after it, {len(doubled)} delivered twice")
        assert set(counts) == set(sent)  # nothing lost, nothing foreign
        assert all(n <= 2 for n in counts.values()), counts
        assert len(doubled) <= CONCURRENCY, doubled
    finally:
        await nc.close()
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
        await served.stop()
        server.stop()
        if os.environ.get("DATABASE_URL"):
            drop_database(url)
