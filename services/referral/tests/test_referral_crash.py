"""Issue 10, acceptance 8 with a real process: referral runs as its own uvicorn process (its own database,
the session's NATS, identity and intake), is SIGKILLed after a referral is committed and its event handed
to NATS but before the outbox row is marked published, and is started again with the production command.
The restarted relay publishes the row again with the same event id (JetStream drops the duplicate): each
side's webhook gets the event exactly once, and the journey goes on."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from referral_testkit import (
    INTAKE,
    RECIPIENT_PROFILE,
    REFERRAL,
    Receiver,
    close_parties,
    complaint,
    consent,
    entry_of,
    new_party,
    subscribe,
    token,
)
from sqlalchemy import text

from comitas_shared import migrations
from comitas_shared.db import Database
from comitas_shared.testing import drop_database, eventually, free_port, fresh_database_url

pytestmark = pytest.mark.timeout(600)
HOLDING = "HOLDING: published, not yet marked"
# referral, except that its relay, once it has handed an event to NATS, waits before it records so: the
# moment a crash leaves a published event unmarked. Test-only: the service has no such switch.
HOLDING_REFERRAL = f"""
import asyncio, sys
import uvicorn
from comitas_shared.events import outbox

real_publish = outbox.OutboxRelay._publish

async def holding_publish(self, js, event):
    await real_publish(self, js, event)
    print({HOLDING!r}, flush=True)
    await asyncio.sleep(600)

outbox.OutboxRelay._publish = holding_publish
uvicorn.run("comitas_referral.main:create_app", factory=True, host="127.0.0.1", port=int(sys.argv[1]),
            log_level="warning")
"""


class Process:
    def __init__(self, args: list[str], env: dict[str, str], log: Path, port: int) -> None:
        self.log = log
        self.url = f"http://127.0.0.1:{port}"
        with open(log, "ab") as out:
            self.process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def wait_for(self, what: str, check: Any, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while not await check():
            assert self.process.poll() is None, f"referral exited while waiting for {what}:\n{self.output}"
            assert time.monotonic() < deadline, f"no {what} after {timeout} s:\n{self.output}"
            await asyncio.sleep(0.1)

    async def wait_healthy(self, http: httpx.AsyncClient) -> None:
        async def healthy() -> bool:
            try:
                return (await http.get(f"{self.url}/healthz")).status_code == 200
            except httpx.HTTPError:
                return False

        await self.wait_for("/healthz", healthy)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


async def unpublished(database: Database) -> int:
    async with database.transaction() as session:
        return int((await session.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))).scalar_one())


async def test_a_referral_killed_between_publish_and_mark_loses_and_doubles_nothing(stack, referral, tmp_path):
    a = await new_party(stack, referral, "Sender", country="FR")
    b = await new_party(stack, referral, "Recipient", country="IT", profile=RECIPIENT_PROFILE)
    a_hook, b_hook = Receiver(), Receiver()
    for hook in (a_hook, b_hook):
        await hook.served.start()
    service = await stack.new_service(f"referral-crash-{os.getpid()}", service_resource=REFERRAL,
                                      exchange_resources=[INTAKE],
                                      exchange_scopes=["complaints:read", "complaints:manage"])
    url = fresh_database_url("referral_crash", tmp_path)
    migrations.upgrade("comitas_referral", url)
    database = Database(url)
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("COMITAS_")}
    env.update({"PYTHONUNBUFFERED": "1", "COMITAS_REFERRAL_ENVIRONMENT": "test", "COMITAS_REFERRAL_DATABASE_URL": url,
                "COMITAS_REFERRAL_NATS_URL": stack.nats.url, "COMITAS_REFERRAL_ISSUER": stack.issuer,
                "COMITAS_REFERRAL_PUBLIC_URL": f"http://127.0.0.1:{port}",
                "COMITAS_REFERRAL_OUTBOX_POLL_SECONDS": "0.2", "COMITAS_REFERRAL_IDENTITY_URL": stack.issuer,
                "COMITAS_REFERRAL_INTAKE_URL": stack.intake.url, "COMITAS_REFERRAL_IDENTITY_CLIENT_ID": service.client_id,
                "COMITAS_REFERRAL_IDENTITY_CLIENT_SECRET": service.client_secret or ""})
    first = Process([sys.executable, "-c", HOLDING_REFERRAL, str(port)], env, tmp_path / "first.log", port)
    second: Process | None = None
    try:
        for party, hook in ((a, a_hook), (b, b_hook)):
            await subscribe(stack, party, hook)
        complaint_id = await complaint(a)
        await consent(a, complaint_id, b.id, purposes=["investigate"], categories=["identity", "narrative"])
        a_token = await token(stack, a.credentials, REFERRAL)
        b_token = await token(stack, b.credentials, REFERRAL)
        async with httpx.AsyncClient(timeout=60) as http:
            await first.wait_healthy(http)
            # Its own read model, bootstrapped from identity's list at start.
            await first.wait_for("the recipient in the read model", lambda: entry_of(SimpleNamespace(
                database_url=url), b.id))
            sent = await http.post(f"{first.url}/v1/referrals", headers={"Authorization": f"Bearer {a_token}"},
                                   json={"complaint_id": complaint_id, "recipient_institution_id": b.id,
                                         "purpose": "investigate", "categories": ["identity", "narrative"]})
            assert sent.status_code == 201, sent.text
            rid = sent.json()["id"]

            async def holding() -> bool:
                return HOLDING in first.output

            await first.wait_for("an event published and not marked", holding)
            first.process.send_signal(signal.SIGKILL)
            first.process.wait()
            assert await unpublished(database) >= 1

            second = Process([sys.executable, "-m", "uvicorn", "--factory", "comitas_referral.main:create_app",
                              "--host", "127.0.0.1", "--port", str(port)], env, tmp_path / "second.log", port)
            await second.wait_healthy(http)
            await eventually(lambda: "comitas.referral.sent" in b_hook.types(rid), timeout=60)
            acknowledged = await http.post(f"{second.url}/v1/referrals/{rid}/acknowledge",
                                           headers={"Authorization": f"Bearer {b_token}"})
            assert acknowledged.status_code == 200, acknowledged.text
            for hook in (a_hook, b_hook):
                await eventually(lambda hook=hook: "comitas.referral.acknowledged" in hook.types(rid), timeout=60)
            await eventually(lambda: _zero(unpublished(database)), timeout=30)
        await asyncio.sleep(2)  # a doubled delivery would have arrived by now
        for hook in (a_hook, b_hook):
            delivered = Counter(e["id"] for e in hook.received if e.get("subject") == rid)
            assert delivered and all(n == 1 for n in delivered.values()), delivered
            assert Counter(hook.types(rid)) == Counter({"comitas.referral.sent": 1,
                                                        "comitas.referral.acknowledged": 1})
    finally:
        first.process.kill()
        first.process.wait()
        if second is not None:
            second.stop()
        for hook in (a_hook, b_hook):
            await hook.served.stop()
        await close_parties(a, b)
        await database.dispose()
        drop_database(url)


async def _zero(count: Any) -> bool:
    return await count == 0
