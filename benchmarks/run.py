"""``make bench``: what a complaint submission costs, and how soon a subscriber hears of it.

From one run, on loopback, with the stack as ``make run`` starts it (its own NATS, identity, intake and
notifications as separate uvicorn processes, SQLite files in a temporary directory, free ports):

1. complaint submission (``POST /v1/complaints`` with a real token): throughput and p50/p99 latency at a
   fixed concurrency, beside the same figures for a bare FastAPI endpoint that inserts one row through
   the same database plumbing (``benchmarks/bare_app.py``), and the ratio of the two;
2. submit-to-webhook latency: a local receiver subscribed to ``comitas.complaint.submitted``; complaints
   submitted one at a time; the time from the 201 to the signed webhook (signature checked) arriving.

Every loop is bounded (request counts, timeouts); the figures are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import hashlib
import hmac
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from comitas_shared import devstack
from comitas_shared.testing import ServedApp, free_port, nats_server_binary

ROOT = Path(__file__).resolve().parent.parent
STACK = ("identity", "intake", "notifications")
WARMUP = 20
WEBHOOK_TIMEOUT = 10.0


@dataclass
class Figures:
    name: str
    latencies: list[float]  # seconds, successful requests only
    concurrency: int
    elapsed: float = 0.0
    errors: int = 0

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else float("nan")

    def percentile(self, p: int) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1]


# --- load -----------------------------------------------------------------------------------------


async def submit_load(http: httpx.AsyncClient, name: str, url: str, headers: Mapping[str, str], *,
                      requests: int, concurrency: int) -> Figures:
    """``requests`` submissions shared by ``concurrency`` clients, after a few unmeasured ones."""
    for _ in range(WARMUP):
        (await http.post(url, json=devstack.EXAMPLE_COMPLAINT, headers=headers)).raise_for_status()
    figures = Figures(name, [], concurrency)
    remaining = iter(range(requests))

    async def client() -> None:
        for _ in remaining:
            started = time.perf_counter()
            answer = await http.post(url, json=devstack.EXAMPLE_COMPLAINT, headers=headers)
            if answer.status_code == 201:
                figures.latencies.append(time.perf_counter() - started)
            else:
                figures.errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    figures.elapsed = time.perf_counter() - started
    return figures


class WebhookReceiver:
    """A subscriber's endpoint: checks the Standard Webhooks signature, notes when each complaint's
    event arrived."""

    def __init__(self) -> None:
        self.secret = ""
        self.arrived: dict[str, asyncio.Event] = {}
        self.at: dict[str, float] = {}
        self.rejected = 0
        self.app = Starlette(routes=[Route("/hook", self.receive, methods=["POST"])])

    def signed(self, headers: Mapping[str, str], body: bytes) -> bool:
        key = base64.b64decode(self.secret.removeprefix("whsec_"))
        message = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
        expected = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
        return any(hmac.compare_digest(f"v1,{expected}", s) for s in headers["webhook-signature"].split())

    async def receive(self, request: Request) -> Response:
        now = time.perf_counter()
        body = await request.body()
        if not self.secret or not self.signed(request.headers, body):
            self.rejected += 1
            return Response(status_code=400)
        complaint_id = json.loads(body)["data"]["complaint_id"]
        self.at.setdefault(complaint_id, now)
        self.arrived.setdefault(complaint_id, asyncio.Event()).set()
        return Response(status_code=204)

    async def wait(self, complaint_id: str) -> float:
        await asyncio.wait_for(self.arrived.setdefault(complaint_id, asyncio.Event()).wait(), WEBHOOK_TIMEOUT)
        return self.at[complaint_id]


async def webhook_latency(http: httpx.AsyncClient, intake: str, notifications: str, headers: Mapping[str, str], *,
                          count: int) -> Figures:
    receiver = WebhookReceiver()
    served = await ServedApp(receiver.app).start()
    try:
        subscribed = await http.post(f"{notifications}/v1/subscriptions", headers=headers, json={
            "url": f"{served.url}/hook", "event_types": ["comitas.complaint.submitted"],
            "description": "make bench"})
        subscribed.raise_for_status()
        receiver.secret = subscribed.json()["secret"]
        figures = Figures("submit → signed webhook", [], 1)
        started = time.perf_counter()
        for i in range(count + 5):  # the first five open connections and are not measured
            answer = await http.post(f"{intake}/v1/complaints", json=devstack.EXAMPLE_COMPLAINT, headers=headers)
            answered = time.perf_counter()
            if answer.status_code != 201:
                figures.errors += 1
                continue
            try:
                arrived = await receiver.wait(answer.json()["id"])
            except TimeoutError:
                figures.errors += 1
                continue
            if i >= 5:
                figures.latencies.append(arrived - answered)
        figures.elapsed = time.perf_counter() - started
        figures.errors += receiver.rejected
        return figures
    finally:
        await served.stop()


async def measure(stack: devstack.Layout, bare_url: str, credentials: Mapping[str, Any], *, requests: int,
                  concurrency: int, webhooks: int) -> list[Figures]:
    client = next(e for e in credentials["institutions"] if e.get("client_secret"))
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency + 4)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        answer = await http.post(f"{stack.url('identity')}/oauth/token", auth=(client["client_id"],
                                 client["client_secret"]), data={"grant_type": "client_credentials",
                                                                 "scope": "complaints:submit subscriptions:manage"})
        answer.raise_for_status()
        headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        bare = await submit_load(http, "bare FastAPI insert", f"{bare_url}/v1/complaints", {},
                                 requests=requests, concurrency=concurrency)
        comitas = await submit_load(http, "POST /v1/complaints", f"{stack.url('intake')}/v1/complaints", headers,
                                    requests=requests, concurrency=concurrency)
        hooks = await webhook_latency(http, stack.url("intake"), stack.url("notifications"), headers,
                                      count=webhooks)
    return [bare, comitas, hooks]


# --- report ---------------------------------------------------------------------------------------


def machine(load_before: float) -> str:
    nats = subprocess.run([nats_server_binary(), "--version"], capture_output=True, text=True, check=False)
    return (f"{datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}, {nats.stdout.strip() or 'nats-server'}, SQLite, loopback; "
            f"load average {load_before:.2f} before the run (the client shares the machine)")


def report(figures: list[Figures]) -> str:
    bare, comitas, hooks = figures

    def ms(value: float) -> str:
        return f"{value * 1000:.1f} ms"

    rows = [("", "requests", "clients", "throughput", "p50", "p99", "errors")]
    for f in (bare, comitas):
        rows.append((f.name, str(len(f.latencies) + f.errors), str(f.concurrency), f"{f.throughput:.0f} req/s",
                     ms(f.percentile(50)), ms(f.percentile(99)), str(f.errors)))
    rows.append(("complaint ÷ bare", "", "", f"{comitas.throughput / bare.throughput:.2f}×",
                 f"{comitas.percentile(50) / bare.percentile(50):.2f}×",
                 f"{comitas.percentile(99) / bare.percentile(99):.2f}×", ""))
    rows.append((hooks.name, str(len(hooks.latencies) + hooks.errors), "1 (one at a time)", "",
                 ms(hooks.percentile(50)), ms(hooks.percentile(99)), str(hooks.errors)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                                      enumerate(zip(r, widths, strict=True))) for r in rows)


# --- the stack ------------------------------------------------------------------------------------


def bench_layout(var: Path) -> devstack.Layout:
    ports = {f"COMITAS_DEV_{name.upper()}_PORT": str(free_port())
             for name in [*(s.name for s in devstack.SERVICES), "nats"]}
    layout = devstack.Layout.from_env(str(var), ports)
    return dataclasses.replace(layout, services=tuple(s for s in layout.services if s.name in STACK))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--requests", type=int, default=500, help="submissions per load run (500)")
    parser.add_argument("-c", "--concurrency", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("-k", "--webhooks", type=int, default=100, help="complaints timed to their webhook (100)")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="comitas-bench-") as tmp:
        var = Path(tmp)
        layout = bench_layout(var)
        print(f"Starting NATS, {', '.join(STACK)} and the bare app (logs in {var / 'log'}) ...", flush=True)
        key = devstack.master_key(layout)
        devstack.migrate(layout)
        credentials = devstack.seed(layout, key)
        supervisor = devstack.Supervisor()
        nats, services = devstack.start_stack(layout, key, supervisor)
        children = list(reversed(services))
        try:
            bare_url = f"http://127.0.0.1:{free_port()}"
            path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
            children.insert(0, devstack.Child.spawn(
                "bare", [sys.executable, "-m", "uvicorn", "--factory", "benchmarks.bare_app:create_app",
                         "--host", "127.0.0.1", "--port", bare_url.rsplit(":", 1)[1]],
                log=var / "log" / "bare.log", health_url=f"{bare_url}/healthz",
                env={**os.environ, "PYTHONPATH": path,
                     "COMITAS_BENCH_DATABASE_URL": f"sqlite+aiosqlite:///{var / 'bare.db'}"}))
            supervisor.wait_healthy(children[:1], timeout=devstack.STARTUP_TIMEOUT)
            print(f"Measuring: {args.requests} submissions × 2 at {args.concurrency} clients, "
                  f"then {args.webhooks} webhooks ...", flush=True)
            figures = asyncio.run(measure(layout, bare_url, credentials, requests=args.requests,
                                          concurrency=args.concurrency, webhooks=args.webhooks))
        finally:
            devstack.stop_children(children)
            devstack.stop_children([nats])
    print(f"\nComitas benchmarks: {machine(load_before)}\n{report(figures)}")
    return 1 if any(f.errors for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
