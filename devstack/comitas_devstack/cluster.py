"""``comitas-dev run-cluster``: the production topology on one machine, without containers (ADR 0042).

The processes of ``docker-compose.yml``, started as local processes: three ``nats-server`` nodes
clustered on loopback from ``deploy/nats/cluster.conf`` (operator mode, JetStream, every stream at three
replicas), each service's own database on the PostgreSQL of ``DATABASE_URL``, two replicas of every
service on ports of their own, and HAProxy in front (``haproxy -db -f``), checking ``/readyz`` on every
replica, on the DESIGN ports. Its configuration and the compose gateway's are rendered here from one
source, ``deploy/topology.toml``.

Supervision is ``make run``'s (stack.py): a replica or node that exits is started again after a backoff,
``pids.json`` names every process, Ctrl-C stops the gateway, then the services, then NATS.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from comitas_shared.testing import nats_server_binary

from . import stack
from .stack import Child, DevStackError, Layout, Service, Supervisor

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY_FILE = ROOT / "deploy" / "topology.toml"
COMPOSE_GATEWAY_FILE = ROOT / "deploy" / "compose" / "gateway.cfg"
DEPLOY_NATS = ROOT / "deploy" / "nats"
# Where deploy/nats/accounts.conf expects the operator's directory (a mount in compose and Kubernetes).
OPERATOR_MOUNT = "/etc/nats-operator"
CLUSTER_READY_LINE = "Comitas cluster is ready. Press Ctrl-C to stop."
# Twelve Python processes and three servers start together on a laptop's cores: give them time.
CLUSTER_STARTUP_TIMEOUT = 300.0
DB_PREFIX_ENV = "COMITAS_DEV_CLUSTER_DB_PREFIX"
GRACEFUL_SHUTDOWN_SECONDS = 20
# Inside the compose gateway container: the certificate and key of COMITAS_TLS_DIR, joined at start.
COMPOSE_TLS_PEM = "/tmp/gateway.pem"  # noqa: S108 - the container's own /tmp


@dataclass(frozen=True)
class Topology:
    """deploy/topology.toml, read."""

    nats_version: str
    nats_nodes: int
    stream_replicas: int
    replicas: int
    drain_seconds: float
    haproxy_image: str
    health_path: str
    check_interval_ms: int
    check_timeout_ms: int
    fall: int
    rise: int
    connect_timeout_ms: int
    server_timeout_s: int
    retries: int
    compose_slots: int
    replica_port_step: int
    nats_client_port: int
    nats_route_port: int
    nats_monitor_port: int

    @classmethod
    def load(cls, path: Path = TOPOLOGY_FILE) -> Topology:
        data = tomllib.loads(path.read_text())
        nats, gateway, cluster = data["nats"], data["gateway"], data["cluster"]
        return cls(
            nats_version=nats["version"], nats_nodes=nats["nodes"], stream_replicas=nats["stream_replicas"],
            replicas=data["services"]["replicas"], drain_seconds=data["services"]["drain_seconds"],
            haproxy_image=gateway["haproxy_image"],
            health_path=gateway["health_path"], check_interval_ms=gateway["check_interval_ms"],
            check_timeout_ms=gateway["check_timeout_ms"],
            fall=gateway["fall"], rise=gateway["rise"], connect_timeout_ms=gateway["connect_timeout_ms"],
            server_timeout_s=gateway["server_timeout_s"], retries=gateway["retries"],
            compose_slots=gateway["compose_slots"], replica_port_step=cluster["replica_port_step"],
            nats_client_port=cluster["nats_client_port"], nats_route_port=cluster["nats_route_port"],
            nats_monitor_port=cluster["nats_monitor_port"])


def topology_services() -> list[tuple[str, int]]:
    """(name, DESIGN port) of every service the topology runs: devstack's, those whose code is installed."""
    return [(s.name, s.default_port) for s in stack.SERVICES if s.available]


# --- HAProxy, rendered for compose (TLS, Docker's DNS) and for run-cluster (loopback) ---------------


def _haproxy_defaults(topology: Topology) -> list[str]:
    return [
        "defaults",
        "    mode http",
        f"    timeout connect {topology.connect_timeout_ms}ms",
        f"    timeout client {topology.server_timeout_s}s",
        f"    timeout server {topology.server_timeout_s}s",
        "    timeout http-request 10s",
        f"    timeout check {topology.check_timeout_ms}ms",
        f"    retries {topology.retries}",
        "    retry-on conn-failure",
        "    option redispatch",
        "    option forwardfor",
        "",
    ]


def _health_check(topology: Topology, service: str) -> list[str]:
    return [
        "    option httpchk",
        f"    http-check send meth GET uri {topology.health_path} ver HTTP/1.1 hdr Host {service}",
        "    http-check expect status 200",
    ]


def render_compose_gateway(topology: Topology, services: Sequence[tuple[str, int]]) -> str:
    """deploy/compose/gateway.cfg: TLS on each DESIGN port, spread over the replicas Docker's DNS knows."""
    lines = [
        "# Generated from deploy/topology.toml by `python -m comitas_devstack.cluster gateway`; do not edit.",
        "# The compose gateway: TLS on each DESIGN port, spread over every replica of the service of that",
        "# port, each checked on its health endpoint (a replica that fails leaves the rotation until it",
        "# answers again). Replicas are found through Docker's DNS, so --scale adds them without a reload.",
        "global",
        "    maxconn 4096",
        "    ssl-default-bind-options ssl-min-ver TLSv1.2",
        "",
        "resolvers docker",
        "    nameserver dns 127.0.0.11:53",
        "    hold valid 10s",
        "",
        *_haproxy_defaults(topology),
    ]
    for name, port in services:
        lines += [
            f"frontend {name}",
            f"    bind :{port} ssl crt {COMPOSE_TLS_PEM}",
            "    http-request set-header X-Forwarded-Proto https",
            f"    default_backend {name}",
            "",
            f"backend {name}",
            *_health_check(topology, name),
            f"    default-server inter {topology.check_interval_ms} fall {topology.fall} rise {topology.rise} "
            "check resolvers docker init-addr none",
            f"    server-template {name}- {topology.compose_slots} {name}:{port}",
            "",
        ]
    return "\n".join(lines)


@dataclass(frozen=True)
class Ports:
    """run-cluster's ports: the gateway on the DESIGN ports, replicas and NATS nodes beside them."""

    topology: Topology
    offset: int = 0

    def gateway(self, design_port: int) -> int:
        return design_port + self.offset

    def replica(self, design_port: int, replica: int) -> int:
        return design_port + self.offset + replica * self.topology.replica_port_step

    def nats_client(self, node: int) -> int:
        return self.topology.nats_client_port + self.offset + node

    def nats_route(self, node: int) -> int:
        return self.topology.nats_route_port + self.offset + node

    def nats_monitor(self, node: int) -> int:
        return self.topology.nats_monitor_port + self.offset + node

    def all(self, services: Sequence[tuple[str, int]]) -> list[int]:
        nodes = range(1, self.topology.nats_nodes + 1)
        return sorted([*(self.gateway(p) for _, p in services),
                       *(self.replica(p, r) for _, p in services for r in range(1, self.topology.replicas + 1)),
                       *(f(n) for n in nodes for f in (self.nats_client, self.nats_route, self.nats_monitor))])


def render_local_gateway(topology: Topology, services: Sequence[tuple[str, int]], ports: Ports,
                         admin_socket: Path | None = None) -> str:
    """run-cluster's HAProxy: the same frontends and checks as compose's, plain HTTP on loopback, each
    replica named (``intake-1``) so a test can drain it through the admin socket."""
    lines = ["# Generated by comitas-dev run-cluster from deploy/topology.toml.", "global", "    maxconn 4096"]
    if admin_socket is not None:
        lines.append(f"    stats socket {admin_socket} mode 600 level admin")
    lines += ["", *_haproxy_defaults(topology)]
    for name, port in services:
        lines += [
            f"frontend {name}",
            f"    bind 127.0.0.1:{ports.gateway(port)}",
            f"    default_backend {name}",
            "",
            f"backend {name}",
            *_health_check(topology, name),
            f"    default-server inter {topology.check_interval_ms} fall {topology.fall} rise {topology.rise} check",
            *(f"    server {name}-{r} 127.0.0.1:{ports.replica(port, r)}" for r in range(1, topology.replicas + 1)),
            "",
        ]
    return "\n".join(lines)


def haproxy_binary() -> str:
    for candidate in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy"):
        if os.access(candidate, os.X_OK):
            return candidate
    from shutil import which

    found = which("haproxy")
    if found is None:
        raise DevStackError("haproxy is not installed (`make haproxy`, or apt-get install haproxy)")
    return found


# --- PostgreSQL: one database per service ---------------------------------------------------------


def server_url(env: Mapping[str, str] = os.environ) -> str:
    url = env.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        raise DevStackError("run-cluster runs on PostgreSQL: set DATABASE_URL, e.g. "
                            "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    return url


def database_urls(server: str, services: Sequence[str], prefix: str) -> dict[str, str]:
    from sqlalchemy.engine import make_url

    base = make_url(server).set(drivername="postgresql+asyncpg")
    return {name: base.set(database=f"{prefix}_{name}").render_as_string(hide_password=False) for name in services}


@asynccontextmanager
async def pg_connect(server: str, database: str | None = None) -> AsyncIterator[Any]:
    """An asyncpg connection to the PostgreSQL of ``server`` (a SQLAlchemy URL), to ``database`` or else
    the URL's own; closed on leaving."""
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(server)
    connection = await asyncpg.connect(user=url.username, password=url.password, host=url.host or "127.0.0.1",
                                       port=url.port or 5432, database=database or url.database or "postgres")
    try:
        yield connection
    finally:
        await connection.close()


async def _create_databases(server: str, names: Sequence[str]) -> None:
    async with pg_connect(server) as connection:
        existing = {row[0] for row in await connection.fetch("SELECT datname FROM pg_database")}
        for name in names:
            if name not in existing:
                # An identifier cannot be a parameter; the names are the prefix and service names, quoted.
                await connection.execute(f'CREATE DATABASE "{name}"')


async def _drop_databases(server: str, names: Sequence[str]) -> None:
    async with pg_connect(server) as connection:
        for name in names:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_databases(server: str, names: Sequence[str]) -> None:
    asyncio.run(_create_databases(server, names))


def drop_databases(server: str, names: Sequence[str]) -> None:
    asyncio.run(_drop_databases(server, names))


# --- the layout -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterLayout(Layout):
    """make run's Layout (ports are the gateway's), with each service's PostgreSQL database."""

    database_urls: Mapping[str, str] = field(default_factory=dict)
    topology: Topology | None = None
    offset: int = 0

    @classmethod
    def for_cluster(cls, var_dir: str | None, env: Mapping[str, str] = os.environ) -> ClusterLayout:
        # Never make run's own var/: the cluster's credentials belong to its PostgreSQL databases.
        base = Layout.from_env(var_dir or str(Path(env.get("COMITAS_DEV_VAR") or "var") / "cluster"), env)
        topology = Topology.load()
        offset = int(env.get("COMITAS_DEV_BASE_PORT", stack.DEFAULT_BASE_PORT)) - stack.DEFAULT_BASE_PORT
        plan = Ports(topology, offset)
        # Where HAProxy binds, whatever COMITAS_DEV_<SERVICE>_PORT says (make run's, not the cluster's).
        ports = {**{s.name: plan.gateway(s.default_port) for s in stack.SERVICES}, "nats": plan.nats_client(1)}
        prefix = env.get(DB_PREFIX_ENV, "comitas")
        urls = database_urls(server_url(env), [s.name for s in base.services], prefix)
        return cls(var=base.var, ports=ports, services=base.services, database_urls=urls, topology=topology,
                    offset=offset)

    def database_url(self, service: Service) -> str:
        return self.database_urls[service.name]

    @property
    def plan(self) -> Ports:
        assert self.topology is not None
        return Ports(self.topology, self.offset)

    @property
    def haproxy_config(self) -> Path:
        return self.var / "haproxy.cfg"

    @property
    def admin_socket(self) -> Path:
        return self.var / "haproxy.sock"

    @property
    def nats_servers(self) -> list[str]:
        assert self.topology is not None
        return [f"nats://127.0.0.1:{self.plan.nats_client(n)}" for n in range(1, self.topology.nats_nodes + 1)]

    def replica_name(self, service: str, replica: int) -> str:
        return f"{service}-{replica}"


# --- the processes --------------------------------------------------------------------------------


def _nats_node_configs(layout: ClusterLayout, operator: Any) -> list[Path]:
    """deploy/nats as each node reads it here: the files as they are, but the operator's directory
    included from var/ instead of the mount, and each node's stores in a directory of its own."""
    from comitas_shared import nats_auth

    assert layout.topology is not None
    accounts = (DEPLOY_NATS / "accounts.conf").read_text()
    cluster = (DEPLOY_NATS / "cluster.conf").read_text()
    configs = []
    for node in range(1, layout.topology.nats_nodes + 1):
        directory = layout.var / "nats" / f"nats-{node}"
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        # accounts.conf includes the operator's resolver.conf from where a node mounts it: ./operator/
        # beside it (or the absolute mount, which is pointed at the same place).
        (directory / "operator").mkdir(mode=0o700, exist_ok=True)
        (directory / "operator" / "resolver.conf").write_text(nats_auth.server_config(operator, directory / "jwt"))
        (directory / "accounts.conf").write_text(accounts.replace(OPERATOR_MOUNT, str(directory / "operator")))
        (directory / "cluster.conf").write_text(cluster.replace("/data/jetstream", str(directory / "jetstream")))
        configs.append(directory / "cluster.conf")
    return configs


def start_nats(layout: ClusterLayout, operator: Any, supervisor: Supervisor) -> list[Child]:
    assert layout.topology is not None
    plan = layout.plan
    nodes = range(1, layout.topology.nats_nodes + 1)
    routes = [f"nats://127.0.0.1:{plan.nats_route(n)}" for n in nodes]
    children = []
    for node, config in zip(nodes, _nats_node_configs(layout, operator), strict=True):
        env = {**os.environ, "NATS_SERVER_NAME": f"nats-{node}", "NATS_ROUTES": f"[{', '.join(routes)}]"}
        args = [nats_server_binary(), "-c", str(config), "-a", "127.0.0.1", "-p", str(plan.nats_client(node)),
                "-m", str(plan.nats_monitor(node)), "--cluster_listen", routes[node - 1]]
        children.append(Child.spawn(f"nats-{node}", args, log=layout.var / "log" / f"nats-{node}.log", env=env,
                                    health_url=f"http://127.0.0.1:{plan.nats_monitor(node)}/healthz?js-enabled-only=true",
                                    port=plan.nats_client(node)))
    supervisor.wait_healthy(children, timeout=60)
    return children


def replica_env(layout: ClusterLayout, service: Service, replica: int, key: str, operator: Any) -> dict[str, str]:
    assert layout.topology is not None
    prefix = service.env_prefix
    # Every node, so a replica starts whichever node is down (the client picks among them at random and
    # fails over between them); nats_url, for code that wants one address, names a node per replica.
    node = (replica - 1) % layout.topology.nats_nodes + 1
    return {
        **stack.service_env(layout, service, key, operator),
        f"{prefix}NATS_URL": f"nats://127.0.0.1:{layout.plan.nats_client(node)}",
        f"{prefix}NATS_SERVERS": ",".join(layout.nats_servers),
        f"{prefix}NATS_STREAM_REPLICAS": str(layout.topology.stream_replicas),
        # Behind the gateway a replica drains on SIGTERM (make run's processes stop at once).
        f"{prefix}DRAIN_SECONDS": str(layout.topology.drain_seconds),
        # The gateway is the client of every request: the caller's address is in X-Forwarded-For.
        f"{prefix}TRUSTED_PROXIES": '["127.0.0.1"]',
        # Twelve replicas share one PostgreSQL (max_connections 100 by default) with whatever else runs
        # on it (in `make test`, the other worker's stack): at most 2 + 3 connections each, 60 in all.
        # Intake would gain from 8 + 2 (docs/capacity.md) on a PostgreSQL of its own.
        f"{prefix}DATABASE_POOL_SIZE": "2",
        f"{prefix}DATABASE_MAX_OVERFLOW": "3",
    }


def start_replicas(layout: ClusterLayout, key: str, operator: Any) -> list[Child]:
    assert layout.topology is not None
    base_env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    children = []
    for service in layout.services:
        for replica in range(1, layout.topology.replicas + 1):
            port = layout.plan.replica(service.default_port, replica)
            name = layout.replica_name(service.name, replica)
            # uvicorn's graceful shutdown as compose's and Kubernetes': after the drain, a request still in
            # flight on a loaded machine is finished rather than cut off (the client's timeout is shorter).
            args = [sys.executable, "-m", "uvicorn", "--factory", f"{service.package}.main:create_app",
                    "--host", "127.0.0.1", "--port", str(port), "--no-proxy-headers",
                    "--timeout-graceful-shutdown", str(GRACEFUL_SHUTDOWN_SECONDS)]
            children.append(Child.spawn(name, args, log=layout.var / "log" / f"{name}.log",
                                        env={**base_env, **replica_env(layout, service, replica, key, operator)},
                                        health_url=f"http://127.0.0.1:{port}/healthz", port=port))
    return children


def start_gateway(layout: ClusterLayout) -> Child:
    assert layout.topology is not None
    services = [(s.name, s.default_port) for s in layout.services]
    layout.admin_socket.unlink(missing_ok=True)
    layout.haproxy_config.write_text(render_local_gateway(layout.topology, services, layout.plan, layout.admin_socket))
    checked = subprocess.run([haproxy_binary(), "-c", "-q", "-f", str(layout.haproxy_config)],
                                   capture_output=True, text=True, timeout=30, check=False)
    if checked.returncode != 0:
        raise DevStackError(f"haproxy refuses {layout.haproxy_config}:\n{checked.stdout}{checked.stderr}")
    return Child.spawn("haproxy", [haproxy_binary(), "-db", "-f", str(layout.haproxy_config)],
                       log=layout.var / "log" / "haproxy.log", port=layout.ports[layout.services[0].name])


def wait_gateway_ready(layout: ClusterLayout, gateway: Child, supervisor: Supervisor, timeout: float) -> None:
    """Every service answers /readyz through the gateway (a replica passed its checks)."""
    deadline = time.monotonic() + timeout
    pending = [s.name for s in layout.services]
    with httpx.Client(timeout=2.0) as http:
        while pending:
            if not gateway.running:
                raise DevStackError(f"haproxy exited during start-up:\n{gateway.tail()}")
            for name in list(pending):
                try:
                    if http.get(f"{layout.url(name)}/readyz").status_code == 200:
                        pending.remove(name)
                except httpx.HTTPError:
                    pass
            if pending and time.monotonic() > deadline:
                raise DevStackError(f"not ready behind the gateway after {timeout:.0f} s: {', '.join(pending)}")
            if pending:
                supervisor.sleep(0.5)


def start_cluster(layout: ClusterLayout, key: str, supervisor: Supervisor, *,
                  timeout: float = CLUSTER_STARTUP_TIMEOUT) -> list[Child]:
    """NATS, then the replicas, then the gateway; returns them in that order."""
    from comitas_shared import nats_auth
    from comitas_shared.clock import real_now

    operator = nats_auth.create(layout.nats_auth_dir, now=real_now())
    children: list[Child] = []
    try:
        children += start_nats(layout, operator, supervisor)
        replicas = start_replicas(layout, key, operator)
        children += replicas
        stack.write_pids(layout, children)
        supervisor.wait_healthy(replicas, timeout=timeout)
        children.append(start_gateway(layout))
        stack.write_pids(layout, children)
        wait_gateway_ready(layout, children[-1], supervisor, timeout=timeout)
    except BaseException:
        stop_cluster(layout, children)
        raise
    return children


def stop_cluster(layout: ClusterLayout, children: Sequence[Child]) -> None:
    """The gateway first (no request reaches a stopping replica), then the replicas, then NATS. The
    replicas get SIGINT, which stops them without draining: with the gateway gone nobody is to be told."""
    gateway = [c for c in children if c.name == "haproxy"]
    nats = [c for c in children if c.name.startswith("nats-")]
    replicas = [c for c in children if c not in gateway and c not in nats]
    stack.stop_children(gateway)
    stack.stop_children(list(reversed(replicas)), signum=signal.SIGINT)
    stack.stop_children(nats)
    layout.pids_path.unlink(missing_ok=True)


def banner(layout: ClusterLayout, children: Sequence[Child]) -> str:
    assert layout.topology is not None
    pids = {c.name: c.process.pid for c in children}
    rows = [("service", "gateway (HAProxy)", "replicas", "database")]
    for service in layout.services:
        replicas = ", ".join(f"{layout.replica_name(service.name, r)} :{layout.plan.replica(service.default_port, r)} "
                             f"(pid {pids.get(layout.replica_name(service.name, r))})"
                             for r in range(1, layout.topology.replicas + 1))
        database = layout.database_urls[service.name].rsplit("/", 1)[-1]
        rows.append((service.label, layout.url(service.name), replicas, database))
    nodes = [(f"nats-{n}", f"nats://127.0.0.1:{layout.plan.nats_client(n)}",
              f"routes :{layout.plan.nats_route(n)}, monitor :{layout.plan.nats_monitor(n)} (pid {pids.get(f'nats-{n}')})",
              "")
             for n in range(1, layout.topology.nats_nodes + 1)]
    rows += nodes
    table = "\n".join("  " + "  ".join(cell.ljust(max(len(r[i]) for r in rows)) for i, cell in enumerate(row)).rstrip()
                      for row in rows)
    return (f"Comitas cluster (data in {layout.var}; PostgreSQL databases per service)\n{table}\n\n"
            f"Streams at {layout.topology.stream_replicas} replicas over {layout.topology.nats_nodes} NATS nodes; "
            f"HAProxy checks {layout.topology.health_path} every {layout.topology.check_interval_ms} ms "
            f"(config {layout.haproxy_config}, admin socket {layout.admin_socket}, pid {pids.get('haproxy')}).\n"
            f"Demo credentials: {layout.credentials_path}. Process ids: {layout.pids_path}.")


def cmd_run_cluster(layout: ClusterLayout) -> int:
    assert layout.topology is not None
    taken = [p for p in layout.plan.all([(s.name, s.default_port) for s in layout.services])
             if stack._port_taken(p)]  # noqa: SLF001 - the same check make run does
    if taken:
        raise DevStackError(f"ports already in use: {taken}; shift them with COMITAS_DEV_BASE_PORT")
    haproxy_binary()
    supervisor = Supervisor()
    supervisor.install_signal_handlers()
    stack.secure_var(layout)
    key = stack.master_key(layout)
    print(f"Creating and migrating the databases on {server_url()} ...", flush=True)
    create_databases(server_url(), [u.rsplit("/", 1)[-1] for u in layout.database_urls.values()])
    stack.migrate(layout)
    stack.seed(layout, key)
    print("Starting three NATS nodes, two replicas of every service and HAProxy ...", flush=True)
    try:
        children = start_cluster(layout, key, supervisor)
    except stack.Stopping:
        print("Stopped during start-up.", flush=True)
        return 0
    print(banner(layout, children), end="\n\n", flush=True)
    print(CLUSTER_READY_LINE, flush=True)
    failed: Child | None = None
    try:
        failed = stack.supervise(layout, children[0], children[1:], supervisor)
    except stack.Stopping:
        pass
    if failed is not None:
        print(f"\n{failed.name} keeps crashing; stopping the cluster. Last lines of {failed.log}:\n{failed.tail()}",
              file=sys.stderr, flush=True)
    print("\nStopping the gateway, the services, then NATS ...", flush=True)
    stop_cluster(layout, children)
    print("Stopped.", flush=True)
    return 1 if failed is not None else 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m comitas_devstack.cluster gateway``: rewrites deploy/compose/gateway.cfg from the topology."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args != ["gateway"]:
        print("usage: python -m comitas_devstack.cluster gateway", file=sys.stderr)
        return 2
    COMPOSE_GATEWAY_FILE.write_text(render_compose_gateway(Topology.load(), topology_services()))
    print(f"wrote {COMPOSE_GATEWAY_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
