"""`make run-cluster` on PostgreSQL, through its HAProxy gateway (issue 14, ADR 0042):

1. a partner's journey (token, complaint, assessment, signed webhook) works while a replica is killed;
2. the bounded fault suite (benchmarks/chaos.py at a low fixed rate): for each fault, no acknowledged
   write lost, no distinct event delivered twice, every reminder due during the faults fired once; in
   the rolling restart (SIGTERM to each replica in turn, nothing done at the gateway) every replica left
   the gateway's rotation by its own /readyz 503 before it exited, and the gateway failed no request on
   it.

Only where PostgreSQL answers (DATABASE_URL) and HAProxy is installed (`make haproxy`): one cluster for
the module (three NATS nodes, two replicas of every service), its databases dropped afterwards."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import shutil
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from benchmarks import chaos
from comitas_shared.testing import ServedApp, free_port

pytestmark = [
    pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
                       reason="the cluster runs on PostgreSQL (DATABASE_URL)"),
    pytest.mark.skipif(shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists(),
                       reason="haproxy is not installed (make haproxy)"),
]

# The bounded suite's load: far under what two cores serve, so faults, not saturation, show.
RATE = 8.0


def _free_base_port() -> int:
    """A base port whose whole plan (gateway, replicas, NATS) is free; run-cluster checks again."""
    from comitas_devstack import stack
    from comitas_devstack.cluster import Ports, Topology, topology_services

    topology, services = Topology.load(), topology_services()
    for _ in range(50):
        base = 20000 + (free_port() % 200) * 10
        if not any(stack._port_taken(p) for p in Ports(topology, base - 8000).all(services)):  # noqa: SLF001
            return base
    raise RuntimeError("no free port plan")


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[chaos.RunningCluster]:
    cluster = chaos.RunningCluster(tmp_path_factory.mktemp("cluster") / "var", base_port=_free_base_port(),
                                   db_prefix=f"ctest_{uuid.uuid4().hex[:8]}")
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


async def _post(http: httpx.AsyncClient, url: str, body: object | None) -> httpx.Response:
    """As a partner must: the same Idempotency-Key until an answer that is not the gateway's or a 5xx."""
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    deadline = time.monotonic() + 60
    while True:
        try:
            answer = await http.post(url, json=body, headers=headers)
            if answer.status_code < 500 and answer.status_code != 409:
                return answer
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{url} kept failing"
        await asyncio.sleep(0.5)


@pytest.mark.timeout(900)  # includes starting the cluster: fifteen processes on two cores
async def test_a_partners_journey_works_through_the_gateway_while_a_replica_is_killed(
        running: chaos.RunningCluster) -> None:
    partner = next(e for e in running.credentials() if e.get("kind") != "platform_service" and e.get("client_secret"))
    receiver = chaos.Receiver()
    served = await ServedApp(receiver.asgi()).start()
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            token = await http.post(f"{running.url('identity')}/oauth/token", data={"grant_type": "client_credentials"},
                                    auth=(partner["client_id"], partner["client_secret"]))
            assert token.status_code == 200, token.text
            http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
            subscribed = await http.post(f"{running.url('notifications')}/v1/subscriptions", json={
                "url": f"{served.url}/hook", "event_types": ["comitas.complaint.submitted", "comitas.complaint.assessed"]})
            assert subscribed.status_code == 201, subscribed.text

            victim_pid = 0
            complaints: list[str] = []
            for n in range(12):
                if n == 4:  # mid-journey: one intake replica dies; the gateway and the other carry on
                    victim_pid = running.signal("intake-1", signal.SIGKILL)
                created = await _post(http, f"{running.url('intake')}/v1/complaints", chaos.COMPLAINT)
                assert created.status_code == 201, created.text
                complaints.append(created.json()["id"])
            assessed = await _post(http, f"{running.url('intake')}/v1/complaints/{complaints[-1]}/assessments", None)
            assert assessed.status_code == 201, assessed.text
            for complaint in complaints:
                read = await http.get(f"{running.url('intake')}/v1/complaints/{complaint}")
                assert read.status_code == 200, read.text

        deadline = time.monotonic() + 60
        while True:
            types = Counter((body["type"], body["subject"]) for _, body, _ in receiver.deliveries)
            if all(types[("comitas.complaint.submitted", c)] for c in complaints) and \
                    types[("comitas.complaint.assessed", complaints[-1])]:
                break
            assert time.monotonic() < deadline, f"webhooks missing: {sorted(types)}"
            await asyncio.sleep(0.5)
        for complaint in complaints:  # one submission, one event, however many deliveries
            ids = {body["id"] for _, body, _ in receiver.deliveries
                   if body["type"] == "comitas.complaint.submitted" and body["subject"] == complaint}
            assert len(ids) == 1, (complaint, ids)
        async with httpx.AsyncClient(timeout=10, headers=http.headers) as cleanup:  # nobody listens any more
            await cleanup.delete(f"{running.url('notifications')}/v1/subscriptions/{subscribed.json()['id']}")
        # The killed replica is started again and rejoins the rotation.
        deadline = time.monotonic() + chaos.RECOVERY_TIMEOUT
        while not running.back("intake-1", victim_pid):
            assert time.monotonic() < deadline, running.server_states()
            await asyncio.sleep(0.5)
    finally:
        await served.stop()


@pytest.mark.timeout(1200)
async def test_the_bounded_fault_suite_loses_and_doubles_nothing(running: chaos.RunningCluster) -> None:
    outcome = await chaos.run_suite(running, rate=RATE, bounded=True, say=lambda _text: None)
    table = chaos.report(outcome)
    print(table)
    assert outcome.rows and all(row.acked for row in outcome.rows), table
    assert [row.refused for row in outcome.rows] == [0] * len(outcome.rows), table  # the load itself is valid
    assert [row.lost for row in outcome.rows] == [0] * len(outcome.rows), table
    assert [row.doubled for row in outcome.rows] == [0] * len(outcome.rows), table
    assert sum(row.reminders_due for row in outcome.rows) > 0, table
    assert [(row.reminders_lost, row.reminders_twice) for row in outcome.rows] == [(0, 0)] * len(outcome.rows), table
    assert outcome.events_missing == 0, table
    # The rolling restart: every replica, sent SIGTERM alone, was out of the gateway's rotation by its own
    # /readyz 503 before it exited, and the gateway failed no request on it (none refused, none cut off).
    rolled = next(row for row in outcome.rows if row.fault == "rolling restart")
    assert len(rolled.drains) == len(running.services) * running.topology.replicas, table
    assert [d.name for d in rolled.drains if d.down_after is None] == [], table
    assert rolled.gateway_errors == 0, table
    json.dumps([dataclasses.asdict(row) for row in outcome.rows])  # the figures are plain data, for the record
