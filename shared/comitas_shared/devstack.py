"""``comitas-dev``: the whole Comitas stack on one machine, without containers.

``comitas-dev run`` starts a real ``nats-server`` (JetStream, its data in ``var/nats``), applies every
service's migrations to SQLite files in ``var/``, seeds the demo institutions, and runs each service as
its own uvicorn process: the same entry point, settings and health endpoints as the images in
``docker-compose.yml`` and ``deploy/``, with SQLite in place of PostgreSQL and one NATS in place of
three (docs/adr/0040-local-stack-without-containers.md). Ctrl-C stops the services, then NATS; the
next run keeps the data.

Ports: ``COMITAS_DEV_BASE_PORT`` (default 8000) shifts every port by the same offset, NATS included
(14222 + offset); ``COMITAS_DEV_<SERVICE>_PORT`` and ``COMITAS_DEV_NATS_PORT`` set one. The data
directory is ``--var-dir``, else ``COMITAS_DEV_VAR``, else ``./var``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import ctypes
import importlib
import importlib.util
import inspect
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from .testing import nats_server_binary

DEFAULT_BASE_PORT = 8000
NATS_DEFAULT_PORT = 14222
READY_LINE = "Comitas is ready. Press Ctrl-C to stop."
CREDENTIALS_FILE = "demo-credentials.json"
MASTER_KEY_FILE = "master.key"
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0

# What the curl example submits; tests submit the same body, so the printed example is known to work.
EXAMPLE_COMPLAINT: dict[str, Any] = {
    "summary": "Detained for nine days without being brought before a judge.",
    "respondent_states": ["FR"],
    "rights_invoked": ["liberty and security"],
}


@dataclass(frozen=True)
class Service:
    name: str
    package: str
    default_port: int
    label: str
    required: bool = True
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @property
    def env_prefix(self) -> str:
        return f"COMITAS_{self.name.upper()}_"

    @property
    def available(self) -> bool:
        return importlib.util.find_spec(self.package) is not None

    @property
    def migrations_dir(self) -> Path | None:
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            return None
        directory = Path(next(iter(spec.submodule_search_locations))) / "migrations"
        return directory if (directory / "env.py").exists() else None


# DESIGN §2. The optional ones start when their package is installed.
SERVICES: tuple[Service, ...] = (
    Service("identity", "comitas_identity", 8000, "identity"),
    Service("intake", "comitas_intake", 8001, "intake"),
    Service("referral", "comitas_referral", 8002, "referral", required=False),
    Service("mla", "comitas_mla", 8003, "mla", required=False),
    Service("notifications", "comitas_notifications", 8004, "notifications",
            extra_env={"ALLOW_PRIVATE_WEBHOOK_TARGETS": "true"}),
    Service("portal", "comitas_portal", 8080, "web client", required=False),
)
SERVICE_NAMES = frozenset(s.name for s in SERVICES)


class DevStackError(RuntimeError):
    pass


@dataclass(frozen=True)
class Layout:
    """Where the local stack keeps its data and which ports it listens on."""

    var: Path
    ports: Mapping[str, int]
    services: tuple[Service, ...]

    @classmethod
    def from_env(cls, var_dir: str | None, env: Mapping[str, str] = os.environ) -> Layout:
        var = Path(var_dir or env.get("COMITAS_DEV_VAR") or "var").resolve()
        offset = int(env.get("COMITAS_DEV_BASE_PORT", DEFAULT_BASE_PORT)) - DEFAULT_BASE_PORT
        ports = {s.name: int(env.get(f"COMITAS_DEV_{s.name.upper()}_PORT", s.default_port + offset))
                 for s in SERVICES}
        ports["nats"] = int(env.get("COMITAS_DEV_NATS_PORT", NATS_DEFAULT_PORT + offset))
        missing = [s.package for s in SERVICES if s.required and not s.available]
        if missing:
            raise DevStackError(f"not installed: {', '.join(missing)} (run `make install`)")
        return cls(var=var, ports=ports, services=tuple(s for s in SERVICES if s.available))

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self.ports['nats']}"

    def database_url(self, service: Service) -> str:
        return f"sqlite+aiosqlite:///{self.var / f'{service.name}.db'}"

    @property
    def credentials_path(self) -> Path:
        return self.var / CREDENTIALS_FILE


# --- data: master key, migrations, demo data -------------------------------------------------------


def _write_private(path: Path, text: str) -> None:
    """Writes atomically, readable by the owner only: these files hold secrets."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def master_key(layout: Layout) -> str:
    """The development master key, generated once (32 random bytes, url-safe base64, as a Fernet key)."""
    path = layout.var / MASTER_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    layout.var.mkdir(parents=True, exist_ok=True)
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    _write_private(path, key + "\n")
    return key


def migrate(layout: Layout) -> None:
    from . import migrations

    layout.var.mkdir(parents=True, exist_ok=True)
    for service in layout.services:
        if service.migrations_dir is not None:
            migrations.upgrade(service.package, layout.database_url(service))


def merge_kept(new: Any, old: Any) -> Any:
    """``new``, with every value it does not know (None) taken from ``old``: the seed answers a client
    secret only when it creates the client, so a secret once written is never replaced by nothing."""
    if isinstance(new, dict) and isinstance(old, dict):
        return {key: merge_kept(value, old.get(key)) for key, value in new.items()} | {
            key: value for key, value in old.items() if key not in new}
    return old if new is None else new


def credentials_entry(seeded: Mapping[str, Any]) -> dict[str, Any]:
    """One institution as written to demo-credentials.json: the seed's answer, ``institution_id`` as ``id``."""
    entry = {"id": seeded["institution_id"]}
    entry.update((key, value) for key, value in seeded.items() if key != "institution_id")
    if entry.get("scopes") is not None:
        entry["scopes"] = sorted(entry["scopes"])
    return entry


def merge_credentials(previous: Mapping[str, Any] | None, seeded: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    old = {entry["id"]: entry for entry in (previous or {}).get("institutions", [])}
    institutions = [merge_kept(credentials_entry(item), old.pop(item["institution_id"], None)) for item in seeded]
    return {
        "note": "Development credentials of the demo institutions, written by `comitas-dev`. Never use in production.",
        "institutions": institutions + list(old.values()),
    }


def read_credentials(layout: Layout) -> dict[str, Any] | None:
    try:
        return json.loads(layout.credentials_path.read_text())
    except FileNotFoundError:
        return None


async def _seed_identity(database_url: str, key: str) -> list[dict[str, Any]]:
    from .db import Database

    demo = importlib.import_module("comitas_identity.demo")
    database = Database(database_url)
    try:
        result = demo.seed_demo(database, key)
        if inspect.isawaitable(result):
            result = await result
        return [dict(item) for item in result]
    finally:
        await database.dispose()


def seed(layout: Layout, key: str) -> dict[str, Any]:
    """Seeds the demo data (idempotent) and returns the credentials, as kept in demo-credentials.json."""
    identity = next(s for s in layout.services if s.name == "identity")
    seeded = asyncio.run(_seed_identity(layout.database_url(identity), key))
    previous = read_credentials(layout)
    credentials = merge_credentials(previous, seeded)
    if credentials != previous:
        _write_private(layout.credentials_path, json.dumps(credentials, indent=2) + "\n")
    return credentials


# --- processes ------------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In the child, before exec: if comitas-dev itself is killed, its children get SIGTERM, not orphaned."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    health_url: str | None = None

    @classmethod
    def spawn(cls, name: str, args: Sequence[str], *, log: Path, env: Mapping[str, str] | None = None,
              health_url: str | None = None) -> Child:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            # A session of its own: the terminal's Ctrl-C reaches comitas-dev only, which then stops
            # the children in order (services first, NATS last).
            process = subprocess.Popen(
                list(args), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None, start_new_session=True,
                # No thread runs in comitas-dev while it spawns, which is what makes preexec_fn safe.
                preexec_fn=_die_with_parent if sys.platform == "linux" else None)  # noqa: PLW1509
        return cls(name, process, log, health_url)

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def stop_children(children: Sequence[Child], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM to all of them at once, then SIGKILL to whichever is still there after ``timeout``."""
    for child in children:
        if child.running:
            child.process.terminate()
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"  {child.name} did not stop within {timeout:.0f} s: killed", flush=True)
            child.process.kill()
            child.process.wait()


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def is_listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class Stopping(Exception):
    """Raised out of a wait when SIGINT or SIGTERM arrived."""


class Supervisor:
    def __init__(self) -> None:
        self.stop_requested = False

    def install_signal_handlers(self) -> None:
        def handler(signum: int, _frame: FrameType | None) -> None:
            self.stop_requested = True

        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
        if self.stop_requested:
            raise Stopping

    def wait_listening(self, child: Child, port: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not is_listening(port):
            if not child.running:
                raise DevStackError(f"{child.name} exited during start-up:\n{child.tail()}")
            if time.monotonic() > deadline:
                raise DevStackError(f"{child.name} does not listen on {port} after {timeout:.0f} s")
            self.sleep(0.05)

    def wait_healthy(self, children: Sequence[Child], timeout: float) -> None:
        pending = [c for c in children if c.health_url]
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1.0) as http:
            while pending:
                for child in list(pending):
                    if not child.running:
                        raise DevStackError(f"{child.name} exited during start-up:\n{child.tail()}")
                    try:
                        if http.get(child.health_url).status_code == 200:  # type: ignore[arg-type]
                            pending.remove(child)
                    except httpx.HTTPError:
                        pass
                if pending and time.monotonic() > deadline:
                    names = ", ".join(c.name for c in pending)
                    logs = ", ".join(str(c.log) for c in pending)
                    raise DevStackError(f"not healthy after {timeout:.0f} s: {names} (see {logs})")
                if pending:
                    self.sleep(0.1)


def peer_url_fields(service: Service) -> list[str]:
    """The ``<service>_url`` settings a service has (the web client's ``intake_url``, say), so that shifted
    ports reach every service that calls another one over HTTP."""
    settings_class = settings_class_of(service)
    if settings_class is None:
        return []
    return [name for name in settings_class.model_fields
            if name.endswith("_url") and name.removesuffix("_url") in SERVICE_NAMES]


def settings_class_of(service: Service) -> type | None:
    from .settings import ServiceSettings

    try:
        module = importlib.import_module(f"{service.package}.settings")
    except ModuleNotFoundError:
        return None
    found = [value for value in vars(module).values()
             if isinstance(value, type) and issubclass(value, ServiceSettings) and value is not ServiceSettings
             and value.__module__ == module.__name__]
    return found[0] if found else None


def service_env(layout: Layout, service: Service, key: str) -> dict[str, str]:
    """The COMITAS_<SERVICE>_* variables one service starts with."""
    values = {
        "ENVIRONMENT": "development",
        "DATABASE_URL": layout.database_url(service),
        "NATS_URL": layout.nats_url,
        "ISSUER": layout.url("identity"),
        "PUBLIC_URL": layout.url(service.name),
        "MASTER_KEY": key,
        **{name.upper(): layout.url(name.removesuffix("_url")) for name in peer_url_fields(service)},
        **service.extra_env,
    }
    return {f"{service.env_prefix}{name}": value for name, value in values.items()}


def check_ports_free(layout: Layout) -> None:
    taken = [f"{name} {port}" for name, port in layout.ports.items()
             if (name == "nats" or any(s.name == name for s in layout.services)) and _port_taken(port)]
    if taken:
        raise DevStackError(f"ports already in use: {', '.join(taken)}. Is another `comitas-dev run` going? "
                            "Stop it, or shift the ports with COMITAS_DEV_BASE_PORT=9000.")


def start_stack(layout: Layout, key: str, supervisor: Supervisor) -> tuple[Child, list[Child]]:
    logs = layout.var / "log"
    nats = Child.spawn("nats", [nats_server_binary(), "-a", "127.0.0.1", "-p", str(layout.ports["nats"]),
                                "-n", "comitas-dev", "-js", "-sd", str(layout.var / "nats")],
                       log=logs / "nats.log")
    services: list[Child] = []
    try:
        supervisor.wait_listening(nats, layout.ports["nats"], timeout=15)
        base_env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for service in layout.services:
            args = [sys.executable, "-m", "uvicorn", "--factory", f"{service.package}.main:create_app",
                    "--host", "127.0.0.1", "--port", str(layout.ports[service.name]),
                    "--timeout-graceful-shutdown", "5"]
            services.append(Child.spawn(service.name, args, log=logs / f"{service.name}.log",
                                        env={**base_env, **service_env(layout, service, key)},
                                        health_url=f"{layout.url(service.name)}/healthz"))
        supervisor.wait_healthy(services, timeout=STARTUP_TIMEOUT)
    except BaseException:
        stop_children(services)
        stop_children([nats])
        raise
    return nats, services


# --- what it prints -------------------------------------------------------------------------------


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                     for row in rows)


def format_credentials(credentials: Mapping[str, Any], layout: Layout) -> str:
    unknown = "(unknown: see below)"
    rows = [("institution", "kind", "client_id", "client_secret")]
    officers = [("institution", "email", "password")]
    for entry in credentials["institutions"]:
        name = entry.get("name") or entry["id"]
        rows.append((name, entry.get("kind") or "", entry.get("client_id") or "", entry.get("client_secret") or unknown))
        if officer := entry.get("liaison_officer"):
            officers.append((name, officer.get("email") or "", officer.get("password") or unknown))
    text = (f"Demo institutions, every client with every scope but admin (also in {layout.credentials_path}):\n"
            + _table(rows))
    if len(officers) > 1:
        has_portal = any(s.name == "portal" for s in layout.services)
        where = f"at {layout.url('portal')}" if has_portal else "to the web client"
        text += f"\n\nLiaison officer (signs in {where}):\n" + _table(officers)
    if any(unknown in row for row in [*rows, *officers]):
        text += (f"\n\nA secret is unknown: {layout.credentials_path} was lost after the first run. "
                 "Rotate it with `comitas-admin`, or delete the var directory to start afresh.")
    return text


def curl_example(credentials: Mapping[str, Any], layout: Layout) -> str:
    submitter = next((e for e in credentials["institutions"]
                      if "complaints:submit" in (e.get("scopes") or []) and e.get("client_secret")), None)
    if submitter is None:
        return ""
    body = json.dumps(EXAMPLE_COMPLAINT)
    return (
        "Try it (a token for a demo institution, then a complaint):\n"
        f"  TOKEN=$(curl -s -u '{submitter['client_id']}:{submitter['client_secret']}' \\\n"
        f"      -d grant_type=client_credentials -d scope=complaints:submit {layout.url('identity')}/oauth/token \\\n"
        "      | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')\n"
        f"  curl -s -X POST {layout.url('intake')}/v1/complaints -H \"Authorization: Bearer $TOKEN\" \\\n"
        f"      -H 'Content-Type: application/json' -d '{body}'"
    )


def banner(layout: Layout, credentials: Mapping[str, Any]) -> str:
    rows = [("service", "URL", "API docs", "log")]
    for service in layout.services:
        url = layout.url(service.name)
        docs = "" if service.name == "portal" else f"{url}/docs"
        rows.append((service.label, url, docs, str(layout.var / "log" / f"{service.name}.log")))
    rows.append(("NATS JetStream", layout.nats_url, "", str(layout.var / "log" / "nats.log")))
    return "\n\n".join(part for part in (
        f"Comitas development stack (data in {layout.var}; the next run keeps it)\n{_table(rows)}",
        format_credentials(credentials, layout),
        curl_example(credentials, layout),
    ) if part)


# --- commands -------------------------------------------------------------------------------------


def cmd_migrate(layout: Layout) -> int:
    migrate(layout)
    print(f"Migrated: {', '.join(s.name for s in layout.services if s.migrations_dir)} (in {layout.var})")
    return 0


def cmd_seed(layout: Layout) -> int:
    key = master_key(layout)
    migrate(layout)
    print(format_credentials(seed(layout, key), layout))
    return 0


def cmd_run(layout: Layout) -> int:
    check_ports_free(layout)
    supervisor = Supervisor()
    supervisor.install_signal_handlers()
    key = master_key(layout)
    print(f"Migrating and seeding the databases in {layout.var} ...", flush=True)
    migrate(layout)
    credentials = seed(layout, key)
    print("Starting NATS and the services ...", flush=True)
    try:
        nats, services = start_stack(layout, key, supervisor)
    except Stopping:
        print("Stopped during start-up.", flush=True)
        return 0
    print(banner(layout, credentials), end="\n\n", flush=True)
    print(READY_LINE, flush=True)
    failed: Child | None = None
    try:
        while failed is None:
            failed = next((c for c in [*services, nats] if not c.running), None)
            if failed is None:
                supervisor.sleep(0.2)
    except Stopping:
        pass
    if failed is not None:
        print(f"\n{failed.name} exited (code {failed.process.returncode}); stopping the stack. "
              f"Last lines of {failed.log}:\n{failed.tail()}", file=sys.stderr, flush=True)
    print("\nStopping the services ...", flush=True)
    stop_children(list(reversed(services)))
    print("Stopping NATS ...", flush=True)
    stop_children([nats])
    print("Stopped.", flush=True)
    return 1 if failed is not None else 0


def main(argv: Sequence[str] | None = None) -> int:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: the option may come before or after the command without one erasing the other.
    common.add_argument("--var-dir", default=argparse.SUPPRESS,
                        help="where the local data lives (default: $COMITAS_DEV_VAR, else ./var)")
    parser = argparse.ArgumentParser(prog="comitas-dev", description=__doc__.split("\n\n")[0],
                                     parents=[common])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", parents=[common], help="start NATS and every service, with demo data (Ctrl-C stops)")
    commands.add_parser("migrate", parents=[common], help="apply every service's migrations to var/*.db")
    commands.add_parser("seed", parents=[common], help="migrate, seed the demo data and print its credentials")
    args = parser.parse_args(argv)
    try:
        layout = Layout.from_env(getattr(args, "var_dir", None))
        return {"run": cmd_run, "migrate": cmd_migrate, "seed": cmd_seed}[args.command](layout)
    except DevStackError as exc:
        print(f"comitas-dev: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
