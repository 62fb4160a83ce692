"""Referral's read model of identity's directory is written by two paths: identity's events (the consumer,
``service.apply_event``) and the periodic reader of ``GET /v1/institutions`` (``service.apply_listed``),
each in its own transaction — here each through a ``Database`` of its own on one migrated database, as
two replicas would. When an institution is new, both can find no row and both insert; the write must be
idempotent under that race: the insert that finds the row already there updates it if it carries a newer
``version`` and otherwise changes nothing, without failing its transaction."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event

from comitas_referral.directory import service
from comitas_referral.directory.models import DirectoryEntry
from comitas_shared import migrations
from comitas_shared.db import Database
from comitas_shared.events.catalogue import InstitutionRegistered
from comitas_shared.testing import drop_database, fresh_database_url

REGISTERED_AT = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
CONSUMED_AT = datetime(2025, 3, 3, 9, 0, 1, tzinfo=UTC)
READ_AT = datetime(2025, 3, 3, 9, 0, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    found = fresh_database_url("referral_directory_race", tmp_path_factory.mktemp("referral_directory_race"))
    migrations.upgrade("comitas_referral", found)
    yield found
    drop_database(found)


@pytest.fixture
async def consumer_db(url: str) -> AsyncIterator[Database]:
    database = Database(url)
    yield database
    await database.dispose()


@pytest.fixture
async def reader_db(url: str) -> AsyncIterator[Database]:
    database = Database(url)
    yield database
    await database.dispose()


def registered(institution_id: str, *, version: int, name: str) -> InstitutionRegistered:
    return InstitutionRegistered(
        institution_id=institution_id, version=version, name=name, kind="ombudsman", country="at",
        subdivision=None, time_zone="Europe/Vienna", languages=["de"],
        mandate={"subject_areas": ["equal_treatment"], "investigates": ["public_authorities"],
                 "countries": ["AT"]},
        state_institution=True, accepts_referrals=True, referral_kinds=["referral"], referral_purposes=[],
        acknowledgement_period={"amount": 5, "unit": "working_days"}, response_period=None, closures=[],
        active=True, changed_at=REGISTERED_AT)


def listed(institution_id: str, *, version: int, name: str) -> dict[str, Any]:
    """The same entry as identity's ``GET /v1/institutions`` lists it (``id``, JSON values)."""
    entry = registered(institution_id, version=version, name=name).model_dump(mode="json")
    return {"id": entry.pop("institution_id"), **entry}


def inserting(database: Database) -> asyncio.Event:
    """Set when ``database`` sends an INSERT into ``directory_entry``: its writer found no row."""
    issued = asyncio.Event()

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO DIRECTORY_ENTRY"):
            issued.set()

    event.listen(database.engine.sync_engine, "before_cursor_execute", before)
    return issued


async def race(consumer_db: Database, reader_db: Database, *, consumed: InstitutionRegistered,
               read: dict[str, Any]) -> bool:
    """The consumer applies ``consumed`` (finds no row, inserts, holds its transaction open); the reader's
    page transaction then finds no row either and sends its own INSERT; only then does the consumer
    commit. Returns what the reader's ``apply_listed`` answered (its transaction has committed)."""
    reader_inserting = inserting(reader_db)

    async def reader_page() -> bool:
        async with reader_db.transaction() as session:
            return await service.apply_listed(session, read, now=READ_AT)

    async with consumer_db.transaction() as session:
        assert await service.apply_event(session, consumed, now=CONSUMED_AT) is True
        page = asyncio.create_task(reader_page())
        await asyncio.wait_for(reader_inserting.wait(), timeout=10)
    return await asyncio.wait_for(page, timeout=20)


async def held(database: Database, institution_id: str) -> tuple[int, str, datetime, list[str]]:
    async with database.transaction() as session:
        entry = await session.get(DirectoryEntry, institution_id)
        assert entry is not None
        return entry.version, entry.name, entry.updated_at, list(entry.languages)


async def test_the_loser_of_the_insert_race_stores_its_newer_version(consumer_db: Database,
                                                                    reader_db: Database) -> None:
    """Both writers read "absent"; the consumer inserts version 1 and commits while the reader is
    inserting version 2. The reader's transaction does not fail (no ``UNIQUE constraint failed:
    directory_entry.institution_id``), reports a change, and the row holds version 2 as the reader read
    it. A redelivered registration (version 1) afterwards changes nothing, through either path."""
    institution = "inst-race-newer"
    changed = await race(consumer_db, reader_db, consumed=registered(institution, version=1, name="Volksanwalt"),
                         read=listed(institution, version=2, name="Volksanwaltschaft"))
    assert changed is True
    assert await held(reader_db, institution) == (2, "Volksanwaltschaft", READ_AT, ["de"])

    async with consumer_db.transaction() as session:
        assert await service.apply_event(session, registered(institution, version=1, name="Volksanwalt"),
                                         now=datetime(2025, 3, 3, 9, 5, tzinfo=UTC)) is False
    async with reader_db.transaction() as session:
        assert await service.apply_listed(session, listed(institution, version=1, name="Volksanwalt"),
                                          now=datetime(2025, 3, 3, 9, 6, tzinfo=UTC)) is False
    assert await held(reader_db, institution) == (2, "Volksanwaltschaft", READ_AT, ["de"])


async def test_the_loser_of_the_insert_race_with_an_older_version_changes_nothing(consumer_db: Database,
                                                                                 reader_db: Database) -> None:
    """Both writers read "absent"; the consumer inserts version 3 and commits while the reader is
    inserting an older listing (version 2, read before the change). The reader's transaction does not
    fail, reports no change, and the row keeps the consumer's version 3; the same version redelivered
    later changes nothing either."""
    institution = "inst-race-older"
    changed = await race(consumer_db, reader_db,
                         consumed=registered(institution, version=3, name="Gleichbehandlungsanwaltschaft"),
                         read=listed(institution, version=2, name="Gleichbehandlungskommission"))
    assert changed is False
    assert await held(reader_db, institution) == (3, "Gleichbehandlungsanwaltschaft", CONSUMED_AT, ["de"])

    async with consumer_db.transaction() as session:
        assert await service.apply_event(session, registered(institution, version=3, name="Anders"),
                                         now=datetime(2025, 3, 3, 9, 5, tzinfo=UTC)) is False
    assert await held(reader_db, institution) == (3, "Gleichbehandlungsanwaltschaft", CONSUMED_AT, ["de"])
