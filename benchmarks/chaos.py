"""``make chaos``: faults under load on the cluster of ``comitas-dev run-cluster`` (ADR 0042, issue 14).

A steady, open-loop load (a fixed rate, whatever the answers) goes through the HAProxy gateway: complaint
submissions, assessments, referrals (a consent, then the referral) and deadline requests, every write with
an ``Idempotency-Key`` and retried with it on a 5xx or a broken connection, as a partner must. A webhook
receiver counts what notifications delivers, and deadlines whose reminders fall due all through the
run are requested. Then, one at a time and in combination, with SIGKILL: a replica of each service, the
NATS node that leads the EVENTS stream, a NATS node and a replica together; a rolling restart (each
replica in turn sent SIGTERM: it answers 503 on /readyz while still serving until the gateway has
taken it out, exits, and is started again); and the leader of the SCHEDULES stream while reminders are
pending. The gateway stays up.

Per fault it prints: requests acknowledged, acknowledged writes lost (read back through the gateway at
the end: must be 0), effects doubled (distinct events delivered twice for one fact: must be 0;
redeliveries of one ``webhook-id`` are counted apart), the error rate and how long errors lasted, the
time until the killed processes answered again, and reminders lost or fired twice (must be 0); for the
rolling restart, how many replicas the gateway had out of rotation by their /readyz before they exited
(must be all) and the requests it failed on them (must be 0).

``tests/test_cluster.py`` runs a bounded version (fewer faults, a lower rate) when PostgreSQL is
there; ``python -m benchmarks.chaos`` runs them all. Needs ``DATABASE_URL`` and HAProxy (``make haproxy``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from comitas_devstack.cluster import (
    CLUSTER_READY_LINE,
    DB_PREFIX_ENV,
    Ports,
    Topology,
    database_urls,
    drop_databases,
    server_url,
    topology_services,
)
from comitas_devstack.stack import DEFAULT_BASE_PORT
from comitas_shared.clock import real_now
from comitas_shared.testing import ServedApp

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 420.0
RECOVERY_TIMEOUT = 180.0
RETRY_FOR = 30.0
WEBHOOK_WAIT = 180.0
EVENT_TYPES = ("comitas.complaint.submitted", "comitas.complaint.assessed", "comitas.complaint.referral_changed")
REMINDER_KIND = "chaos_reminder"
COMPLAINT: dict[str, Any] = {
    "summary": "Held for eleven days without access to a lawyer.",
    "respondent_states": ["FR"],
    "rights_invoked": ["liberty and security"],
}


# --- the cluster, as a developer starts it --------------------------------------------------------


class RunningCluster:
    """``comitas-dev run-cluster`` in a process of its own, on shifted ports and databases of its own."""

    def __init__(self, var: Path, *, base_port: int, db_prefix: str) -> None:
        self.var = var
        self.base_port = base_port
        self.db_prefix = db_prefix
        self.offset = base_port - DEFAULT_BASE_PORT
        self.topology = Topology.load()
        # The same port plan run-cluster itself uses, shifted like it by COMITAS_DEV_BASE_PORT.
        self.ports = Ports(self.topology, self.offset)
        # Each service's DESIGN port, read once: the load loops ask for URLs all the time.
        self.design_ports = dict(topology_services())
        self.output: list[str] = []
        self.process: subprocess.Popen[str] | None = None
        # What the rolling restarts saw of each replica's drain, in order.
        self.drains: list[DrainSeen] = []

    def start(self, timeout: float = STARTUP_TIMEOUT) -> None:
        env = {**os.environ, "COMITAS_DEV_BASE_PORT": str(self.base_port), DB_PREFIX_ENV: self.db_prefix,
               "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "comitas_devstack", "run-cluster", "--var-dir", str(self.var)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while CLUSTER_READY_LINE not in self.output:
            if self.process.poll() is not None:
                time.sleep(0.5)
                raise RuntimeError("run-cluster exited:\n" + "\n".join(self.output[-40:]))
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"run-cluster not ready after {timeout:.0f} s:\n" + "\n".join(self.output[-40:]))
            time.sleep(0.5)

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip("\n"))

    def stop(self, *, drop: bool = True) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if drop:
            with contextlib.suppress(Exception):
                drop_databases(server_url(), [f"{self.db_prefix}_{name}" for name in self.services])

    @property
    def services(self) -> list[str]:
        return list(self.design_ports)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports.gateway(self.design_ports[service])}"

    def pids(self) -> dict[str, int]:
        return {k: int(v) for k, v in json.loads((self.var / "pids.json").read_text()).items()}

    def credentials(self) -> list[dict[str, Any]]:
        return list(json.loads((self.var / "demo-credentials.json").read_text())["institutions"])

    def monitor_port(self, node: int) -> int:
        return self.ports.nats_monitor(node)

    def nats_url(self, node: int) -> str:
        return f"nats://127.0.0.1:{self.ports.nats_client(node)}"

    def admin(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.var / "haproxy.sock"))
            s.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def server_stats(self) -> dict[str, dict[str, str]]:
        """``intake-1`` → HAProxy's statistics of that server, by field name (``status``: ``UP``, ``DOWN``,
        ``UP 1/2`` ...; ``check_status``/``check_code`` of the last check; ``econ``/``eresp``: requests
        whose connection to it failed or whose answer it broke off)."""
        lines = self.admin("show stat").splitlines()
        if not lines or not lines[0].startswith("# "):
            return {}
        fields = lines[0][2:].split(",")
        stats = {}
        for line in lines[1:]:
            cells = dict(zip(fields, line.split(","), strict=False))
            if cells.get("svname") and cells["svname"] not in {"FRONTEND", "BACKEND"}:
                stats[cells["svname"]] = cells
        return stats

    def server_states(self) -> dict[str, str]:
        """``intake-1`` → ``UP``/``DOWN``/``DRAIN``/``MAINT``, as the gateway sees it."""
        return {name: cells.get("status", "") for name, cells in self.server_stats().items()}

    def stream_leader(self, stream: str) -> str | None:
        for node in range(1, self.topology.nats_nodes + 1):
            try:
                data = httpx.get(f"http://127.0.0.1:{self.monitor_port(node)}/jsz?streams=true", timeout=3).json()
            except (httpx.HTTPError, ValueError):
                continue
            for account in data.get("account_details", []):
                for detail in account.get("stream_detail", []):
                    if detail["name"] == stream and detail.get("cluster", {}).get("leader"):
                        return str(detail["cluster"]["leader"])
        return None

    def signal(self, name: str, signum: int) -> int:
        pid = self.pids()[name]
        os.kill(pid, signum)
        return pid

    def replica_url(self, name: str) -> str:
        service, replica = name.rsplit("-", 1)
        return f"http://127.0.0.1:{self.ports.replica(self.design_ports[service], int(replica))}"

    def back(self, name: str, old_pid: int, *, in_rotation: bool = True) -> bool:
        """Started again under a new pid, ready, and (a replica) in the gateway's rotation."""
        pid = self.pids().get(name)
        if pid is None or pid == old_pid:
            return False
        try:
            if name.startswith("nats-"):
                node = int(name.split("-")[1])
                url = f"http://127.0.0.1:{self.monitor_port(node)}/healthz?js-enabled-only=true"
                return httpx.get(url, timeout=2).status_code == 200
            if not in_rotation:
                return httpx.get(f"{self.replica_url(name)}/readyz", timeout=2).status_code == 200
            return self.server_states().get(name) == "UP"
        except (httpx.HTTPError, OSError):
            return False


# --- what partners and subscribers see ------------------------------------------------------------


class Receiver:
    """A subscriber's webhook endpoint: every delivery, by webhook-id and by event."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[str, dict[str, Any], float]] = []

    def asgi(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        async def hook(request: Request) -> Response:
            self.deliveries.append((request.headers.get("webhook-id", ""), json.loads(await request.body()),
                                    time.monotonic()))
            return Response(status_code=204)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


@dataclass
class Op:
    kind: str
    started: float
    acked: bool = False
    ident: tuple[str, ...] = ()
    attempts: int = 0
    errors: list[float] = field(default_factory=list)
    refused: int = 0


def _code(answer: httpx.Response) -> str:
    """A failed attempt's status, telling the gateway's own answers (no replica up, or one that broke
    off) from the services'."""
    if answer.status_code in {502, 503, 504} and "application/problem+json" not in answer.headers.get(
            "content-type", ""):
        return f"{answer.status_code} (gateway)"
    return str(answer.status_code)


class Load:
    """An open loop: one operation every 1/rate s, whatever the answers; writes retried with their key."""

    def __init__(self, cluster: RunningCluster, tokens: dict[str, str], recipient: str, rate: float) -> None:
        self.cluster = cluster
        self.tokens = tokens
        self.recipient = recipient
        self.rate = rate
        self.ops: list[Op] = []
        self.complaints: list[str] = []
        self.codes: Counter[str] = Counter()  # what the failed attempts answered
        self.refusals: list[str] = []  # the 4xx answers to writes, which a valid load never gets
        self.stopping = False
        self.http = httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=200))

    async def _write(self, op: Op, url: str, token: str, body: dict[str, Any] | None) -> httpx.Response | None:
        key = str(uuid.uuid4())
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
        until = time.monotonic() + RETRY_FOR
        while time.monotonic() < until:
            op.attempts += 1
            try:
                answer = await self.http.post(url, json=body, headers=headers)
            except httpx.HTTPError as exc:
                op.errors.append(time.monotonic())
                self.codes[type(exc).__name__] += 1
                await asyncio.sleep(0.5)
                continue
            if answer.status_code in {409, 429} or answer.status_code >= 500:  # 409: the first try still runs
                self.codes[_code(answer)] += 1
                if answer.status_code != 409:
                    op.errors.append(time.monotonic())
                await asyncio.sleep(0.5)
                continue
            if answer.status_code >= 400:
                self.codes[f"{answer.status_code} (refused)"] += 1
                self.refusals.append(f"{answer.status_code} POST {url.split('/v1/', 1)[-1]}: {answer.text[:300]}")
                op.refused += 1
                return None
            return answer
        return None

    async def _one(self, n: int) -> None:
        op = Op(["complaint", "complaint", "assessment", "complaint", "referral", "deadlines"][n % 6], time.monotonic())
        self.ops.append(op)
        intake, referral = self.cluster.url("intake"), self.cluster.url("referral")
        if op.kind == "complaint" or (op.kind in {"assessment", "referral"} and not self.complaints):
            op.kind = "complaint"
            answer = await self._write(op, f"{intake}/v1/complaints", self.tokens["submitter"], COMPLAINT)
            if answer is not None:
                op.acked, op.ident = True, (answer.json()["id"],)
                self.complaints.append(answer.json()["id"])
        elif op.kind == "assessment":
            complaint = self.complaints[n % len(self.complaints)]
            answer = await self._write(op, f"{intake}/v1/complaints/{complaint}/assessments", self.tokens["submitter"],
                                       None)
            if answer is not None:
                op.acked, op.ident = True, (complaint, answer.json()["id"])
        elif op.kind == "referral":
            complaint = self.complaints.pop(0)  # a complaint is referred once
            consent = await self._write(op, f"{intake}/v1/complaints/{complaint}/consents", self.tokens["submitter"], {
                "status": "given", "purposes": ["investigate"], "categories": ["identity", "narrative"],
                "recipient": {"type": "institution", "value": self.recipient}, "channel": "in_person"})
            if consent is None:
                return
            answer = await self._write(op, f"{referral}/v1/referrals", self.tokens["submitter"], {
                "complaint_id": complaint, "recipient_institution_id": self.recipient, "purpose": "investigate",
                "categories": ["identity", "narrative"]})
            if answer is not None:
                op.acked, op.ident = True, (answer.json()["id"],)
        else:
            until = time.monotonic() + RETRY_FOR
            while time.monotonic() < until:
                op.attempts += 1
                try:
                    answer = await self.http.get(f"{self.cluster.url('notifications')}/v1/deadlines",
                                                 headers={"Authorization": f"Bearer {self.tokens['submitter']}"})
                except httpx.HTTPError as exc:
                    op.errors.append(time.monotonic())
                    self.codes[type(exc).__name__] += 1
                    await asyncio.sleep(0.5)
                    continue
                if answer.status_code >= 500:
                    self.codes[_code(answer)] += 1
                    op.errors.append(time.monotonic())
                    await asyncio.sleep(0.5)
                    continue
                op.acked = answer.status_code == 200
                op.refused += answer.status_code != 200
                if answer.status_code != 200:
                    self.refusals.append(f"{answer.status_code} GET deadlines: {answer.text[:300]}")
                return

    async def run(self) -> None:
        tasks: set[asyncio.Task[None]] = set()
        began, n = time.monotonic(), 0
        while not self.stopping:
            task = asyncio.create_task(self._one(n))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            n += 1
            await asyncio.sleep(max(0.0, began + n / self.rate - time.monotonic()))
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.http.aclose()


# --- reminders: deadlines due all through the run -------------------------------------------------


async def request_deadlines(cluster: RunningCluster, *, count: int, spread: float, start_in: float) -> list[tuple[str, float]]:
    """``count`` deadlines of a kind that reminds once, when overdue, due evenly over ``spread`` s from
    ``start_in`` s on; published as intake would (``comitas.deadline.requested``). Returns (key, due)."""
    import nats

    from benchmarks.reminders import seed_settings
    from comitas_shared.events.catalogue import DEADLINE_REQUESTED, DeadlineRequested

    institution = f"chaos-{uuid.uuid4().hex[:8]}"
    database = database_urls(server_url(), ["notifications"], cluster.db_prefix)["notifications"]
    await seed_settings(database, [institution], kind=REMINDER_KIND)
    connection = await nats.connect(cluster.nats_url(1), user_credentials=str(cluster.var / "nats-auth" / "platform.creds"))
    deadlines = []
    try:
        js = connection.jetstream()
        start = real_now() + timedelta(seconds=start_in)
        now_mono = time.monotonic()
        for n in range(count):
            due = start + timedelta(seconds=n * spread / max(1, count - 1))
            key = f"chaos:{n}:{uuid.uuid4().hex[:8]}"
            event = DEADLINE_REQUESTED.build(
                source="/comitas/chaos", subject=f"chaos-{n}", institution_id=institution, time=real_now(),
                data=DeadlineRequested(deadline_key=key, institution_id=institution, kind=REMINDER_KIND,
                                       title=f"Chaos deadline {n}", case_ref=f"CHAOS-{n}", last_day=due.date(),
                                       time_zone="Europe/Paris", due_at=due, calendar="chaos"))
            await js.publish(event.nats_subject, event.nats_body(), headers=event.nats_headers())
            deadlines.append((key, now_mono + (due - real_now()).total_seconds()))
    finally:
        await connection.close()
    return deadlines


async def fired_reminders(cluster: RunningCluster, keys: set[str]) -> Counter[str]:
    """How many distinct reminder events the EVENTS stream holds for each of ``keys``."""
    import nats

    connection = await nats.connect(cluster.nats_url(1), user_credentials=str(cluster.var / "nats-auth" / "platform.creds"))
    seen: dict[str, set[str]] = defaultdict(set)
    try:
        js = connection.jetstream()
        subscription = await js.subscribe("events.deadline.reminder", ordered_consumer=True)
        while True:
            try:
                message = await subscription.next_msg(timeout=3)
            except TimeoutError:
                break
            data = json.loads(message.data)
            key = data.get("deadline_key") or data.get("data", {}).get("deadline_key")
            if key in keys:
                seen[key].add((message.headers or {}).get("ce-id", ""))
        await subscription.unsubscribe()
    finally:
        await connection.close()
    return Counter({key: len(ids) for key, ids in seen.items()})


# --- faults ---------------------------------------------------------------------------------------


@dataclass
class Fault:
    name: str
    inject: Callable[[RunningCluster], Awaitable[list[tuple[str, int]]]]  # returns (process, old pid) to await


def kill(*names: str) -> Callable[[RunningCluster], Awaitable[list[tuple[str, int]]]]:
    async def inject(cluster: RunningCluster) -> list[tuple[str, int]]:
        return [(name, cluster.signal(name, signal.SIGKILL)) for name in names]
    return inject


def kill_leader(stream: str, *also: str) -> Callable[[RunningCluster], Awaitable[list[tuple[str, int]]]]:
    async def inject(cluster: RunningCluster) -> list[tuple[str, int]]:
        leader = cluster.stream_leader(stream)
        if leader is None:
            raise RuntimeError(f"no leader for {stream}")
        return [(name, cluster.signal(name, signal.SIGKILL)) for name in (leader, *also)]
    return inject


@dataclass
class DrainSeen:
    """One replica of a rolling restart, as the gateway saw it between its SIGTERM and its exit."""

    name: str
    down_after: float | None = None  # s from SIGTERM to DOWN by its own /readyz 503, while it still ran
    exited_after: float | None = None
    gateway_errors: int = 0  # requests whose connection to it failed or whose answer it broke off


def _running(pid: int) -> bool:
    """Alive and not yet a zombie (run-cluster's supervisor reaps its children only every 0.2 s)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


async def _watch_drain(cluster: RunningCluster, name: str, pid: int, signalled: float) -> DrainSeen:
    seen = DrainSeen(name)
    deadline = signalled + RECOVERY_TIMEOUT
    while _running(pid):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} (pid {pid}) still runs {RECOVERY_TIMEOUT:.0f} s after SIGTERM")
        if seen.down_after is None:
            cells = cluster.server_stats().get(name, {})
            # DOWN because its /readyz answered 503 (L7STS), not because nothing answered (L4CON).
            if cells.get("status", "").startswith("DOWN") and cells.get("check_status") == "L7STS" \
                    and cells.get("check_code") == "503" and _running(pid):
                seen.down_after = time.monotonic() - signalled
        await asyncio.sleep(0.1)
    seen.exited_after = time.monotonic() - signalled
    return seen


def _gateway_errors(stats: dict[str, dict[str, str]], name: str) -> int:
    cells = stats.get(name, {})
    return sum(int(cells.get(field) or 0) for field in ("econ", "eresp"))


def rolling_restart(services: Sequence[str]) -> Callable[[RunningCluster], Awaitable[list[tuple[str, int]]]]:
    """Replica 1 of every service, then replica 2: each sent SIGTERM and nothing else, as an orchestrator
    does. The replica answers 503 on /readyz while it still serves; the gateway takes it out after
    ``fall`` checks; it stops after its drain and is started again; the next batch waits until it is
    back in rotation. Records, per replica, whether the gateway had it DOWN by its /readyz before it
    exited, and the requests the gateway failed on it (``cluster.drains``)."""
    async def inject(cluster: RunningCluster) -> list[tuple[str, int]]:
        restarted: list[tuple[str, int]] = []
        for replica in range(1, cluster.topology.replicas + 1):
            names = [f"{service}-{replica}" for service in services]
            before = cluster.server_stats()
            signalled = time.monotonic()
            batch = [(name, cluster.signal(name, signal.SIGTERM)) for name in names]
            seen = await asyncio.gather(*(_watch_drain(cluster, name, pid, signalled) for name, pid in batch))
            await wait_back(cluster, batch)
            after = cluster.server_stats()
            for one in seen:
                one.gateway_errors = _gateway_errors(after, one.name) - _gateway_errors(before, one.name)
            cluster.drains += seen
            restarted += batch
        return restarted
    return inject


async def wait_back(cluster: RunningCluster, processes: Sequence[tuple[str, int]], *, in_rotation: bool = True) -> None:
    deadline = time.monotonic() + RECOVERY_TIMEOUT
    while not all(cluster.back(name, pid, in_rotation=in_rotation) for name, pid in processes):
        if time.monotonic() > deadline:
            raise RuntimeError(f"not back after {RECOVERY_TIMEOUT:.0f} s: {processes}")
        await asyncio.sleep(0.25)


def faults(services: Sequence[str], *, bounded: bool) -> list[Fault]:
    """The issue's faults. Bounded (make test): one replica of each service killed one after another
    counts as one row, and the rolling restart covers every service at once (replica 1s, then 2s)."""
    one_each = [Fault(f"kill {s}-1", kill(f"{s}-1")) for s in services]
    together = [
        Fault("kill EVENTS leader", kill_leader("EVENTS")),
        Fault("kill a NATS node + notifications-2", kill_leader("FEEDS", "notifications-2")),
        Fault("rolling restart", rolling_restart(services)),
        Fault("kill SCHEDULES leader", kill_leader("SCHEDULES")),
    ]
    if bounded:
        return [Fault("kill one replica of each", kill(*(f"{s}-2" for s in services))), *together]
    return [*one_each, Fault("kill one replica of each", kill(*(f"{s}-2" for s in services))), *together]


@dataclass
class Row:
    fault: str
    started: float
    ended: float = 0.0
    recovered_in: float = float("nan")
    acked: int = 0
    attempts: int = 0
    errors: int = 0
    refused: int = 0
    error_span: float = 0.0
    lost: int = 0
    doubled: int = 0
    redelivered: int = 0
    reminders_due: int = 0
    reminders_lost: int = 0
    reminders_twice: int = 0
    drains: list[DrainSeen] = field(default_factory=list)

    @property
    def drained(self) -> int:
        """Replicas the gateway had DOWN by their own /readyz before they exited."""
        return sum(d.down_after is not None for d in self.drains)

    @property
    def gateway_errors(self) -> int:
        return sum(d.gateway_errors for d in self.drains)


@dataclass
class Outcome:
    rows: list[Row]
    load_average: tuple[float, float, float]
    rate: float
    events_missing: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    refusals: list[str] = field(default_factory=list)
    webhook_lag: float = 0.0

    @property
    def clean(self) -> bool:
        return all(r.lost == 0 and r.doubled == 0 and r.reminders_lost == 0 and r.reminders_twice == 0
                   for r in self.rows)


async def _tokens(cluster: RunningCluster) -> tuple[dict[str, str], str, str]:
    institutions = [e for e in cluster.credentials() if e.get("kind") != "platform_service" and e.get("client_secret")]
    # Not the first demo institution, which tests/test_cluster.py's journey uses: its webhooks are its own.
    # The recipient is one whose directory entry takes referred cases to investigate (the demo's ombudsperson).
    by_id = {e["id"]: e for e in institutions}
    submitter = by_id.get("inst_demo_commission", institutions[2])
    recipient = by_id.get("inst_demo_ombudsperson", institutions[0])
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.post(f"{cluster.url('identity')}/oauth/token", data={"grant_type": "client_credentials"},
                                 auth=(submitter["client_id"], submitter["client_secret"]))
        answer.raise_for_status()
    return {"submitter": answer.json()["access_token"]}, submitter["id"], recipient["id"]


async def run_suite(cluster: RunningCluster, *, rate: float, bounded: bool, settle: float = 3.0,
                    say: Callable[[str], None] = print) -> Outcome:
    tokens, _submitter, recipient = await _tokens(cluster)
    receiver = Receiver()
    served = await ServedApp(receiver.asgi()).start()
    load = Load(cluster, tokens, recipient, rate)
    subscription: str | None = None
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            subscribed = await http.post(f"{cluster.url('notifications')}/v1/subscriptions",
                                         headers={"Authorization": f"Bearer {tokens['submitter']}"},
                                         json={"url": f"{served.url}/hook", "event_types": list(EVENT_TYPES)})
            subscribed.raise_for_status()
            subscription = subscribed.json()["id"]
        plan = faults(cluster.services, bounded=bounded)
        # Reminders due through the whole run: about one per 3 s over the expected length of the faults.
        expected = 25.0 * len(plan) + 20
        deadlines = await request_deadlines(cluster, count=max(10, int(expected / 3)), spread=expected, start_in=10)
        runner = asyncio.create_task(load.run())
        await asyncio.sleep(settle * 2)
        rows: list[Row] = []
        for fault in plan:
            row = Row(fault.name, time.monotonic())
            say(f"  {fault.name} ...")
            seen = len(cluster.drains)
            processes = await fault.inject(cluster)
            await wait_back(cluster, processes)
            row.recovered_in = time.monotonic() - row.started
            row.drains = cluster.drains[seen:]
            await asyncio.sleep(settle)
            row.ended = time.monotonic()
            rows.append(row)
        # Wait for the last reminders, then stop the load and let the last events arrive.
        last_due = max(due for _, due in deadlines)
        await asyncio.sleep(max(0.0, last_due - time.monotonic()) + 5)
        load.stopping = True
        await runner
        outcome = Outcome(rows, os.getloadavg(), rate, codes=load.codes, refusals=load.refusals)
        # Webhooks trail the load (a backlog, not a loss): wait for every acknowledged complaint's, bounded.
        stopped = time.monotonic()
        while time.monotonic() - stopped < WEBHOOK_WAIT:
            if not _missing(load, receiver):
                break
            await asyncio.sleep(1.0)
        outcome.webhook_lag = time.monotonic() - stopped
        await _account(cluster, load, receiver, deadlines, outcome, tokens)
        return outcome
    finally:
        load.stopping = True
        if subscription is not None:  # a receiver that is gone would be retried for hours
            async with httpx.AsyncClient(timeout=10) as http:
                with contextlib.suppress(httpx.HTTPError):
                    await http.delete(f"{cluster.url('notifications')}/v1/subscriptions/{subscription}",
                                      headers={"Authorization": f"Bearer {tokens['submitter']}"})
        await served.stop()


def _missing(load: Load, receiver: Receiver) -> int:
    submitted = {body.get("subject") for _, body, _ in receiver.deliveries if body["type"] == EVENT_TYPES[0]}
    return sum(1 for op in load.ops if op.kind == "complaint" and op.acked and op.ident[0] not in submitted)


def _row_of(rows: Sequence[Row], at: float) -> Row | None:
    for row in rows:
        if row.started <= at < row.ended:
            return row
    return None


async def _account(cluster: RunningCluster, load: Load, receiver: Receiver, deadlines: Sequence[tuple[str, float]],
                   outcome: Outcome, tokens: dict[str, str]) -> None:
    rows = outcome.rows
    headers = {"Authorization": f"Bearer {tokens['submitter']}"}
    lost_ops: list[Op] = []
    async with httpx.AsyncClient(timeout=10, headers=headers) as http:
        for op in load.ops:
            if not op.acked or op.kind == "deadlines":
                continue
            if op.kind == "complaint":
                url = f"{cluster.url('intake')}/v1/complaints/{op.ident[0]}"
            elif op.kind == "assessment":
                url = f"{cluster.url('intake')}/v1/complaints/{op.ident[0]}/assessments/{op.ident[1]}"
            else:
                url = f"{cluster.url('referral')}/v1/referrals/{op.ident[0]}"
            for _ in range(20):
                try:
                    status = (await http.get(url)).status_code
                except httpx.HTTPError:
                    status = 599
                if status < 500:
                    break
                await asyncio.sleep(0.5)
            if status != 200:
                lost_ops.append(op)
    for op in load.ops:
        row = _row_of(rows, op.started)
        if row is None:
            continue
        row.acked += op.acked
        row.attempts += op.attempts
        row.errors += len(op.errors)
        row.refused += op.refused
        row.lost += op in lost_ops
    for row in rows:
        errors = [t for op in load.ops for t in op.errors if row.started <= t < row.ended]
        row.error_span = (max(errors) - min(errors)) if errors else 0.0
    # Doubled: one fact (a complaint submitted, an assessment, a referral's change) under two event ids,
    # or one event under two webhook-ids. Redelivery of one webhook-id is at-least-once, counted apart.
    webhook_ids = Counter(webhook_id for webhook_id, _, _ in receiver.deliveries)
    by_event: dict[str, set[str]] = defaultdict(set)
    facts: dict[tuple[str, str], set[str]] = defaultdict(set)
    first_seen: dict[str, float] = {}
    for webhook_id, body, at in receiver.deliveries:
        by_event[body["id"]].add(webhook_id)
        data = body.get("data") or {}
        fact = data.get("assessment_id") or data.get("referral_id") or body.get("subject") or ""
        if body["type"] != "comitas.complaint.referral_changed":
            facts[(body["type"], fact)].add(body["id"])
        first_seen.setdefault(body["id"], at)
    for event_id, ids in by_event.items():
        row = _row_of(rows, first_seen[event_id])
        if row is not None:
            row.doubled += len(ids) > 1
            row.redelivered += sum(webhook_ids[i] - 1 for i in ids)
    for (_, _fact), ids in facts.items():
        if len(ids) > 1:
            row = _row_of(rows, min(first_seen[i] for i in ids))
            if row is not None:
                row.doubled += 1
    outcome.events_missing = _missing(load, receiver)
    fired = await fired_reminders(cluster, {key for key, _ in deadlines})
    for key, due in deadlines:
        row = _row_of(rows, due) or (rows[-1] if rows and due >= rows[-1].ended else None)
        if row is None:
            continue
        row.reminders_due += 1
        row.reminders_lost += fired[key] == 0
        row.reminders_twice += fired[key] > 1


def report(outcome: Outcome) -> str:
    head = ("fault", "acked", "writes lost", "doubled", "redelivered", "errors", "error rate", "errors for",
            "recovered in", "reminders due", "lost", "twice", "drained", "gateway errors")
    rows = [head]
    for r in outcome.rows:
        rate = f"{100 * r.errors / r.attempts:.1f} %" if r.attempts else "-"
        drained = f"{r.drained}/{len(r.drains)}" if r.drains else "-"
        rows.append((r.fault, str(r.acked), str(r.lost), str(r.doubled), str(r.redelivered), str(r.errors), rate,
                     f"{r.error_span:.1f} s", f"{r.recovered_in:.1f} s", str(r.reminders_due),
                     str(r.reminders_lost), str(r.reminders_twice), drained,
                     str(r.gateway_errors) if r.drains else "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    table = "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)
    load = ", ".join(f"{x:.2f}" for x in outcome.load_average)
    codes = ", ".join(f"{code}: {n}" for code, n in outcome.codes.most_common()) or "none"
    drains = [d for r in outcome.rows for d in r.drains]
    downs = sorted(d.down_after for d in drains if d.down_after is not None)
    exits = sorted(d.exited_after for d in drains if d.exited_after is not None)
    drain_note = (f"rolling restart: {len(downs)} of {len(drains)} replicas out of the gateway's rotation by "
                  f"their own /readyz 503 before they exited (SIGTERM to DOWN {downs[0]:.1f}-{downs[-1]:.1f} s, "
                  f"to exit {exits[0]:.1f}-{exits[-1]:.1f} s); " if downs and exits else "")
    return (f"{table}\n\n{drain_note}load {outcome.rate:g} requests/s, open loop; failed attempts by answer: {codes}; "
            f"acknowledged complaints whose comitas.complaint.submitted webhook had not come "
            f"{outcome.webhook_lag:.0f} s after the load stopped: {outcome.events_missing}; "
            f"load average at the end: {load}; {os.cpu_count()} cores"
            + "".join(f"\n  refused: {refusal}" for refusal in outcome.refusals))


async def one_replica_against_two(cluster: RunningCluster, *, requests: int = 300, concurrency: int = 16) -> str:
    """Complaint submissions through the gateway, closed loop: intake's two replicas, then one (the other
    put in maintenance at the gateway). On one machine the cores, not the processes, are the limit."""
    from benchmarks.run import Figures, submit_load

    tokens, _, _ = await _tokens(cluster)
    headers = {"Authorization": f"Bearer {tokens['submitter']}"}
    limits = httpx.Limits(max_connections=concurrency + 4)
    lines = []
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        for label in ("two replicas", "one replica"):
            if label == "one replica":
                cluster.admin("disable server intake/intake-2")
            try:
                figures: Figures = await submit_load(http, label, f"{cluster.url('intake')}/v1/complaints", headers,
                                                     requests=requests, concurrency=concurrency)
            finally:
                cluster.admin("enable server intake/intake-2")
            lines.append(f"  intake through HAProxy, {label}: {figures.throughput:.0f} req/s, "
                         f"p50 {figures.percentile(50) * 1000:.0f} ms, p99 {figures.percentile(99) * 1000:.0f} ms, "
                         f"errors {figures.errors} ({requests} requests, {concurrency} clients, "
                         f"load average {os.getloadavg()[0]:.2f})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second (open loop)")
    parser.add_argument("--bounded", action="store_true", help="the shorter suite make test runs")
    parser.add_argument("--base-port", type=int, default=23000)
    parser.add_argument("--replicas", action="store_true",
                        help="instead of the faults: intake's throughput through the gateway, two replicas then one")
    args = parser.parse_args(argv)
    server_url()  # fails early without PostgreSQL
    with tempfile.TemporaryDirectory(prefix="comitas-chaos-") as tmp:
        cluster = RunningCluster(Path(tmp) / "var", base_port=args.base_port,
                                 db_prefix=f"chaos_{uuid.uuid4().hex[:6]}")
        print("Starting the cluster (comitas-dev run-cluster) ...", flush=True)
        cluster.start()
        try:
            if args.replicas:
                print(asyncio.run(one_replica_against_two(cluster)))
                return 0
            outcome = asyncio.run(run_suite(cluster, rate=args.rate, bounded=args.bounded,
                                            say=lambda text: print(text, flush=True)))
        finally:
            cluster.stop()
    print(report(outcome))
    return 0 if outcome.clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
