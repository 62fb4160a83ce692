"""NATS connection and JetStream provisioning.

The connection is kept by :class:`NatsHandle`, which keeps trying in the background when NATS is
down at start-up or goes away later, so a service answers HTTP (and writes its outbox) without NATS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

log = logging.getLogger(__name__)

# Longer than nats-py's own drain_timeout (30 s) plus its flush (10 s), shorter than a pod's grace period.
CLOSE_SECONDS = 45.0

EVENTS_STREAM = "EVENTS"
EVENTS_SUBJECTS = ["events.>"]
DUPLICATE_WINDOW = timedelta(minutes=10)


def events_stream_config(replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=EVENTS_STREAM,
        subjects=EVENTS_SUBJECTS,
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=timedelta(days=365).total_seconds(),
        duplicate_window=DUPLICATE_WINDOW.total_seconds(),
        num_replicas=replicas,
    )


async def ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    """Create the stream, or bring an existing one to this configuration (idempotent, any replica)."""
    try:
        await js.stream_info(config.name or "")
    except NotFoundError:
        try:
            await js.add_stream(config)
            return
        except Exception:  # another replica created it in between
            pass
    await js.update_stream(config)


class NatsHandle:
    """One NATS connection for a service, reconnecting forever, to any of the cluster's nodes."""

    def __init__(self, url: str | Sequence[str], *, name: str, stream_replicas: int = 1,
                 credentials: str | None = None) -> None:
        # Every node given: the first connection needs one that answers, whichever it is (the nodes a
        # connected client learns from the server only help it afterwards).
        self.servers = [url] if isinstance(url, str) else list(url)
        if not self.servers:
            raise ValueError("NATS: no server to connect to")
        self.url = ",".join(self.servers)
        # A .creds file when NATS runs in operator mode (ADR 0033); None connects without credentials.
        self.credentials = credentials
        self.name = name
        self.stream_replicas = stream_replicas
        self._client: Client | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._on_ready: list[Callable[[JetStreamContext], Awaitable[None]]] = []

    def on_ready(self, callback: Callable[[JetStreamContext], Awaitable[None]]) -> None:
        self._on_ready.append(callback)

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.is_connected

    @property
    def client(self) -> Client:
        if self._client is None:
            raise ConnectionError("NATS is not connected")
        return self._client

    @property
    def js(self) -> JetStreamContext:
        return self.client.jetstream()

    async def start(self, *, wait: float = 2.0) -> None:
        self._task = asyncio.create_task(self._connect_loop(), name=f"nats-connect-{self.name}")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout=wait)

    async def wait_ready(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._ready.wait(), timeout=timeout)

    async def _connect_loop(self) -> None:
        delay = 0.2
        while self._client is None:
            try:
                client = await nats.connect(
                    self.servers,
                    name=self.name,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    connect_timeout=2,
                    error_cb=self._error,
                    disconnected_cb=self._disconnected,
                    reconnected_cb=self._reconnected,
                    **({"user_credentials": self.credentials} if self.credentials else {}),
                )
            except Exception as exc:  # noqa: BLE001 - keep trying whatever the reason
                log.warning("nats: cannot connect to %s (%s); retrying", self.url, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            js = client.jetstream()
            try:
                await ensure_stream(js, events_stream_config(self.stream_replicas))
                for callback in self._on_ready:
                    await callback(js)
            except Exception as exc:  # noqa: BLE001
                log.warning("nats: provisioning failed (%s); retrying", exc)
                await client.close()
                await asyncio.sleep(delay)
                continue
            self._client = client
            self._ready.set()

    async def _error(self, exc: Exception) -> None:
        log.debug("nats error: %s", exc)

    async def _disconnected(self) -> None:
        log.info("nats: disconnected")

    async def _reconnected(self) -> None:
        log.info("nats: reconnected")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._client is not None:
            client, self._client = self._client, None
            # nats-py's drain refuses a reconnecting client (which then reconnects forever) and, past its own
            # drain_timeout, can still wait without limit on a socket whose peer is gone (flush, then the
            # transport's drain and wait_closed): a replica must stop even so, so the drain gets a bounded
            # wait of its own and is abandoned after it.
            draining = asyncio.create_task(client.drain(), name=f"nats-drain-{self.name}")
            done, _ = await asyncio.wait({draining}, timeout=CLOSE_SECONDS)
            if not done or draining.cancelled() or draining.exception() is not None:
                draining.cancel()
                log.warning("nats: connection not drained within %s s; closed without it", CLOSE_SECONDS)
                closing = asyncio.create_task(client.close(), name=f"nats-close-{self.name}")
                await asyncio.wait({closing}, timeout=CLOSE_SECONDS / 4)
