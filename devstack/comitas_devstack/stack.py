"""The parts of the local stack: where its data lives, the data itself, and the processes that serve it.

It imports each service's package by name (``<package>.settings``, ``comitas_identity.demo``) because a
launcher has to know every service, which the shared library must not: that is why it is a package of
its own, beside ``shared/`` rather than in it.
"""

from __future__ import annotations

import asyncio
import base64
import ctypes
import importlib
import importlib.util
import inspect
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from comitas_shared import randomness
from comitas_shared.testing import nats_server_binary

DEFAULT_BASE_PORT = 8000
NATS_DEFAULT_PORT = 14222
READY_LINE = "Comitas is ready. Press Ctrl-C to stop."
CREDENTIALS_FILE = "demo-credentials.json"
MASTER_KEY_FILE = "master.key"
PIDS_FILE = "pids.json"
# NATS in operator mode (ADR 0033): the operator's keys and the services' credentials, and whether to use
# them: "operator", "none", or unset (operator mode for a new var/, or one that already runs it; a var/
# whose NATS store predates it keeps running without accounts, so its streams and timers stay where
# they are).
NATS_AUTH_DIR = "nats-auth"
NATS_AUTH_ENV = "COMITAS_DEV_NATS_AUTH"
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
# Whatever the launcher and its children create (databases, NATS store, logs) is the developer's alone:
# the databases hold victims' accounts and the key that unwraps their identities.
PRIVATE_UMASK = 0o077

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
    Service("referral", "comitas_referral", 8002, "referral"),
    Service("mla", "comitas_mla", 8003, "mla"),
    Service("notifications", "comitas_notifications", 8004, "notifications",
            extra_env={"ALLOW_PRIVATE_WEBHOOK_TARGETS": "true", "FEEDS_ENABLED": "true"}),
    Service("portal", "comitas_portal", 8080, "web client"),
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

    @property
    def pids_path(self) -> Path:
        return self.var / PIDS_FILE

    @property
    def nats_auth_dir(self) -> Path:
        return self.var / NATS_AUTH_DIR


# --- data at rest: permissions, master key, migrations, demo data ----------------------------------


def secure_var(layout: Layout) -> list[Path]:
    """Creates the var directory for the owner only, and takes group and other access away from
    whatever an earlier run (before the umask) left readable. Returns the paths it tightened."""
    layout.var.mkdir(mode=0o700, parents=True, exist_ok=True)
    tightened: list[Path] = []
    for root, dirs, files in os.walk(layout.var):
        # Each directory comes up twice (as a name, then as a root); the second time it is already tight.
        for path in [Path(root), *(Path(root) / name for name in [*dirs, *files])]:
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode) or not stat.S_IMODE(info.st_mode) & 0o077:
                continue
            os.chmod(path, stat.S_IMODE(info.st_mode) & 0o700)
            tightened.append(path)
    return tightened


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
    layout.var.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = base64.urlsafe_b64encode(randomness.token_bytes(32)).decode()
    _write_private(path, key + "\n")
    return key


def migrate(layout: Layout) -> None:
    from comitas_shared import migrations

    layout.var.mkdir(mode=0o700, parents=True, exist_ok=True)
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


async def _seed_identity(database_url: str, key: str, portal_url: str | None = None) -> list[dict[str, Any]]:
    from comitas_shared.db import Database

    demo = importlib.import_module("comitas_identity.demo")
    database = Database(database_url)
    try:
        # services=True: referral, mla and notifications get clients of their own (token exchange,
        # the directory's contacts), written to demo-credentials.json like the institutions'; the web
        # client gets its own too, redirecting to where it runs.
        extra = {"portal_redirect_uris": [f"{portal_url}/auth/callback"]} if portal_url else {}
        result = demo.seed_demo(database, key, services=True, **extra)
        if inspect.isawaitable(result):
            result = await result
        return [dict(item) for item in result]
    finally:
        await database.dispose()


def seed(layout: Layout, key: str) -> dict[str, Any]:
    """Seeds the demo data (idempotent) and returns the credentials, as kept in demo-credentials.json."""
    identity = next(s for s in layout.services if s.name == "identity")
    portal_url = layout.url("portal") if any(s.name == "portal" for s in layout.services) else None
    seeded = asyncio.run(_seed_identity(layout.database_url(identity), key, portal_url))
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


def _popen(args: Sequence[str], log: Path, env: Mapping[str, str] | None) -> subprocess.Popen[bytes]:
    log.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(log, "ab") as out:
        # A session of its own: the terminal's Ctrl-C reaches comitas-dev only, which then stops
        # the children in order (services first, NATS last).
        return subprocess.Popen(
            list(args), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None, start_new_session=True,
            # No thread runs in comitas-dev while it spawns, which is what makes preexec_fn safe.
            preexec_fn=_die_with_parent if sys.platform == "linux" else None)  # noqa: PLW1509


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    health_url: str | None = None
    args: Sequence[str] = ()
    env: Mapping[str, str] | None = None
    port: int | None = None
    starts: int = 1

    @classmethod
    def spawn(cls, name: str, args: Sequence[str], *, log: Path, env: Mapping[str, str] | None = None,
              health_url: str | None = None, port: int | None = None) -> Child:
        return cls(name, _popen(args, log, env), log, health_url, tuple(args), env, port)

    def respawn(self) -> None:
        """Starts the same command again, after this one's process has exited."""
        self.process = _popen(self.args, self.log, self.env)
        self.starts += 1

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def stop_children(children: Sequence[Child], timeout: float = STOP_TIMEOUT, *,
                  signum: int = signal.SIGTERM) -> None:
    """SIGTERM (or ``signum``) to all of them at once, then SIGKILL to whichever is still there after
    ``timeout``."""
    for child in children:
        if child.running:
            child.process.send_signal(signum)
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"  {child.name} did not stop within {timeout:.0f} s: killed", flush=True)
            child.process.kill()
            child.process.wait()


def write_pids(layout: Layout, children: Sequence[Child]) -> None:
    """var/pids.json: which process is which, for a developer (or a test) who wants to signal one."""
    pids = {"comitas-dev": os.getpid(), **{c.name: c.process.pid for c in children}}
    _write_private(layout.pids_path, json.dumps(pids, indent=2) + "\n")


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
                    if _answers(http, child):
                        pending.remove(child)
                if pending and time.monotonic() > deadline:
                    names = ", ".join(c.name for c in pending)
                    logs = ", ".join(str(c.log) for c in pending)
                    raise DevStackError(f"not healthy after {timeout:.0f} s: {names} (see {logs})")
                if pending:
                    self.sleep(0.1)


def _answers(http: httpx.Client, child: Child) -> bool:
    if child.health_url is None:
        return child.port is not None and is_listening(child.port)
    try:
        return http.get(child.health_url).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class CrashPolicy:
    """When to start a crashed process again: after 1, 2, 4 ... s (capped), and not at all once it has
    crashed more than ``max_crashes`` times within ``window`` s, since then a restart would only hide a
    fault that needs the developer (a broken migration, a bad setting)."""

    max_crashes: int = 5
    window: float = 60.0
    first_delay: float = 1.0
    max_delay: float = 30.0
    crashes: deque[float] = field(default_factory=deque)

    def crashed(self, at: float) -> float | None:
        """Records a crash at monotonic time ``at``: the delay before the next start, or None to give up."""
        self.crashes.append(at)
        while self.crashes[0] <= at - self.window:
            self.crashes.popleft()
        if len(self.crashes) > self.max_crashes:
            return None
        return min(self.first_delay * 2 ** (len(self.crashes) - 1), self.max_delay)


def _exit_status(code: int | None) -> str:
    """``-9 (SIGKILL)`` for a process killed by a signal, the plain code otherwise."""
    try:
        return f"{code} ({signal.Signals(-code).name})" if code is not None and code < 0 else str(code)
    except ValueError:
        return str(code)


def supervise(layout: Layout, nats: Child, services: Sequence[Child], supervisor: Supervisor, *,
              policy: Callable[[], CrashPolicy] = CrashPolicy, say: Callable[[str], None] | None = None) -> Child:
    """Keeps the stack up until Ctrl-C (raises :class:`Stopping`) or until one process keeps crashing
    (returns it). A crashed process is started again with the same command, after a backoff."""
    say = say or (lambda text: print(text, flush=True))
    children = [nats, *services]
    policies = {child.name: policy() for child in children}
    restart_at: dict[str, float] = {}
    recovering: list[Child] = []
    with httpx.Client(timeout=0.5) as http:
        while True:
            now = time.monotonic()
            for child in children:
                if child.name in restart_at:
                    if now >= restart_at[child.name]:
                        del restart_at[child.name]
                        child.respawn()
                        write_pids(layout, children)
                        recovering.append(child)
                elif not child.running:
                    delay = policies[child.name].crashed(now)
                    if delay is None:
                        return child
                    say(f"{child.name} exited with {_exit_status(child.process.returncode)}; "
                        f"restarting in {delay:g} s (attempt {child.starts + 1})")
                    restart_at[child.name] = now + delay
                    if child in recovering:
                        recovering.remove(child)
            for child in list(recovering):
                if child.running and _answers(http, child):
                    recovering.remove(child)
                    say(f"{child.name} is back (pid {child.process.pid})")
            supervisor.sleep(0.2)


def peer_url_fields(service: Service) -> list[str]:
    """The ``<service>_url`` settings a service has (the web client's ``intake_url``, say), so that shifted
    ports reach every service that calls another one over HTTP."""
    settings_class = settings_class_of(service)
    if settings_class is None:
        return []
    return [name for name in settings_class.model_fields
            if name.endswith("_url") and name.removesuffix("_url") in SERVICE_NAMES]


def settings_class_of(service: Service) -> type | None:
    from comitas_shared.settings import ServiceSettings

    try:
        module = importlib.import_module(f"{service.package}.settings")
    except ModuleNotFoundError:
        return None
    found = [value for value in vars(module).values()
             if isinstance(value, type) and issubclass(value, ServiceSettings) and value is not ServiceSettings
             and value.__module__ == module.__name__]
    return found[0] if found else None


def nats_operator_mode(layout: Layout, env: Mapping[str, str] = os.environ) -> bool:
    choice = env.get(NATS_AUTH_ENV, "").strip().lower()
    if choice in {"operator", "none"}:
        return choice == "operator"
    return layout.nats_auth_dir.exists() or not (layout.var / "nats").exists()


def nats_operator(layout: Layout) -> Any:
    """The operator's material under var/ (made on the first run, kept after), with the server
    configuration nats-server includes: operator, system account, full resolver."""
    from comitas_shared import nats_auth
    from comitas_shared.clock import real_now

    return nats_auth.create(layout.nats_auth_dir, now=real_now(), resolver_dir=layout.nats_auth_dir / "jwt")


def nats_auth_env(service: Service, operator: Any | None) -> dict[str, str]:
    """In operator mode every service connects as the PLATFORM account's user; notifications also
    signs institutions' accounts and pushes them (it reads the operator's directory)."""
    if operator is None:
        return {}
    values = {"NATS_CREDENTIALS": str(operator.platform_credentials)}
    settings = settings_class_of(service)
    if settings is not None and "feeds_operator_dir" in settings.model_fields:
        values["FEEDS_OPERATOR_DIR"] = str(operator.directory)
    return values


def service_env(layout: Layout, service: Service, key: str, operator: Any | None = None) -> dict[str, str]:
    """The COMITAS_<SERVICE>_* variables one service starts with."""
    values = {
        "ENVIRONMENT": "development",
        "DATABASE_URL": layout.database_url(service),
        "NATS_URL": layout.nats_url,
        "ISSUER": layout.url("identity"),
        "PUBLIC_URL": layout.url(service.name),
        "MASTER_KEY": key,
        # No gateway to tell: a service stops at once on SIGTERM (Ctrl-C stops the stack without waiting).
        "DRAIN_SECONDS": "0",
        **{name.upper(): layout.url(name.removesuffix("_url")) for name in peer_url_fields(service)},
        **service.extra_env,
        **_own_client(layout, service),
        **nats_auth_env(service, operator),
    }
    return {f"{service.env_prefix}{name}": value for name, value in values.items()}


def _own_client(layout: Layout, service: Service) -> dict[str, str]:
    """A platform service's own OAuth client, seeded by identity's demo (notifications reads the
    directory's contacts with it; referral and mla exchange tokens with it)."""
    credentials = read_credentials(layout) or {}
    for entry in credentials.get("institutions", []):
        if entry.get("id") == f"svc_{service.name}" and entry.get("client_id") and entry.get("client_secret"):
            return {"IDENTITY_CLIENT_ID": entry["client_id"], "IDENTITY_CLIENT_SECRET": entry["client_secret"]}
    return {}


def check_ports_free(layout: Layout) -> None:
    taken = [f"{name} {port}" for name, port in layout.ports.items()
             if (name == "nats" or any(s.name == name for s in layout.services)) and _port_taken(port)]
    if taken:
        raise DevStackError(f"ports already in use: {', '.join(taken)}. Is another `comitas-dev run` going? "
                            "Stop it, or shift the ports with COMITAS_DEV_BASE_PORT=9000.")


def start_stack(layout: Layout, key: str, supervisor: Supervisor) -> tuple[Child, list[Child]]:
    logs = layout.var / "log"
    operator = nats_operator(layout) if nats_operator_mode(layout) else None
    nats_args = [nats_server_binary(), "-a", "127.0.0.1", "-p", str(layout.ports["nats"]),
                 "-n", "comitas-dev", "-js", "-sd", str(layout.var / "nats")]
    if operator is not None:
        nats_args += ["-c", str(operator.resolver_config)]
    nats = Child.spawn("nats", nats_args, log=logs / "nats.log", port=layout.ports["nats"])
    services: list[Child] = []
    try:
        supervisor.wait_listening(nats, layout.ports["nats"], timeout=15)
        base_env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for service in layout.services:
            args = [sys.executable, "-m", "uvicorn", "--factory", f"{service.package}.main:create_app",
                    "--host", "127.0.0.1", "--port", str(layout.ports[service.name]),
                    # The client address comes from the app's own trusted_proxies, not uvicorn's.
                    "--no-proxy-headers", "--timeout-graceful-shutdown", "5"]
            services.append(Child.spawn(service.name, args, log=logs / f"{service.name}.log",
                                        env={**base_env, **service_env(layout, service, key, operator)},
                                        health_url=f"{layout.url(service.name)}/healthz",
                                        port=layout.ports[service.name]))
        write_pids(layout, [nats, *services])
        supervisor.wait_healthy(services, timeout=STARTUP_TIMEOUT)
    except BaseException:
        stop_children(services)
        stop_children([nats])
        layout.pids_path.unlink(missing_ok=True)
        raise
    return nats, services
