"""A replica told to stop drains (comitas_shared.draining, ADR 0042): intake as a real uvicorn process,
started with the production command (the test session's NATS and identity, real tokens), gets SIGTERM.

It then answers 503 on /readyz (problem+json, ``checks`` saying so) while an ordinary request still
succeeds; after ``drain_seconds`` it stops by itself and exits 0; every complaint it acknowledged, before
and during the drain, is in its database and its event in the EVENTS stream. A second signal during a
drain ends it at once (the successor's, which would otherwise last five minutes)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from comitas_shared import migrations
from comitas_shared.testing import drop_database, free_port, fresh_database_url
from tests.webhooks import nats_message_about

# Real processes start here (imports, migrations, NATS): minutes on a loaded 2-core machine.
pytestmark = pytest.mark.timeout(600)

COMPLAINT = {
    "summary": "Held for six days without being brought before a judge.",
    "respondent_states": ["FR"],
    "rights_invoked": ["liberty and security"],
}
# Long enough for a slow machine to see the 503 and make a request inside it; the test waits for the
# process to stop by itself after it.
DRAIN_SECONDS = 30
EXIT_TIMEOUT = DRAIN_SECONDS + 90


class Replica:
    """One intake process, as run-cluster and the images start it."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", "comitas_intake.main:create_app", "--host", "127.0.0.1",
                 "--port", str(port), "--no-proxy-headers", "--timeout-graceful-shutdown", "5"],
                env={**env, "COMITAS_INTAKE_PUBLIC_URL": self.url}, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL)

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def until(self, what: str, check: Any, timeout: float = 180) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            try:
                result = await check()
            except httpx.HTTPError:
                result = None
            if result:
                return result
            assert self.process.poll() is None, f"intake exited while waiting for {what}:\n{self.output}"
            assert time.monotonic() < deadline, f"no {what} after {timeout} s:\n{self.output}"
            await asyncio.sleep(0.1)

    async def ready(self, http: httpx.AsyncClient) -> None:
        async def answers_200() -> bool:
            return (await http.get(f"{self.url}/readyz")).status_code == 200

        await self.until("/readyz 200", answers_200)

    async def exit_code(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while (code := self.process.poll()) is None:
            assert time.monotonic() < deadline, f"intake still running {timeout} s after the signal:\n{self.output}"
            await asyncio.sleep(0.1)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


@pytest.fixture
async def intake_env(stack: Any, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    url = fresh_database_url(f"intake_drain_{uuid.uuid4().hex[:4]}", tmp_path)
    migrations.upgrade("comitas_intake", url)
    env = {name: value for name, value in os.environ.items() if not name.startswith("COMITAS_")}
    env.update({"PYTHONUNBUFFERED": "1", "COMITAS_INTAKE_ENVIRONMENT": "test", "COMITAS_INTAKE_DATABASE_URL": url,
                "COMITAS_INTAKE_NATS_URL": stack.nats.url, "COMITAS_INTAKE_ISSUER": stack.issuer,
                "COMITAS_INTAKE_OUTBOX_POLL_SECONDS": "0.2", "COMITAS_INTAKE_DRAIN_SECONDS": str(DRAIN_SECONDS)})
    try:
        yield env
    finally:
        drop_database(url)


async def _submit(http: httpx.AsyncClient, replica: Replica, token: str) -> str:
    answer = await http.post(f"{replica.url}/v1/complaints", json=COMPLAINT,
                             headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def test_sigterm_turns_readyz_503_serves_on_then_exits_0_losing_nothing_and_a_second_signal_cuts_it_short(
        stack: Any, intake_env: dict[str, str], tmp_path: Path) -> None:
    started = datetime.now(UTC) - timedelta(seconds=5)  # the events looked for are stored after it
    owner = await stack.new_institution()
    token = await stack.token(owner, "complaints:submit complaints:read")
    replica = Replica(intake_env, tmp_path / "intake.log")
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            await replica.ready(http)
            before = await _submit(http, replica, token)

            replica.process.send_signal(signal.SIGTERM)

            async def draining() -> httpx.Response | None:
                answer = await http.get(f"{replica.url}/readyz")
                return answer if answer.status_code == 503 else None

            refused = await replica.until("/readyz 503", draining)
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.json()["checks"] == {"process": "draining"}, refused.text
            assert (await http.get(f"{replica.url}/healthz")).status_code == 200  # alive: not to be killed

            # Whatever still reaches it is served: a write acknowledged, then read back, both while draining.
            during = await _submit(http, replica, token)
            read = await http.get(f"{replica.url}/v1/complaints/{during}", headers={"Authorization": f"Bearer {token}"})
            assert read.status_code == 200, read.text
            assert (await http.get(f"{replica.url}/readyz")).status_code == 503, "the drain ended before the write"

            assert await replica.exit_code(EXIT_TIMEOUT) == 0, replica.output
        assert "drained for" in replica.output

        # Nothing acknowledged is lost: both complaints are in intake's database (a new process reads them)
        # and each one's event left the outbox before the process ended or is published by the next one.
        # The successor's drain is far longer than the test's patience: only a second signal ends it in time.
        successor = Replica({**intake_env, "COMITAS_INTAKE_DRAIN_SECONDS": "300"}, tmp_path / "successor.log")
        try:
            async with httpx.AsyncClient(timeout=30) as http:
                await successor.ready(http)
                for complaint in (before, during):
                    read = await http.get(f"{successor.url}/v1/complaints/{complaint}",
                                          headers={"Authorization": f"Bearer {token}"})
                    assert read.status_code == 200, read.text

                    async def published(complaint: str = complaint) -> bool:
                        return await nats_message_about(stack.nats.url, "events.complaint.submitted",
                                                        complaint, since=started) is not None

                    await successor.until(f"the event of {complaint}", published, timeout=60)
                successor.process.send_signal(signal.SIGTERM)

                async def draining_too() -> bool:
                    return (await http.get(f"{successor.url}/readyz")).status_code == 503

                await successor.until("/readyz 503", draining_too)
                successor.process.send_signal(signal.SIGINT)
                assert await successor.exit_code(120) == 0, successor.output
            assert "while draining: exiting now" in successor.output
        finally:
            successor.kill()
    finally:
        replica.kill()
