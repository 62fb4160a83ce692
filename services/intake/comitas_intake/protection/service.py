"""Victims' data protection: complaint keys (create, open, destroy, re-wrap), and the audit log
(append, read, checkpoint, verify). Never commits: the caller's transaction does."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId, Principal, institution_id_for_system
from comitas_shared.db import Database
from comitas_shared.errors import Problem
from comitas_shared.pagination import Page, PageRequest

from . import repository
from .crypto import ComplaintCipher, KeyRing, UnreadableCiphertext, blind_index, entry_hash, new_data_key
from .models import AuditCheckpoint, AuditEntry, AuditHead, ComplaintKey
from .schemas import AuditEntryOut

# What other features use of the protection layer (they never import its crypto module).
__all__ = ["Actor", "ComplaintCipher", "ComplaintErased", "KeyRing", "UnreadableCiphertext", "blind_index",
           "cipher_for", "create_key", "destroy_key", "record"]

GENESIS = "0" * 64


class ComplaintErased(Problem):
    status, slug, title = 410, "complaint-erased", "Complaint erased"


# --- keys ------------------------------------------------------------------------------------------

async def create_key(session: AsyncSession, keyring: KeyRing, *, institution_id: InstitutionId,
                     complaint_id: str, now: datetime) -> ComplaintCipher:
    data_key = new_data_key()
    await repository.add_key(session, ComplaintKey(
        complaint_id=complaint_id, institution_id=institution_id, created_at=now,
        wrapped_key=keyring.current.wrap(data_key, complaint_id=complaint_id), master_key_id=keyring.current.key_id))
    return ComplaintCipher(complaint_id, data_key)


async def cipher_for(session: AsyncSession, keyring: KeyRing, *, institution_id: InstitutionId,
                     complaint_id: str) -> ComplaintCipher:
    """The complaint's cipher; 410 once the complaint was erased (its key destroyed)."""
    row = await repository.get_key(session, institution_id, complaint_id)
    if row is None or row.wrapped_key is None or row.master_key_id is None:
        raise ComplaintErased("this complaint's protected data was erased and cannot be read by anyone")
    master = keyring.get(row.master_key_id)
    return ComplaintCipher(complaint_id, master.unwrap(row.wrapped_key, complaint_id=complaint_id))


async def destroy_key(session: AsyncSession, *, institution_id: InstitutionId, complaint_id: str,
                      now: datetime) -> bool:
    """Crypto-shredding: the only copy of the wrapped key goes; every sealed value becomes noise."""
    row = await repository.get_key(session, institution_id, complaint_id)
    if row is None or row.wrapped_key is None:
        return False
    row.wrapped_key = None
    row.master_key_id = None
    row.destroyed_at = now
    await session.flush()
    return True


async def rewrap_all(database: Database, keyring: KeyRing, *, now: datetime, batch: int = 500) -> int:
    """After a master-key rotation: re-wraps every live complaint key with the current master key, a
    batch per transaction, while the service runs (values sealed earlier stay readable: their data
    keys do not change). Returns how many keys were re-wrapped."""
    done = 0
    while True:
        async with database.transaction() as session:
            rows = await repository.keys_to_rewrap(session, current_key_id=keyring.current.key_id, limit=batch)
            for row in rows:
                assert row.wrapped_key is not None and row.master_key_id is not None
                data_key = keyring.get(row.master_key_id).unwrap(row.wrapped_key, complaint_id=row.complaint_id)
                row.wrapped_key = keyring.current.wrap(data_key, complaint_id=row.complaint_id)
                row.master_key_id = keyring.current.key_id
                row.rewrapped_at = now
        done += len(rows)
        if len(rows) < batch:
            return done


# --- audit -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Actor:
    """Who did it: the token's subject and client, and the service acting on its behalf (RFC 8693 act)."""

    subject: str
    client_id: str
    acting_for: dict[str, Any] | None = None

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        act = principal.claims.get("act")
        return cls(subject=principal.subject, client_id=principal.client_id,
                   acting_for=act if isinstance(act, dict) else None)

    @classmethod
    def public(cls, channel: str) -> Actor:
        """A victim through the public channel: no account, only the channel."""
        return cls(subject=f"public:{channel}", client_id="public")

    def as_json(self) -> dict[str, Any]:
        value: dict[str, Any] = {"sub": self.subject, "client_id": self.client_id}
        if self.acting_for:
            value["act"] = self.acting_for
        return value


def hashed_fields(entry: AuditEntry) -> dict[str, Any]:
    """What an entry's hash covers: everything but its row id and its own hash."""
    return {"institution_id": entry.institution_id, "seq": entry.seq, "at": entry.at.isoformat(),
            "actor": entry.actor, "action": entry.action, "subject_kind": entry.subject_kind,
            "subject_id": entry.subject_id, "purpose": entry.purpose, "details": entry.details,
            "prev_hash": entry.prev_hash}


async def record(session: AsyncSession, *, institution_id: InstitutionId, actor: Actor, action: str,
                 subject_kind: str, subject_id: str, now: datetime, purpose: str | None = None,
                 details: dict[str, Any] | None = None) -> AuditEntry:
    """Appends an entry to the institution's chain, in the caller's transaction (so the entry exists
    exactly when what it records does). The chain's head row is locked until the transaction ends
    (SQLAlchemy leaves ``FOR UPDATE`` out on SQLite, whose single writer already serialises appends)."""
    head = await repository.head_for_append(session, institution_id, lock=True)
    if head is None:
        head = AuditHead(institution_id=institution_id, seq=0, hash=GENESIS)
        await repository.add(session, head)
    entry = AuditEntry(institution_id=institution_id, seq=head.seq + 1, at=now, actor=actor.as_json(),
                       action=action, subject_kind=subject_kind, subject_id=subject_id, purpose=purpose,
                       details=details or {}, prev_hash=head.hash, hash="")
    entry.hash = entry_hash(hashed_fields(entry))
    await repository.add(session, entry)
    head.seq, head.hash = entry.seq, entry.hash
    await session.flush()
    return entry


def to_out(entry: AuditEntry) -> AuditEntryOut:
    return AuditEntryOut.model_validate(entry, from_attributes=True)


async def audit_page(session: AsyncSession, *, institution_id: InstitutionId, page: PageRequest) -> Page[AuditEntryOut]:
    rows = await repository.entries_page(session, institution_id, page)
    return repository.NEWEST_FIRST.cut(rows, page, to_out)


def checkpoint_payload(row: AuditHead | AuditCheckpoint, at: datetime) -> dict[str, Any]:
    return {"institution_id": row.institution_id, "seq": row.seq, "hash": row.hash, "at": at.isoformat()}


async def write_checkpoints(database: Database, keyring: KeyRing, directory: Path, *, now: datetime) -> int:
    """Signs the head of every chain that moved since its last checkpoint, and writes the checkpoint
    both to the database and to ``directory`` (one append-only JSON-lines file per institution), which
    is what makes a cut-off end of the chain detectable. Returns how many were written."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    written = 0
    async with database.transaction() as session:
        for head in await repository.heads(session):
            institution_id = institution_id_for_system(head.institution_id)
            last = await repository.latest_checkpoint(session, institution_id)
            if last is not None and last.seq == head.seq:
                continue
            payload = checkpoint_payload(head, now)
            signature, key_id = keyring.sign(payload)
            await repository.add(session, AuditCheckpoint(institution_id=head.institution_id, seq=head.seq,
                                                          hash=head.hash, at=now, key_id=key_id, signature=signature))
            line = json.dumps({**payload, "key_id": key_id, "signature": signature}, sort_keys=True)
            with (directory / f"{_file_name(head.institution_id)}.jsonl").open("a", encoding="utf-8") as out:
                out.write(line + "\n")
            written += 1
    return written


def _file_name(institution_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in institution_id)


@dataclass
class Verification:
    institution_id: str
    entries: int
    ok: bool = True
    first_bad_seq: int | None = None
    problems: list[str] = field(default_factory=list)

    def fail(self, seq: int | None, problem: str) -> None:
        if self.ok:
            self.first_bad_seq = seq
        self.ok = False
        self.problems.append(problem)


async def verify(session: AsyncSession, keyring: KeyRing, *, institution_id: InstitutionId,
                 checkpoint_dir: Path | None) -> Verification:
    """Recomputes the chain and compares it with its head and with every signed checkpoint (those in
    ``checkpoint_dir`` above all: they live outside the database). Names the first entry that is
    altered, missing, reordered or cut off."""
    entries = await repository.chain(session, institution_id)
    report = Verification(institution_id=institution_id, entries=len(entries))
    previous = GENESIS
    by_seq: dict[int, str] = {}
    for expected_seq, entry in enumerate(entries, start=1):
        if entry.seq != expected_seq:
            report.fail(expected_seq, f"entry {expected_seq} is missing or out of order (found {entry.seq})")
            break
        if entry.prev_hash != previous:
            report.fail(entry.seq, f"entry {entry.seq} does not follow entry {entry.seq - 1} (removed or reordered)")
            break
        if entry_hash(hashed_fields(entry)) != entry.hash:
            report.fail(entry.seq, f"entry {entry.seq} was altered")
            break
        previous = entry.hash
        by_seq[entry.seq] = entry.hash
    last_seq = len(by_seq)
    head = await repository.head_for_append(session, institution_id, lock=False)
    if head is not None and (head.seq, head.hash) != (last_seq, previous) and report.ok:
        report.fail(last_seq + 1, f"the chain ends at entry {last_seq} but its head says {head.seq}: "
                                  "entries were removed from the end")
    for checkpoint in _checkpoints(checkpoint_dir, institution_id):
        payload = {k: checkpoint[k] for k in ("institution_id", "seq", "hash", "at")}
        if not keyring.verify(payload, checkpoint.get("signature", ""), checkpoint.get("key_id", "")):
            report.fail(None, f"checkpoint at entry {checkpoint['seq']} has a bad signature")
            continue
        seq = int(checkpoint["seq"])
        if seq > last_seq and report.ok:
            report.fail(last_seq + 1, f"a signed checkpoint saw entry {seq}, but the chain ends at {last_seq}: "
                                      "entries were removed from the end")
        elif seq in by_seq and by_seq[seq] != checkpoint["hash"] and report.ok:
            report.fail(seq, f"entry {seq} differs from the signed checkpoint")
    return report


def _checkpoints(directory: Path | None, institution_id: str) -> list[dict[str, Any]]:
    if directory is None:
        return []
    path = directory / f"{_file_name(institution_id)}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
