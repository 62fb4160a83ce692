"""The Idempotency-Key guard on a real database (SQLite, or PostgreSQL when DATABASE_URL is set), driven
as a request drives it: the guard inside the request's transaction, other requests in transactions of
their own."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, text

from comitas_shared import migrations
from comitas_shared.clock import real_now
from comitas_shared.db import Database
from comitas_shared.errors import Conflict, Unprocessable
from comitas_shared.idempotency import Idempotency, request_hash
from comitas_shared.testing import drop_database, fresh_database_url

OPERATION = "complaints.submit"
SUMMARY = "Ana Petrović was beaten in custody at the Central Station on 3 March."
BODY = {"summary": SUMMARY, "respondent_states": ["RS"]}
ANSWER = {"id": "c-1", "summary": SUMMARY, "reference": "CMP-2026-ABCD-EFGH"}


@pytest.fixture(scope="module")
async def database(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Database]:
    url = fresh_database_url("idem", tmp_path_factory.mktemp("idempotency"))
    migrations.upgrade("comitas_intake", url)
    database = Database(url)
    yield database
    await database.dispose()
    drop_database(url)


@pytest.fixture
def idem(database: Database) -> Idempotency:
    from comitas_intake.models import tables

    return Idempotency(database, tables, "a-master-key-for-these-tests")


async def submit(idem: Idempotency, institution: str, key: str, body: dict[str, Any] = BODY,
                 answer: dict[str, Any] = ANSWER) -> tuple[int, Any, bool]:
    """One request: guard, work, remember, commit. Returns (status, body, replayed)."""
    async with idem.database.transaction() as session, idem.guard(
            session, institution_id=institution, operation=OPERATION, key=key, body=body) as call:
        if call.is_replay:
            return call.replay_status, call.replay_body, True
        idem.remember(call, 201, answer)
        return 201, answer, False


async def stored_rows(database: Database, institution: str) -> list[dict[str, Any]]:
    from comitas_intake.models import tables

    async with database.transaction() as session:
        rows = await session.execute(select(tables.idempotency).where(
            tables.idempotency.c.institution_id == institution))
        return [dict(row) for row in rows.mappings()]


async def test_the_stored_answer_is_ciphertext_and_replays_as_it_was(idem: Idempotency) -> None:
    institution, key = f"inst_{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    assert await submit(idem, institution, key) == (201, ANSWER, False)
    assert await submit(idem, institution, key) == (201, ANSWER, True)

    [row] = await stored_rows(idem.database, institution)
    raw = json.dumps({name: str(value) for name, value in row.items()})
    for fragment in ("Petrovi", "custody", "Central Station", "CMP-2026"):
        assert fragment not in raw
    assert row["state"] == "done" and row["response_status"] == 201
    assert isinstance(row["response_body"], str) and row["response_body"].startswith("v1.")

    # The ciphertext opens only for its own (institution, operation, key), and only with this master key.
    sealed = row["response_body"]
    assert idem.open(sealed, institution_id=institution, operation=OPERATION, key=key) == ANSWER
    with pytest.raises(ValueError, match="does not decrypt"):
        idem.open(sealed, institution_id="inst_other", operation=OPERATION, key=key)
    with pytest.raises(ValueError, match="does not decrypt"):
        idem.open(sealed, institution_id=institution, operation=OPERATION, key="another-key")
    other_key = Idempotency(idem.database, idem.tables, "another-master-key")
    with pytest.raises(ValueError, match="does not decrypt"):
        other_key.open(sealed, institution_id=institution, operation=OPERATION, key=key)


async def test_another_body_under_the_key_is_422(idem: Idempotency) -> None:
    institution, key = f"inst_{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    await submit(idem, institution, key)
    with pytest.raises(Unprocessable) as refused:
        await submit(idem, institution, key, body=BODY | {"summary": "another account"})
    assert refused.value.slug == "idempotency-key-reused"


async def test_a_failed_request_leaves_no_claim_and_its_retry_runs(idem: Idempotency) -> None:
    institution, key = f"inst_{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    with pytest.raises(RuntimeError, match="boom"):
        async with idem.database.transaction() as session, idem.guard(
                session, institution_id=institution, operation=OPERATION, key=key, body=BODY):
            raise RuntimeError("boom")
    assert await stored_rows(idem.database, institution) == []
    assert await submit(idem, institution, key) == (201, ANSWER, False)


async def test_a_request_that_answers_without_remembering_leaves_no_claim(idem: Idempotency) -> None:
    institution, key = f"inst_{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    async with idem.database.transaction() as session, idem.guard(
            session, institution_id=institution, operation=OPERATION, key=key, body=BODY) as call:
        assert not call.is_replay
    assert await stored_rows(idem.database, institution) == []


async def test_a_retry_while_the_first_runs_never_runs_twice(idem: Idempotency) -> None:
    """PostgreSQL answers the concurrent retry 409 at once; SQLite makes it wait for the first, then
    replays the first's answer (docs/adr/0005)."""
    institution, key = f"inst_{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    first_inside = asyncio.Event()
    let_first_finish = asyncio.Event()

    async def first() -> None:
        async with idem.database.transaction() as session, idem.guard(
                session, institution_id=institution, operation=OPERATION, key=key, body=BODY) as call:
            assert not call.is_replay
            first_inside.set()
            await let_first_finish.wait()
            idem.remember(call, 201, ANSWER)

    running = asyncio.create_task(first())
    await first_inside.wait()
    retry = asyncio.create_task(submit(idem, institution, key, answer={"id": "a second complaint"}))
    if idem.database.is_sqlite:
        await asyncio.sleep(0.5)
        assert not retry.done()  # waiting for the first request's write lock
        let_first_finish.set()
        await running
        assert await asyncio.wait_for(retry, timeout=10) == (201, ANSWER, True)
    else:
        with pytest.raises(Conflict) as refused:
            await asyncio.wait_for(retry, timeout=5)
        assert refused.value.slug == "idempotency-key-in-use"
        let_first_finish.set()
        await running
        assert await submit(idem, institution, key) == (201, ANSWER, True)
    assert len(await stored_rows(idem.database, institution)) == 1


async def test_a_claim_left_running_by_an_older_release_keeps_its_lease(idem: Idempotency) -> None:
    """Older releases committed the claim on its own; such a claim may belong to a live process of that
    release during a rolling upgrade, so it blocks retries until its lease ends, then is taken over."""
    institution = f"inst_{uuid.uuid4().hex[:8]}"
    now = real_now()
    leases = {"live": now + timedelta(minutes=1), "expired": now - timedelta(seconds=1)}
    async with idem.database.transaction() as session:
        for key, locked_until in leases.items():
            await session.execute(insert(idem.tables.idempotency).values(
                institution_id=institution, operation=OPERATION, key=key, request_hash=request_hash(BODY),
                state="running", created_at=now - timedelta(minutes=1), locked_until=locked_until))
    with pytest.raises(Conflict):
        await submit(idem, institution, "live")
    assert await submit(idem, institution, "expired") == (201, ANSWER, False)
    assert await submit(idem, institution, "expired") == (201, ANSWER, True)


async def test_the_postgresql_claim_is_a_lock_held_by_the_request_transaction(idem: Idempotency) -> None:
    """What makes a claim die with its process: on PostgreSQL it is an advisory lock of the request's own
    transaction, which the server drops with the connection. (On SQLite the claim is an uncommitted
    insert, which dies the same way.)"""
    institution, key = f"inst_{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    async with idem.database.transaction() as session, idem.guard(
            session, institution_id=institution, operation=OPERATION, key=key, body=BODY) as call:
        assert not call.is_replay
        async with idem.database.transaction() as observer:
            if idem.database.is_sqlite:
                # Not visible to anyone else: it is not committed.
                assert await stored_rows(idem.database, institution) == []
            else:
                held = (await observer.execute(text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND pid <> pg_backend_pid()"))).scalar_one()
                assert held >= 1
                assert await stored_rows(idem.database, institution) == []
        idem.remember(call, 201, ANSWER)
