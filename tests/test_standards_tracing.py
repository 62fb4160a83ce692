"""W3C trace context flows whether or not spans are exported.

The session's stack cannot show it: the test process installs an in-memory tracer provider before any
service starts, and OpenTelemetry allows one provider per process. So intake and notifications run here
as their own uvicorn processes, started the way ``make run`` starts them, with ``OTEL_EXPORTER=none``
and no ``OTEL_*`` variable of ours, on a nats-server of their own (sharing the session's would make
them share its durable consumers). Tokens come from the session's identity.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import pytest

from comitas_shared import migrations
from comitas_shared.randomness import token_bytes
from comitas_shared.testing import NatsServer, drop_database, eventually, free_port, fresh_database_url

from .webhooks import nats_message_about, verified_payload

# Real processes start here (imports, migrations, NATS): minutes on a loaded 2-core machine.
pytestmark = pytest.mark.timeout(600)

TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")
COMPLAINT = {"summary": "Expelled with no chance to appeal.", "respondent_states": ["ES"]}


@dataclass
class Service:
    name: str
    port: int
    log: Path
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


@dataclass
class UntracedStack:
    nats: NatsServer
    intake: Service
    notifications: Service


def _log_file(path: Path) -> IO[bytes]:
    return path.open("wb")


async def _start(service: Service, env: dict[str, str]) -> None:
    log = _log_file(service.log)
    try:
        service.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "uvicorn", "--factory", f"comitas_{service.name}.main:create_app",
            "--host", "127.0.0.1", "--port", str(service.port), stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, env=env)
    finally:
        log.close()


async def _wait_ready(service: Service, timeout: float = 90.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient(timeout=2) as http:
        while asyncio.get_running_loop().time() < deadline:
            assert service.process is not None and service.process.returncode is None, \
                f"{service.name} stopped:\n{service.tail()}"
            try:
                if (await http.get(f"{service.url}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"{service.name} not ready within {timeout}s:\n{service.tail()}")


async def _stop(service: Service) -> None:
    if service.process is None or service.process.returncode is not None:
        return
    service.process.terminate()
    try:
        await asyncio.wait_for(service.process.wait(), timeout=20)
    except TimeoutError:
        service.process.kill()
        await service.process.wait()


@pytest.fixture(scope="module")
async def untraced(stack, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[UntracedStack]:
    tmp = tmp_path_factory.mktemp("untraced")
    nats_server = NatsServer(store_dir=tmp / "nats").start()
    urls = {name: fresh_database_url(name, tmp) for name in ("intake", "notifications")}
    for name, url in urls.items():
        migrations.upgrade(f"comitas_{name}", url)
    # Nothing inherited may configure tracing behind the test's back.
    base = {k: v for k, v in os.environ.items() if not k.startswith(("COMITAS_", "OTEL_"))}
    base["PYTHONUNBUFFERED"] = "1"
    services = {name: Service(name, free_port(), tmp / f"{name}.log") for name in urls}
    settings = {
        "intake": {},
        "notifications": {"ALLOW_PRIVATE_WEBHOOK_TARGETS": "true", "WEBHOOK_RETRY_BASE_SECONDS": "0.2"},
    }
    try:
        for name, service in services.items():
            prefix = f"COMITAS_{name.upper()}_"
            values = {"ENVIRONMENT": "test", "DATABASE_URL": urls[name], "NATS_URL": nats_server.url,
                      "ISSUER": stack.issuer, "PUBLIC_URL": service.url, "OUTBOX_POLL_SECONDS": "0.2",
                      "OTEL_EXPORTER": "none", **settings[name]}
            await _start(service, {**base, **{prefix + k: v for k, v in values.items()}})
        for service in services.values():
            await _wait_ready(service)
        yield UntracedStack(nats=nats_server, intake=services["intake"], notifications=services["notifications"])
    finally:
        for service in services.values():
            await _stop(service)
        nats_server.stop()
        if os.environ.get("DATABASE_URL"):
            for url in urls.values():
                drop_database(url)


def _post(url: str, token: str, body: dict, headers: dict[str, str]) -> tuple[int, dict]:
    """A plain urllib request: the test process's httpx is instrumented and would put a traceparent of
    its own in place of the one under test."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def trace_id_of(traceparent: str | None) -> str | None:
    match = TRACEPARENT.match(traceparent or "")
    return match.group(1) if match else None


async def test_an_incoming_traceparent_reaches_the_event_and_the_webhook_with_no_exporter(
        stack, untraced, webhook_receiver):
    trace_id = token_bytes(16).hex()
    caller = f"00-{trace_id}-{token_bytes(8).hex()}-01"
    institution = await stack.new_institution()
    token = await stack.token(institution)
    status, subscription = await asyncio.to_thread(
        _post, f"{untraced.notifications.url}/v1/subscriptions", token,
        {"event_types": ["comitas.complaint.submitted"], "url": webhook_receiver.url}, {})
    assert status == 201, subscription
    status, complaint = await asyncio.to_thread(_post, f"{untraced.intake.url}/v1/complaints", token, COMPLAINT,
                                                {"traceparent": caller})
    assert status == 201, complaint

    found = await eventually(lambda: nats_message_about(untraced.nats.url, "events.complaint.submitted",
                                                        complaint["id"]), timeout=10)
    headers, _ = found
    assert trace_id_of(headers.get("ce-traceparent")) == trace_id, headers
    assert trace_id_of(headers.get("traceparent")) == trace_id, headers

    [delivery] = await eventually(lambda: webhook_receiver.for_subject(complaint["id"]), timeout=15)
    body = verified_payload(subscription["secret"], delivery)
    assert trace_id_of(body.get("traceparent")) == trace_id, body
    assert trace_id_of(delivery["headers"].get("traceparent")) == trace_id, delivery["headers"]
