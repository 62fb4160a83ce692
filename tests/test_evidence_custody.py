"""comitas_shared.evidence custody chain and table definitions: an altered, reordered or deleted entry is
named; entries survive a trip through a real database and still verify."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine, insert, select

from comitas_shared.auth import Principal
from comitas_shared.evidence import (
    GENESIS,
    Actor,
    CustodyAction,
    CustodyEntry,
    custody_entry,
    define_custody_table,
    define_evidence_item_table,
    verify_custody,
)

T0 = datetime(2026, 12, 1, 9, 30, 0, 123456, tzinfo=UTC)
OFFICER = Actor(institution_id="inst-a", client_id="portal", user_id="officer-7")
SERVICE = Actor(institution_id="inst-a", client_id="referral-client",
                act={"sub": "comitas-referral", "client_id": "referral"})


def chain(length: int = 5) -> list[CustodyEntry]:
    actions = [CustodyAction.RECEIVED, CustodyAction.VIEWED, CustodyAction.STRIPPED_COPY_MADE,
               CustodyAction.SHARED, CustodyAction.DOWNLOADED, CustodyAction.DELETED]
    entries: list[CustodyEntry] = []
    for seq in range(length):
        entries.append(custody_entry(
            entries[-1] if entries else None, item_id="item-1", institution_id="inst-a",
            action=actions[seq % len(actions)], actor=SERVICE if seq == 3 else OFFICER,
            at=T0 + timedelta(minutes=seq),
            details={"sha256": "ab" * 32, "size": 1234 + seq, "recipient": "inst-b" if seq == 3 else None,
                     "removed": ["exif", "gps"]},
        ))
    return entries


def test_a_chain_as_built_verifies() -> None:
    entries = chain()
    assert [e.seq for e in entries] == [0, 1, 2, 3, 4]
    assert entries[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.entry_hash for a, b in zip(entries, entries[1:], strict=False))
    assert verify_custody(entries)
    assert verify_custody(entries, expected_head=entries[-1].entry_hash).ok
    assert verify_custody([]).ok


def test_an_altered_entry_is_named() -> None:
    entries = chain()
    entries[2] = dataclasses.replace(entries[2], details={**entries[2].details, "size": 1})
    check = verify_custody(entries)
    assert not check.ok and check.bad_seq == 2 and check.bad_index == 2
    assert "altered" in check.reason

    entries = chain()
    entries[1] = dataclasses.replace(entries[1], actor=Actor(institution_id="inst-a", user_id="someone-else"))
    assert verify_custody(entries).bad_seq == 1

    entries = chain()
    entries[3] = dataclasses.replace(entries[3], at=entries[3].at + timedelta(seconds=1))
    assert verify_custody(entries).bad_seq == 3


def test_an_altered_and_rehashed_entry_breaks_the_link_after_it() -> None:
    entries = chain()
    changed = dataclasses.replace(entries[2], action=CustodyAction.VIEWED)
    entries[2] = dataclasses.replace(changed, entry_hash=changed.computed_hash())
    check = verify_custody(entries)
    assert not check.ok and check.bad_seq == 3
    assert "does not chain" in check.reason


def test_reordered_entries_are_named() -> None:
    entries = chain()
    entries[1], entries[2] = entries[2], entries[1]
    check = verify_custody(entries)
    assert not check.ok and check.bad_index == 1 and check.bad_seq == 2
    assert "out of order" in check.reason


def test_a_deleted_entry_is_named() -> None:
    entries = chain()
    del entries[2]
    check = verify_custody(entries)
    assert not check.ok and check.bad_seq == 3 and check.bad_index == 2
    assert "seq 2 deleted" in check.reason

    entries = chain()
    del entries[0]
    check = verify_custody(entries)
    assert not check.ok and check.bad_seq == 1 and "seq 0 deleted" in check.reason


def test_deleted_newest_entries_need_the_recorded_head() -> None:
    entries = chain()
    head = entries[-1].entry_hash
    del entries[-2:]
    assert verify_custody(entries).ok, "a shorter chain holds by itself"
    check = verify_custody(entries, expected_head=head)
    assert not check.ok and check.bad_seq == 3 and "recorded head" in check.reason
    assert not verify_custody([], expected_head=head).ok


def test_an_entry_of_another_item_is_named() -> None:
    entries = chain()
    other = custody_entry(None, item_id="item-2", institution_id="inst-a", action=CustodyAction.RECEIVED,
                          actor=OFFICER, at=T0)
    check = verify_custody([*entries[:2], other])
    assert not check.ok and check.bad_index == 2 and "another item" in check.reason


def test_entries_refuse_what_would_not_hash_the_same_after_a_database() -> None:
    with pytest.raises(ValueError, match="float"):
        custody_entry(None, item_id="i", institution_id="inst-a", action=CustodyAction.VIEWED, actor=OFFICER,
                      at=T0, details={"ratio": 0.5})
    with pytest.raises(ValueError, match="timezone"):
        custody_entry(None, item_id="i", institution_id="inst-a", action=CustodyAction.VIEWED, actor=OFFICER,
                      at=datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        Actor(institution_id="inst-a")
    with pytest.raises(ValueError, match="another item"):
        custody_entry(chain(1)[0], item_id="item-9", institution_id="inst-a", action=CustodyAction.VIEWED,
                      actor=OFFICER, at=T0)


def test_an_actor_from_a_token() -> None:
    principal = Principal(subject="officer-7", client_id="portal", institution_id="inst-a",  # type: ignore[arg-type]
                          scopes=frozenset(), token_id="j", expires_at=0, issuer="i",
                          claims={"act": {"sub": "referral"}})
    assert Actor.from_principal(principal) == Actor(institution_id="inst-a", client_id="portal",
                                                    user_id="officer-7", act={"sub": "referral"})
    machine = dataclasses.replace(principal, subject="portal", claims={})
    assert Actor.from_principal(machine) == Actor(institution_id="inst-a", client_id="portal")


def test_tables_on_a_service_metadata_round_trip_entries_that_still_verify(tmp_path: Path) -> None:
    metadata = MetaData()
    items = define_evidence_item_table(metadata)
    custody = define_custody_table(metadata)
    assert set(metadata.tables) == {"evidence_item", "evidence_custody"}
    assert {c.name for c in items.columns} >= {
        "id", "institution_id", "owner_kind", "owner_id", "filename_sealed", "declared_type", "detected_type",
        "size", "sha256", "storage_key", "key_id", "key_version", "created_at"}
    assert [c.name for c in custody.primary_key.columns] == ["item_id", "seq"]

    engine = create_engine(f"sqlite:///{tmp_path / 'custody.db'}")
    metadata.create_all(engine)
    entries = chain(6)
    with engine.begin() as connection:
        for entry in entries:
            connection.execute(insert(custody).values(**entry.as_row()))
        rows = connection.execute(select(custody).where(custody.c.item_id == "item-1")
                                  .order_by(custody.c.seq)).mappings().all()
        # The primary key refuses a second entry with the same place in the chain (two replicas racing).
        with pytest.raises(Exception, match="UNIQUE"):
            connection.execute(insert(custody).values(**entries[2].as_row()))
    read_back = [CustodyEntry.from_row(row) for row in rows]
    assert read_back == entries
    assert verify_custody(read_back, expected_head=entries[-1].entry_hash).ok
    engine.dispose()
