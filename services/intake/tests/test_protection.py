"""Victims' data protection: per-complaint keys, crypto-shredding, master-key rotation, blind indexes,
and an audit chain whose alteration, reordering or truncation is detected and named."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, text, update

from comitas_intake.protection import service
from comitas_intake.protection.crypto import ComplaintCipher, KeyRing, UnreadableCiphertext, blind_index
from comitas_intake.protection.models import AuditEntry
from comitas_shared import migrations
from comitas_shared.auth import InstitutionId
from comitas_shared.db import Database
from comitas_shared.testing import drop_database, fresh_database_url

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
OLD, NEW = "old-master-key-for-tests-000000000000000", "new-master-key-for-tests-000000000000000"


def ring(current: str = OLD, previous: tuple[str, ...] = ()) -> KeyRing:
    return KeyRing(current, previous, blind_index_secret="blind-index-key-for-tests-0000000")


@pytest.fixture
async def database(tmp_path: Path):
    url = fresh_database_url("intake_protection", tmp_path)
    migrations.upgrade("comitas_intake", url)
    db = Database(url)
    yield db
    await db.dispose()
    import os

    if os.environ.get("DATABASE_URL"):
        drop_database(url)


def test_a_sealed_value_opens_only_for_its_complaint_and_field():
    key = b"k" * 32
    cipher = ComplaintCipher("c-1", key)
    sealed = cipher.seal({"name": "Amina Diallo"}, field="victims")
    assert "Amina" not in sealed
    assert cipher.open(sealed, field="victims") == {"name": "Amina Diallo"}
    with pytest.raises(UnreadableCiphertext):
        cipher.open(sealed, field="narrative")
    with pytest.raises(UnreadableCiphertext):
        ComplaintCipher("c-2", key).open(sealed, field="victims")
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(UnreadableCiphertext):
        cipher.open(tampered, field="victims")


def test_blind_indexes_ignore_case_accents_and_spacing_and_depend_on_the_key():
    key = ring().blind_key
    same = {blind_index(key, name, "1990-02-01", purpose="person")
            for name in ("Amina Diallo", "  amina   DIALLO ", "Âmina Diallo")}
    assert len(same) == 1
    assert blind_index(key, "Amina Diallo", "1990-02-02", purpose="person") not in same
    assert blind_index(key, "Amina Diallo", "1990-02-01", purpose="incident") not in same
    other = KeyRing(OLD, blind_index_secret="another-blind-key-000000000000").blind_key
    assert blind_index(other, "Amina Diallo", "1990-02-01", purpose="person") not in same


async def test_erasure_destroys_the_key_and_rotation_keeps_old_values_readable(database):
    institution = InstitutionId("inst-" + uuid.uuid4().hex[:8])
    async with database.transaction() as session:
        cipher = await service.create_key(session, ring(), institution_id=institution, complaint_id="c-1", now=NOW)
        kept = cipher.seal("Amina Diallo", field="name")
        shredded = (await service.create_key(session, ring(), institution_id=institution, complaint_id="c-2",
                                             now=NOW)).seal("Omar", field="name")

    rotated = ring(NEW, previous=(OLD,))
    assert await service.rewrap_all(database, rotated, now=NOW) == 2
    only_new = ring(NEW)
    async with database.transaction() as session:
        reopened = await service.cipher_for(session, only_new, institution_id=institution, complaint_id="c-1")
        assert reopened.open(kept, field="name") == "Amina Diallo"
        assert await service.destroy_key(session, institution_id=institution, complaint_id="c-2", now=NOW)
    async with database.transaction() as session:
        with pytest.raises(service.ComplaintErased):
            await service.cipher_for(session, rotated, institution_id=institution, complaint_id="c-2")
        row = (await session.execute(text("SELECT wrapped_key FROM complaint_key WHERE complaint_id = 'c-2'"))).one()
        assert row[0] is None
    # Even with every master key, the destroyed data key is nowhere to unwrap from.
    with pytest.raises(UnreadableCiphertext):
        ComplaintCipher("c-2", b"\0" * 32).open(shredded, field="name")


async def _chain(database: Database, institution: InstitutionId, n: int) -> None:
    actor = service.Actor(subject="officer-1", client_id="client-1")
    for i in range(n):
        async with database.transaction() as session:
            await service.record(session, institution_id=institution, actor=actor, action="pii.read",
                                 subject_kind="complaint", subject_id=f"c-{i}", purpose="investigation",
                                 details={"fields": ["victims"]}, now=NOW + timedelta(minutes=i))


async def _verify(database: Database, institution: InstitutionId, keyring: KeyRing, directory: Path):
    async with database.transaction() as session:
        return await service.verify(session, keyring, institution_id=institution, checkpoint_dir=directory)


async def test_an_intact_chain_verifies_and_checkpoints_are_signed_outside_the_database(database, tmp_path):
    institution = InstitutionId("inst-" + uuid.uuid4().hex[:8])
    await _chain(database, institution, 5)
    assert await service.write_checkpoints(database, ring(), tmp_path, now=NOW) >= 1
    assert await service.write_checkpoints(database, ring(), tmp_path, now=NOW) == 0  # nothing moved
    report = await _verify(database, institution, ring(), tmp_path)
    assert report.ok and report.entries == 5
    files = list(tmp_path.glob("*.jsonl"))
    assert files and all('"signature"' in f.read_text() for f in files)


@pytest.mark.parametrize("tamper", ["alter", "delete_middle", "reorder", "delete_last", "delete_last_and_head"])
async def test_tampering_with_the_chain_is_detected_and_named(database, tmp_path, tamper):
    institution = InstitutionId("inst-" + uuid.uuid4().hex[:8])
    await _chain(database, institution, 6)
    await service.write_checkpoints(database, ring(), tmp_path, now=NOW)
    mine = AuditEntry.institution_id == institution
    async with database.transaction() as session:
        if tamper == "alter":
            await session.execute(update(AuditEntry).where(mine, AuditEntry.seq == 3).values(purpose="curiosity"))
        elif tamper == "delete_middle":
            await session.execute(delete(AuditEntry).where(mine, AuditEntry.seq == 4))
        elif tamper == "reorder":
            await session.execute(update(AuditEntry).where(mine, AuditEntry.seq == 2).values(seq=-2))
            await session.execute(update(AuditEntry).where(mine, AuditEntry.seq == 5).values(seq=2))
            await session.execute(update(AuditEntry).where(mine, AuditEntry.seq == -2).values(seq=5))
        elif tamper == "delete_last":
            await session.execute(delete(AuditEntry).where(mine, AuditEntry.seq == 6))
        else:  # the end cut off and the head moved back to match: only the outside checkpoint knows
            await session.execute(delete(AuditEntry).where(mine, AuditEntry.seq >= 5))
            await session.execute(text("UPDATE audit_head SET seq = 4, hash = (SELECT hash FROM audit_entry "
                                       "WHERE institution_id = :i AND seq = 4) WHERE institution_id = :i"),
                                  {"i": institution})
    report = await _verify(database, institution, ring(), tmp_path)
    assert not report.ok, report
    expected = {"alter": 3, "delete_middle": 4, "reorder": 2, "delete_last": 6, "delete_last_and_head": 5}[tamper]
    assert report.first_bad_seq == expected, report.problems


async def test_the_verify_command_names_the_first_bad_entry(database, tmp_path, monkeypatch, capsys):
    from comitas_intake.protection.__main__ import main

    institution = InstitutionId("inst-" + uuid.uuid4().hex[:8])
    await _chain(database, institution, 3)
    monkeypatch.setenv("COMITAS_INTAKE_DATABASE_URL", database.url)
    monkeypatch.setenv("COMITAS_INTAKE_AUDIT_CHECKPOINT_DIR", str(tmp_path))
    monkeypatch.setenv("COMITAS_INTAKE_MASTER_KEY", OLD)
    monkeypatch.setenv("COMITAS_INTAKE_BLIND_INDEX_KEY", "blind-index-key-for-tests-0000000")
    import asyncio

    assert await asyncio.to_thread(main, ["verify", institution]) == 0
    async with database.transaction() as session:
        await session.execute(update(AuditEntry).where(AuditEntry.institution_id == institution,
                                                       AuditEntry.seq == 2).values(action="pii.export"))
    assert await asyncio.to_thread(main, ["verify", institution]) == 1
    assert "first bad entry: 2" in capsys.readouterr().out
