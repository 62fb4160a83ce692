"""Complaints written before sealing existed: the migration keeps their plaintext summary aside, and
`python -m comitas_intake.complaints seal-legacy` seals it with a key of the complaint's own."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from comitas_intake.complaints import service
from comitas_intake.protection import service as protection
from comitas_intake.protection.crypto import KeyRing
from comitas_shared import migrations
from comitas_shared.auth import InstitutionId
from comitas_shared.db import Database
from comitas_shared.testing import drop_database, fresh_database_url

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
RING = KeyRing("legacy-test-master-key-0000000000000000", blind_index_secret="legacy-test-blind-key-000000000")


@pytest.fixture
async def database(tmp_path: Path):
    url = fresh_database_url("intake_legacy", tmp_path)
    migrations.upgrade("comitas_intake", url)
    db = Database(url)
    yield db
    await db.dispose()
    if os.environ.get("DATABASE_URL"):
        drop_database(url)


async def test_legacy_summaries_are_sealed_and_the_plaintext_is_gone(database):
    institution = InstitutionId("inst-" + uuid.uuid4().hex[:8])
    ids = [str(uuid.uuid4()) for _ in range(3)]
    async with database.transaction() as session:
        for index, complaint_id in enumerate(ids):
            await session.execute(text(
                "INSERT INTO complaint (id, institution_id, reference, channel, status, legacy_summary, "
                "respondent_states, rights_invoked, domestic_remedies, other_procedures, urgency, filer, "
                "events_continuing, created_at, updated_at, version) VALUES (:id, :inst, :ref, 'partner_api', "
                "'received', :summary, '[]', '[]', '[]', '[]', '{}', '{}', false, :now, :now, 1)"),
                {"id": complaint_id, "inst": institution, "ref": f"CMP-2026-LEG{index}", "now": NOW,
                 "summary": f"Legacy account {index} of Amina Diallo"})
        # One of them already had a key (written between the two changes): it is reused.
        await protection.create_key(session, RING, institution_id=institution, complaint_id=ids[0], now=NOW)

    assert await service.seal_legacy(database, RING, now=NOW, batch=2) == 3
    assert await service.seal_legacy(database, RING, now=NOW) == 0  # nothing left: safe to run again
    async with database.transaction() as session:
        leftover = (await session.execute(text(
            "SELECT count(*) FROM complaint WHERE legacy_summary IS NOT NULL"))).scalar_one()
        assert leftover == 0
        for index, complaint_id in enumerate(ids):
            complaint = await service.get_complaint(session, institution_id=institution, complaint_id=complaint_id)
            cipher = await protection.cipher_for(session, RING, institution_id=institution, complaint_id=complaint_id)
            assert cipher.open(complaint.sealed["summary"], field="summary") == f"Legacy account {index} of Amina Diallo"
            assert "Amina" not in str(complaint.sealed)
