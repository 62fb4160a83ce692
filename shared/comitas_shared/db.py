"""Database plumbing: one async engine per service, one transaction per request or message.

Services never commit. The request dependency (:func:`session_dependency`) opens a transaction and
commits it when the endpoint returns, before the response is sent (``Depends(scope="function")``), so
a client that saw 201 can rely on the row and its outbox event being durable. Message consumers use
:meth:`Database.transaction` the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from sqlalchemy import CursorResult, DateTime, TypeDecorator, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session as SyncSession
from sqlalchemy.orm import registry as sa_registry
from sqlmodel import SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on every database. SQLite keeps no zone, so values are stored as
    UTC and read back as aware UTC; naive datetimes are refused rather than guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: Comitas stores timezone-aware UTC only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_registry() -> sa_registry:
    """Each service gets its own registry (and so its own MetaData) so that migrations and the
    models-vs-migrations check see only that service's tables, even when all services share a process."""
    return sa_registry()


def make_base(registry: sa_registry) -> type[SQLModel]:
    class Base(SQLModel, registry=registry):
        pass

    return Base


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the relay read while a request writes; busy_timeout makes writers wait, not fail.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_engine(url: str, *, echo: bool = False, pool_size: int = 10, max_overflow: int = 20) -> AsyncEngine:
    if is_sqlite(url):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True)


class Database:
    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10, max_overflow: int = 20) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo, pool_size=pool_size, max_overflow=max_overflow)
        # A session class of its own, so commit hooks (the relay's wake-up) see only this database.
        self.sync_session_class: type[SyncSession] = type("ServiceSession", (SyncSession,), {})
        self.sessionmaker = async_sessionmaker(
            self.engine, expire_on_commit=False, class_=AsyncSession, sync_session_class=self.sync_session_class
        )

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits on success, rolls back on any exception."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    database: Database = request.app.state.database
    async with database.transaction() as session:
        yield session


# scope="function": the exit code (commit) runs when the endpoint returns, before the response is sent.
Session = Annotated[AsyncSession, Depends(_request_session, scope="function")]


def rows_affected(result: Any) -> int:
    """How many rows an UPDATE or DELETE touched (``Session.execute`` is typed as returning a plain
    ``Result``; for DML it is a ``CursorResult``, which has the count)."""
    return int(cast(CursorResult[Any], result).rowcount or 0)


def unindexed(column: Any) -> Any:
    """``column`` as an expression no index can serve (``column || ''``), for a condition that must stay in
    a query without steering its plan. SQLite without statistics (a fresh database, or one never
    ANALYZEd) takes the first index an equality can use: given ``id IN (…) AND institution_id IN (…)``
    it walks every row of those institutions through an institution index instead of looking up each
    id, hundreds of milliseconds for a few hundred ids in a busy table. PostgreSQL plans the same query
    by its statistics either way."""
    return column.concat("")
