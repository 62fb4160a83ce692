"""``make bench``: what a complaint submission costs, and how soon a subscriber hears of it.

From one run, on loopback, with the stack as ``make run`` starts it (its own NATS, identity, intake and
notifications as separate uvicorn processes, SQLite files in a temporary directory, free ports):

1. complaint submission (``POST /v1/complaints`` with a real token): throughput and p50/p99 latency at a
   fixed concurrency, beside the same figures for a bare FastAPI endpoint that inserts one row through
   the same database plumbing (``benchmarks/bare_app.py``), and the ratio of the two;
2. submit-to-webhook latency: a local receiver subscribed to ``comitas.complaint.submitted``; complaints
   submitted one at a time; the time from the 201 to the signed webhook (signature checked) arriving;
3. reminders at volume (``benchmarks/reminders.py``, its own NATS and notifications): 100,000 deadlines
   whose reminders fall due over one minute; ingestion rate, firing lag (p50/p99), peak RSS.

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
import subprocess
import sys
import tempfile
import time
import uuid
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

import comitas_devstack as devstack
from benchmarks import reminders
from comitas_devstack import cluster
from comitas_shared.testing import ServedApp, free_port, free_ports, nats_server_binary

ROOT = Path(__file__).resolve().parent.parent
STACK = ("identity", "intake", "notifications")
WARMUP = 20
WEBHOOK_TIMEOUT = 10.0
# What PostgreSQL saw per request (filled by measure() on PostgreSQL, printed after the table).
STATEMENTS: list[str] = []


@dataclass
class Figures:
    name: str
    latencies: list[float]  # seconds, successful requests only
    concurrency: int
    elapsed: float = 0.0
    errors: int = 0
    # Connections the service's database accepted during the run (PostgreSQL only): its pool's churn.
    new_connections: int | None = None
    rate: float | None = None  # open loop: the fixed arrival rate

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else float("nan")

    def percentile(self, p: int) -> float:
        return reminders.percentile(self.latencies, p)


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


async def open_loop(name: str, url: str, headers: Mapping[str, str], *, rate: float, requests: int) -> Figures:
    """``requests`` submissions arriving at a fixed ``rate``, whatever the answers (no coordinated
    omission: a slow answer does not delay the next arrival); a client of its own, never short of
    connections."""
    figures = Figures(name, [], 0, rate=rate)
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        for _ in range(WARMUP):
            (await http.post(url, json=devstack.EXAMPLE_COMPLAINT, headers=headers)).raise_for_status()

        async def one() -> None:
            started = time.perf_counter()
            try:
                answer = await http.post(url, json=devstack.EXAMPLE_COMPLAINT, headers=headers)
            except httpx.HTTPError:
                figures.errors += 1
                return
            if answer.status_code == 201:
                figures.latencies.append(time.perf_counter() - started)
            else:
                figures.errors += 1

        tasks = []
        began = time.perf_counter()
        for n in range(requests):
            tasks.append(asyncio.create_task(one()))
            await asyncio.sleep(max(0.0, began + (n + 1) / rate - time.perf_counter()))
        await asyncio.gather(*tasks)
        figures.elapsed = time.perf_counter() - began
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
                  concurrency: int, webhooks: int, postgres: str | None = None) -> list[Figures]:
    client = next(e for e in credentials["institutions"] if e.get("client_secret"))
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency + 4)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        answer = await http.post(f"{stack.url('identity')}/oauth/token", auth=(client["client_id"],
                                 client["client_secret"]), data={"grant_type": "client_credentials",
                                                                 "scope": "complaints:submit subscriptions:manage"})
        answer.raise_for_status()
        headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        databases = {}
        if postgres is not None:
            databases = {"bare": stack.database_url(_named("bare")).rsplit("/", 1)[1],
                         "intake": stack.database_url(_named("intake")).rsplit("/", 1)[1]}
        before = await _sessions(postgres, list(databases.values())) if postgres else {}
        seen = await _activity(postgres, databases["bare"]) if postgres else {}
        cpu = _cpu_seconds() if CPU_WATCH else {}
        bare = await submit_load(http, "bare FastAPI insert", f"{bare_url}/v1/complaints", {},
                                 requests=requests, concurrency=concurrency)
        if CPU_WATCH:
            CPU_LINES.append(cpu_report(cpu, _cpu_seconds(), requests + WARMUP, "bare insert"))
        if postgres:
            STATEMENTS.append(statements_report(seen, await _activity(postgres, databases["bare"]),
                                                requests + WARMUP, "bare insert"))
        middle = await _sessions(postgres, list(databases.values())) if postgres else {}
        seen = await _activity(postgres, databases["intake"]) if postgres else {}
        cpu = _cpu_seconds() if CPU_WATCH else {}
        comitas = await submit_load(http, "POST /v1/complaints", f"{stack.url('intake')}/v1/complaints", headers,
                                    requests=requests, concurrency=concurrency)
        if CPU_WATCH:
            # Not only intake: its events go on through NATS to notifications' consumers meanwhile.
            CPU_LINES.append(cpu_report(cpu, _cpu_seconds(), requests + WARMUP, "POST /v1/complaints"))
        if postgres:
            STATEMENTS.append(statements_report(seen, await _activity(postgres, databases["intake"]),
                                                requests + WARMUP, "POST /v1/complaints (intake's database)"))
        after = await _sessions(postgres, list(databases.values())) if postgres else {}
        if postgres is not None:
            # The bare app's database sees only its own load; intake's also its relay and consumers, idle here.
            bare.new_connections = middle[databases["bare"]] - before[databases["bare"]]
            comitas.new_connections = after[databases["intake"]] - middle[databases["intake"]]
        # p99 at 80 % of what the bare insert sustains, arrivals at a fixed rate.
        rate = 0.8 * bare.throughput
        paced_bare = await open_loop("bare FastAPI insert", f"{bare_url}/v1/complaints", {}, rate=rate,
                                     requests=requests)
        paced = await open_loop("POST /v1/complaints", f"{stack.url('intake')}/v1/complaints", headers, rate=rate,
                                requests=requests)
        hooks = await webhook_latency(http, stack.url("intake"), stack.url("notifications"), headers,
                                      count=webhooks)
    return [bare, comitas, hooks, paced_bare, paced]


# Processes whose CPU time each closed loop reports (name -> pid), filled once the stack runs.
CPU_WATCH: dict[str, int] = {}
CPU_LINES: list[str] = []


def _cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) each watched process has used so far, and PostgreSQL's backends
    together (every postgres process on the machine: other users' too, so read it as an upper bound)."""
    tick = os.sysconf("SC_CLK_TCK")

    def used(pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / tick

    seconds = {name: used(pid) for name, pid in CPU_WATCH.items()}
    postgres = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    postgres += used(int(entry.name))
            except OSError:
                continue
    seconds["PostgreSQL (all backends)"] = postgres
    return seconds


def cpu_report(before: dict[str, float], after: dict[str, float], requests: int, name: str) -> str:
    """Milliseconds of CPU per request, by process, over one closed loop (a process that ended or began
    during it counts what it used while watched)."""
    per = {key: 1000 * (after.get(key, 0.0) - before.get(key, 0.0)) / requests for key in after}
    shown = ", ".join(f"{key} {value:.1f}" for key, value in per.items() if value >= 0.05)
    return f"  {name}: {shown}; total {sum(per.values()):.1f} ms per request"


async def _activity(postgres: str, database: str) -> dict[str, int]:
    """Counters of one database: transactions committed, and per table rows inserted, updated and
    deleted and scans (index or sequential) started: the statements a request runs, seen by the server."""
    await asyncio.sleep(1.0)  # the backends report their counters at most once a second
    async with cluster.pg_connect(postgres, database) as connection:
        counters = {"transactions": int(await connection.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"))}
        for row in await connection.fetch(
                "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del, coalesce(idx_scan, 0) + seq_scan AS scans "
                "FROM pg_stat_user_tables"):
            for kind in ("n_tup_ins", "n_tup_upd", "n_tup_del", "scans"):
                if row[kind]:
                    counters[f"{row['relname']} {kind.removeprefix('n_tup_')}"] = int(row[kind])
        return counters


def statements_report(before: dict[str, int], after: dict[str, int], requests: int, name: str) -> str:
    per = {key: (after.get(key, 0) - before.get(key, 0)) / requests for key in after}
    shown = ", ".join(f"{key} {value:.2f}" for key, value in sorted(per.items()) if value >= 0.05)
    return f"  {name}, per request: {shown}"


def _named(name: str) -> devstack.Service:
    """A Service by name for Layout.database_url (the bare app is no service, but has a database)."""
    return devstack.Service(name, f"comitas_{name}", 0, name)


# --- report ---------------------------------------------------------------------------------------


def machine(load_before: float, database: str = "SQLite") -> str:
    nats = subprocess.run([nats_server_binary(), "--version"], capture_output=True, text=True, check=False)
    return (f"{datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}, {nats.stdout.strip() or 'nats-server'}, {database}, loopback; "
            f"load average {load_before:.2f} before the run, {os.getloadavg()[0]:.2f} after "
            f"(the client shares the machine)")


def report(figures: list[Figures]) -> str:
    bare, comitas, hooks, *paced = figures

    def ms(value: float) -> str:
        return f"{value * 1000:.1f} ms"

    rows = [("", "requests", "clients", "throughput", "p50", "p99", "errors", "new connections")]

    def connections(f: Figures) -> str:
        return "" if f.new_connections is None else str(f.new_connections)

    for f in (bare, comitas):
        rows.append((f.name, str(len(f.latencies) + f.errors), str(f.concurrency), f"{f.throughput:.0f} req/s",
                     ms(f.percentile(50)), ms(f.percentile(99)), str(f.errors), connections(f)))
    rows.append(("complaint ÷ bare", "", "", f"{comitas.throughput / bare.throughput:.2f}×",
                 f"{comitas.percentile(50) / bare.percentile(50):.2f}×",
                 f"{comitas.percentile(99) / bare.percentile(99):.2f}×", "", ""))
    for f in paced:
        rows.append((f"{f.name}, open loop", str(len(f.latencies) + f.errors), f"{f.rate:.0f} req/s fixed",
                     f"{f.throughput:.0f} req/s", ms(f.percentile(50)), ms(f.percentile(99)), str(f.errors), ""))
    rows.append((hooks.name, str(len(hooks.latencies) + hooks.errors), "1 (one at a time)", "",
                 ms(hooks.percentile(50)), ms(hooks.percentile(99)), str(hooks.errors), ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                                      enumerate(zip(r, widths, strict=True))) for r in rows)


# --- the stack ------------------------------------------------------------------------------------


def bench_layout(var: Path, postgres: str | None = None, prefix: str = "") -> devstack.Layout:
    """The stack on free ports; on PostgreSQL (``postgres``, the server's URL) each service gets a database
    of its own, ``<prefix>_<service>``, created here and dropped after the run."""
    names = [*(s.name for s in devstack.SERVICES), "nats"]
    ports = {f"COMITAS_DEV_{name.upper()}_PORT": str(port)
             for name, port in zip(names, free_ports(len(names)), strict=True)}
    layout = devstack.Layout.from_env(str(var), ports)
    layout = dataclasses.replace(layout, services=tuple(s for s in layout.services if s.name in STACK))
    if postgres is None:
        return layout
    urls = cluster.database_urls(postgres, [*STACK, "bare"], prefix)
    cluster.create_databases(postgres, [url.rsplit("/", 1)[1] for url in urls.values()])
    return cluster.ClusterLayout(var=layout.var, ports=layout.ports, services=layout.services, database_urls=urls)


def _server_version(postgres: str) -> str:
    async def version() -> str:
        async with cluster.pg_connect(postgres) as connection:
            return str(await connection.fetchval("SHOW server_version"))

    return asyncio.run(version())


# ``--profile``: cProfile in intake's process from its first line to its exit (SIGTERM ends uvicorn
# cleanly), through a sitecustomize on PYTHONPATH that only intake's command line enables.
PROFILE_HOOK = """
import sys
if any(arg.startswith("comitas_intake.main:") for arg in sys.argv):
    import atexit, cProfile, os, signal
    _profile = cProfile.Profile()
    _done = []

    def _dump():
        if not _done:
            _done.append(1)
            _profile.disable()
            _profile.dump_stats(os.environ["COMITAS_BENCH_PROFILE"])

    # uvicorn re-raises SIGTERM after its graceful shutdown, which ends the process before atexit.
    _raise_signal = signal.raise_signal
    signal.raise_signal = lambda signum: (_dump(), _raise_signal(signum))
    atexit.register(_dump)
    _profile.enable()
"""

# Where intake's CPU goes, by the code that spends it (cProfile's own time per function; a C builtin's
# time goes to the callers' categories in proportion). Cumulative times are not used: cProfile counts
# every resumption of a coroutine as a call, which makes them meaningless for async code.
PROFILE_CATEGORIES = (
    ("fastapi/dependencies/", "FastAPI dependency solving"),
    ("fastapi/", "FastAPI routing, validation and serialisation"),
    ("starlette/", "Starlette and the middlewares' plumbing"),
    ("pydantic", "pydantic (models, validation, serialisation)"),
    ("sqlalchemy/orm/", "SQLAlchemy ORM (session, flush, unit of work)"),
    ("sqlalchemy/", "SQLAlchemy Core (compile, cache keys, engine, results)"),
    ("asyncpg/", "asyncpg (protocol, prepared statements)"),
    ("cryptography/", "cryptography (Fernet, keys, signatures)"),
    ("authlib/", "token validation (Authlib JOSE)"),
    ("joserfc/", "token validation (joserfc)"),
    ("jwt/", "token validation (PyJWT)"),
    ("nats/", "NATS client (relay)"),
    ("comitas_intake/", "intake's own code"),
    ("comitas_shared/", "comitas_shared (auth, idempotency, outbox, db, errors)"),
    ("opentelemetry/", "OpenTelemetry"),
    ("uvicorn/", "uvicorn and httptools"),
    ("httptools", "uvicorn and httptools"),
    ("asyncio/", "asyncio event loop"),
    ("greenlet", "SQLAlchemy's async bridge (greenlet)"),
)


def _category(file: str, name: str) -> str | None:
    if file == "~":
        if "greenlet" in name:
            return "SQLAlchemy's async bridge (greenlet)"
        return None  # a builtin: its callers' category
    for part, label in PROFILE_CATEGORIES:
        if part in file:
            return label
    return "other Python"


def profile_report(path: Path, top: int = 20) -> str:
    import pstats
    from collections import defaultdict as _defaultdict

    stats = pstats.Stats(str(path))
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    shares: dict[str, float] = _defaultdict(float)
    idle = 0.0
    for (file, _line, name), (_cc, _nc, tottime, _ct, callers) in raw.items():
        if "poll" in name and "epoll" in name:
            idle += tottime  # the event loop waiting: idle, or waiting on PostgreSQL and NATS
            continue
        label = _category(file, name)
        if label is not None:
            shares[label] += tottime
            continue
        spread = sum(v[2] for v in callers.values()) or 1.0
        for (caller_file, _l, caller_name), values in callers.items():
            shares[_category(caller_file, caller_name) or "C builtins"] += tottime * values[2] / spread
    busy = sum(shares.values())
    lines = [f"intake busy {busy:.1f} s of CPU under cProfile (idle in epoll {idle:.1f} s); own time by code:"]
    for label, seconds in sorted(shares.items(), key=lambda item: item[1], reverse=True):
        lines.append(f"  {100 * seconds / busy:5.1f} %  {label}")
    lines.append(f"top {top} functions by own time:")
    own = sorted(((k, v) for k, v in raw.items() if not ("poll" in k[2] and "epoll" in k[2])),
                 key=lambda item: item[1][2], reverse=True)[:top]
    for (file, line, name), (_cc, calls, tottime, _ct, _callers) in own:
        short = "/".join(Path(file).parts[-2:])
        lines.append(f"  {100 * tottime / busy:5.1f} %  {calls:>8}  {short}:{line} {name}")
    return "\n".join(lines)


def postgres_server() -> str | None:
    """make bench on PostgreSQL when DATABASE_URL names one (the figures in docs/benchmarks.md say which)."""
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith("postgresql") else None


async def _sessions(postgres: str, databases: list[str]) -> dict[str, int]:
    """Connections each database has accepted so far (pg_stat_database.sessions, PostgreSQL 14+)."""
    async with cluster.pg_connect(postgres) as connection:
        rows = await connection.fetch("SELECT datname, sessions FROM pg_stat_database WHERE datname = ANY($1)",
                                      databases)
    return {row["datname"]: int(row["sessions"]) for row in rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--requests", type=int, default=500, help="submissions per load run (500)")
    parser.add_argument("-c", "--concurrency", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("-k", "--webhooks", type=int, default=100, help="complaints timed to their webhook (100)")
    parser.add_argument("-r", "--reminders", type=int, default=100_000,
                        help="deadlines whose reminders fall due over one minute (100,000; 0: skip)")
    parser.add_argument("--only-reminders", action="store_true", help="skip the submission and webhook figures")
    parser.add_argument("--cpu", action="store_true",
                        help="also print the CPU time per request of each process (and PostgreSQL's) in the "
                             "two closed loops")
    parser.add_argument("--profile", type=Path, default=None,
                        help="profile intake with cProfile into this file and print where its time goes")
    args = parser.parse_args(argv)
    if args.only_reminders:
        return reminders_main(args.reminders)

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="comitas-bench-") as tmp:
        var = Path(tmp)
        postgres = postgres_server()
        prefix = f"bench_{uuid.uuid4().hex[:8]}"
        layout = bench_layout(var, postgres, prefix)
        bare_database = (layout.database_url(_named("bare")) if postgres
                         else f"sqlite+aiosqlite:///{var / 'bare.db'}")
        print(f"Starting NATS, {', '.join(STACK)} and the bare app (logs in {var / 'log'}) ...", flush=True)
        key = devstack.master_key(layout)
        devstack.migrate(layout)
        credentials = devstack.seed(layout, key)
        supervisor = devstack.Supervisor()
        saved_environ = dict(os.environ)
        if args.profile is not None:
            (var / "profile-hook").mkdir()
            (var / "profile-hook" / "sitecustomize.py").write_text(PROFILE_HOOK)
            os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(var / "profile-hook"),
                                                                    os.environ.get("PYTHONPATH")]))
            os.environ["COMITAS_BENCH_PROFILE"] = str(args.profile.resolve())
        try:
            nats, services = devstack.start_stack(layout, key, supervisor)
        finally:
            os.environ.clear()
            os.environ.update(saved_environ)
        children = list(reversed(services))
        try:
            bare_url = f"http://127.0.0.1:{free_port()}"
            path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
            children.insert(0, devstack.Child.spawn(
                "bare", [sys.executable, "-m", "uvicorn", "--factory", "benchmarks.bare_app:create_app",
                         "--host", "127.0.0.1", "--port", bare_url.rsplit(":", 1)[1]],
                log=var / "log" / "bare.log", health_url=f"{bare_url}/healthz",
                env={**os.environ, "PYTHONPATH": path,
                     "COMITAS_BENCH_DATABASE_URL": bare_database}))
            supervisor.wait_healthy(children[:1], timeout=devstack.STARTUP_TIMEOUT)
            if args.cpu:
                CPU_WATCH.update({child.name: child.process.pid for child in [*children, nats]})
                CPU_WATCH["load generator"] = os.getpid()
            print(f"Measuring: {args.requests} submissions × 2 at {args.concurrency} clients, "
                  f"then {args.webhooks} webhooks ...", flush=True)
            figures = asyncio.run(measure(layout, bare_url, credentials, requests=args.requests,
                                          concurrency=args.concurrency, webhooks=args.webhooks, postgres=postgres))
        finally:
            devstack.stop_children(children)
            devstack.stop_children([nats])
            if postgres is not None:
                cluster.drop_databases(postgres, [f"{prefix}_{name}" for name in [*STACK, "bare"]])
    database = "SQLite" if postgres is None else "PostgreSQL " + _server_version(postgres)
    print(f"\nComitas benchmarks: {machine(load_before, database)}\n{report(figures)}")
    if STATEMENTS:
        print("\nStatements, as PostgreSQL counted them (pg_stat_database, pg_stat_user_tables):\n"
              + "\n".join(STATEMENTS))
    if CPU_LINES:
        print("\nCPU per request, by process (ms, /proc/<pid>/stat):\n" + "\n".join(CPU_LINES))
    if args.profile is not None and args.profile.exists():
        print(f"\nProfile of intake ({args.profile}):\n{profile_report(args.profile)}")
    failed = any(f.errors for f in figures)
    if args.reminders:
        failed = bool(reminders_main(args.reminders)) or failed
    return 1 if failed else 0


def reminders_main(count: int) -> int:
    """The reminders at volume (benchmarks/reminders.py): its own NATS and notifications, after the rest."""
    figures = reminders.run(count=count)
    print(f"\nReminders: {machine(figures.load_before)}\n{reminders.report(figures)}")
    return 1 if figures.missing else 0


if __name__ == "__main__":
    sys.exit(main())
