"""comitas_shared.throttle: the moving window on a service's database, shared by replicas; the client
address behind trusted proxies only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.requests import Request

from comitas_shared import migrations
from comitas_shared.clock import FixedClock, real_now
from comitas_shared.db import Database
from comitas_shared.testing import drop_database, fresh_database_url
from comitas_shared.throttle import (
    DatabaseStorage,
    Throttle,
    TooManyRequests,
    client_address,
    parse_limit,
    parse_networks,
    purge_expired,
)


@pytest.fixture
async def databases(tmp_path: Path) -> AsyncIterator[tuple[Database, Database]]:
    """Two engines on one database, as two replicas have (notifications' tables: any service's do)."""
    url = fresh_database_url("throttle", tmp_path)
    migrations.upgrade("comitas_notifications", url)
    first, second = Database(url), Database(url)
    try:
        yield first, second
    finally:
        await first.dispose()
        await second.dispose()
        drop_database(url)


def throttle_on(database: Database, clock: FixedClock, limit: str = "3 per 10 seconds") -> Throttle:
    from comitas_notifications.models import tables

    return Throttle(DatabaseStorage(database, tables.throttle, clock=clock), limit, name="test", pepper=b"p")


async def test_a_moving_window(databases: tuple[Database, Database]) -> None:
    clock = FixedClock(real_now())
    throttle = throttle_on(databases[0], clock)
    for _ in range(3):
        await throttle.hit("olga@example.org", "203.0.113.9")
        clock.advance(seconds=2)
    # Three hits at t=0, 2, 4; now t=6: the window is full until the first leaves it at t=10.
    assert await throttle.retry_after("olga@example.org", "203.0.113.9") == 4
    with pytest.raises(TooManyRequests) as refused:
        await throttle.hit("olga@example.org", "203.0.113.9")
    assert refused.value.status == 429 and refused.value.headers == {"Retry-After": "4"}
    assert await throttle.retry_after("olga@example.org", "198.51.100.1") is None  # another key
    clock.advance(seconds=4.001)
    await throttle.check("olga@example.org", "203.0.113.9")
    await throttle.hit("olga@example.org", "203.0.113.9")
    with pytest.raises(TooManyRequests):
        await throttle.check("olga@example.org", "203.0.113.9")


async def test_replicas_racing_never_exceed_the_limit(databases: tuple[Database, Database]) -> None:
    clock = FixedClock(real_now())
    replicas = [throttle_on(database, clock, "5/minute") for database in databases]

    async def try_once(throttle: Throttle) -> bool:
        try:
            await throttle.hit("same key")
        except TooManyRequests:
            return False
        return True

    outcomes = await asyncio.gather(*(try_once(replicas[n % 2]) for n in range(12)))
    assert sum(outcomes) == 5


async def test_keys_name_no_one_and_expired_hits_are_purged(databases: tuple[Database, Database]) -> None:
    from comitas_notifications.models import tables

    clock = FixedClock(real_now())
    throttle = throttle_on(databases[0], clock)
    await throttle.hit("olga@example.org", "203.0.113.9")
    async with databases[0].transaction() as session:
        keys = (await session.execute(select(tables.throttle.c.key))).scalars().all()
    assert len(keys) == 1 and "olga" not in keys[0] and "203.0.113.9" not in keys[0]
    assert await purge_expired(databases[0], tables.throttle, now=clock()) == 0
    assert await purge_expired(databases[0], tables.throttle, now=clock.advance(seconds=11)) == 1


def request_from(peer: str, *forwarded: str) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers, "client": (peer, 1234)})


def test_the_client_address_believes_trusted_proxies_only() -> None:
    proxies = parse_networks(["10.0.0.0/8", "192.0.2.10"])
    # An untrusted peer is the client, whatever it writes.
    assert client_address(request_from("198.51.100.7", "203.0.113.1"), proxies) == "198.51.100.7"
    # A trusted proxy's header is read from the right, past every trusted hop.
    assert client_address(request_from("10.1.2.3", "203.0.113.1, 192.0.2.10"), proxies) == "203.0.113.1"
    # What the client wrote left of the first untrusted hop is not believed.
    assert client_address(request_from("10.1.2.3", "6.6.6.6, 198.51.100.9"), proxies) == "198.51.100.9"
    # Several headers are one list; an IPv4 client over IPv6 is the same client.
    assert client_address(request_from("10.1.2.3", "203.0.113.1", "10.9.9.9"), proxies) == "203.0.113.1"
    assert client_address(request_from("::ffff:198.51.100.7"), proxies) == "198.51.100.7"
    # Garbage stops the walk at the last address vouched for.
    assert client_address(request_from("10.1.2.3", "not-an-ip"), proxies) == "10.1.2.3"


def test_limits_and_networks_are_checked() -> None:
    assert parse_limit("20/minute").amount == 20
    with pytest.raises(ValueError, match="rate limit"):
        parse_limit("twenty a minute")
    with pytest.raises(ValueError, match="not an IP"):
        parse_networks(["10.0.0.0/8", "proxy.internal"])
