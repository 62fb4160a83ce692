"""Throttling of what can be guessed (passwords, client secrets, receipt codes), shared by every replica.

The limits library decides (its moving-window strategy); the counts live in the service's own database,
in the ``throttle_hit`` platform table, through :class:`DatabaseStorage`: one row per counted attempt,
so the window is the same whichever replica a request reaches, and nothing new needs running. Keys are
HMACs of what they count (an account, an address), so the table names no one. See
docs/adr/0009-throttling-on-the-database.md.

Use: build a :class:`Throttle` per kind of attempt; ``await throttle.check(*key)`` before the guessable
step (a full window answers 429 with ``Retry-After`` without looking at the guess), and
``await throttle.hit(*key)`` for each attempt that counts (every attempt, or only failures).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import MovingWindowSupport, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from .clock import Clock, real_now
from .db import Database, rows_affected
from .errors import Problem

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TooManyRequests(Problem):
    """429 with ``Retry-After`` (RFC 9110 §10.2.3) and the same number of seconds in the body."""

    status, slug, title = 429, "too-many-requests", "Too many requests"

    def __init__(self, detail: str | None = None, *, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)}, retry_after=retry_after, **extra)
        self.retry_after = retry_after


def parse_limit(value: str) -> RateLimitItem:
    """``"20/minute"``, ``"5 per 10 seconds"`` … (the limits library's notation); ValueError otherwise."""
    try:
        return parse(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a rate limit such as '20/minute'") from exc


def parse_networks(values: Iterable[str]) -> list[Network]:
    """Addresses or CIDR networks; ValueError names the first that is neither."""
    networks: list[Network] = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or network") from None
    return networks


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    # An IPv4 client seen through a dual-stack socket is the same client.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_address(request: Request, trusted_proxies: Sequence[Network]) -> str:
    """The address of the client. ``X-Forwarded-For`` is believed only from a trusted proxy, and then
    read from the right: each hop appended by a trusted proxy is skipped, and the first address that is
    not a trusted proxy is the client (anything left of it the client could have written itself)."""
    peer = request.client.host if request.client else ""
    current = _address(peer)
    if current is None:
        return peer or "unknown"

    def trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(address in network for network in trusted_proxies)

    if not trusted(current):
        return str(current)
    hops = [hop for header in request.headers.getlist("x-forwarded-for") for hop in header.split(",")]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            # Garbage in the chain: stop at the last address we can vouch for.
            break
        current = address
        if not trusted(address):
            break
    return str(current)


class DatabaseStorage(Storage, MovingWindowSupport):
    """The storage limits' moving window needs, on a service's ``throttle_hit`` table.

    ``acquire_entry`` counts and inserts in one transaction that holds the key: an advisory lock on
    PostgreSQL, the database's single writer on SQLite (the transaction starts with a DELETE, so it holds
    the write lock before it counts). Two replicas can therefore never both take the last place in a
    window. Only the moving window is supported: the fixed-window methods raise NotImplementedError.
    """

    STORAGE_SCHEME = None  # built with a Database, not from a URI

    def __init__(self, database: Database, table: Table, *, clock: Clock = real_now) -> None:
        super().__init__(uri=None, wrap_exceptions=False)
        self.database = database
        self.table = table
        self.clock = clock

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    async def _hold(self, session: AsyncSession, key: str) -> None:
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = self.clock()
        start = now - timedelta(seconds=expiry)
        table = self.table
        async with self.database.transaction() as session:
            await self._hold(session, key)
            await session.execute(delete(table).where(table.c.key == key, table.c.at <= start))
            count = (await session.execute(
                select(func.count()).select_from(table).where(table.c.key == key, table.c.at > start)
            )).scalar_one()
            if count + amount > limit:
                return False
            row = {"key": key, "at": now, "expires_at": now + timedelta(seconds=expiry)}
            await session.execute(insert(table), [row] * amount)
        return True

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = self.clock()
        table = self.table
        async with self.database.transaction() as session:
            oldest, count = (await session.execute(
                select(func.min(table.c.at), func.count()).select_from(table)
                .where(table.c.key == key, table.c.at > now - timedelta(seconds=expiry))
            )).one()
        if not count:
            return now.timestamp(), 0
        # MIN() keeps the column's type, so this is already an aware UTC datetime.
        return oldest.timestamp(), int(count)

    async def clear(self, key: str) -> None:
        async with self.database.transaction() as session:
            await session.execute(delete(self.table).where(self.table.c.key == key))

    async def reset(self) -> int | None:
        async with self.database.transaction() as session:
            return rows_affected(await session.execute(delete(self.table)))

    async def check(self) -> bool:
        try:
            async with self.database.transaction() as session:
                await session.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        raise NotImplementedError("DatabaseStorage supports the moving window only")

    async def get(self, key: str) -> int:
        raise NotImplementedError("DatabaseStorage supports the moving window only")

    async def get_expiry(self, key: str) -> float:
        raise NotImplementedError("DatabaseStorage supports the moving window only")


class Throttle:
    """One kind of attempt (``name``) limited to ``limit`` per moving window, per key.

    A key is any tuple of strings (an account and an address, say); it is stored as an HMAC under
    ``pepper``, so the table neither names anyone nor lets a reader test guesses at who was throttled.
    """

    def __init__(self, storage: DatabaseStorage, limit: str | RateLimitItem, *, name: str,
                 pepper: bytes = b"") -> None:
        self.limiter = MovingWindowRateLimiter(storage)
        self.item = parse_limit(limit) if isinstance(limit, str) else limit
        self.name = name
        self.clock = storage.clock
        self._pepper = pepper

    def _identifiers(self, key: Sequence[str]) -> tuple[str, str]:
        digest = hmac.new(self._pepper, "\x1f".join(key).encode(), hashlib.sha256).hexdigest()
        return self.name, digest[:40]

    async def _seconds_until_free(self, identifiers: tuple[str, str]) -> int:
        stats = await self.limiter.get_window_stats(self.item, *identifiers)
        return max(1, math.ceil(stats.reset_time - self.clock().timestamp()))

    async def retry_after(self, *key: str) -> int | None:
        """Seconds until ``key`` may try again, or None when it may now."""
        identifiers = self._identifiers(key)
        if await self.limiter.test(self.item, *identifiers):
            return None
        return await self._seconds_until_free(identifiers)

    async def check(self, *key: str) -> None:
        """TooManyRequests when ``key``'s window is full; counts nothing."""
        if (seconds := await self.retry_after(*key)) is not None:
            raise TooManyRequests(f"too many attempts; try again in {seconds} seconds", retry_after=seconds)

    async def hit(self, *key: str) -> None:
        """Counts one attempt of ``key``; TooManyRequests (and nothing counted) when the window is full."""
        identifiers = self._identifiers(key)
        if not await self.limiter.hit(self.item, *identifiers):
            seconds = await self._seconds_until_free(identifiers)
            raise TooManyRequests(f"too many attempts; try again in {seconds} seconds", retry_after=seconds)


async def purge_expired(database: Database, table: Table, *, now: datetime) -> int:
    """Deletes hits whose window has passed (idempotent; any replica may run it)."""
    async with database.transaction() as session:
        return rows_affected(await session.execute(delete(table).where(table.c.expires_at < now)))
