"""Evidence of a complaint: receive a stream into the shared evidence store under the complaint's own
key, list, view, download (verified against the recorded SHA-256 first), share a metadata-stripped copy,
and keep a hash-chained custody trail of each of these. Never commits: the request's transaction does
(the upload is the exception, see :func:`receive`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.app import Platform
from comitas_shared.auth import InstitutionId, Principal
from comitas_shared.errors import Conflict, NotFound, Unprocessable
from comitas_shared.events.catalogue import EVIDENCE_ADDED, EvidenceAdded
from comitas_shared.events.outbox import add_event
from comitas_shared.evidence import (
    Actor as CustodyActor,
)
from comitas_shared.evidence import (
    CustodyAction,
    CustodyEntry,
    DataKey,
    EvidenceReader,
    EvidenceStore,
    EvidenceTooLarge,
    EvidenceTypeRefused,
    StoredEvidence,
    custody_entry,
    download_headers,
    open_filename,
    seal_filename,
    verify_custody,
)
from comitas_shared.pagination import Page, PageRequest

from ..complaints import service as complaints
from ..consent import service as consent
from ..models import tables
from ..protection import service as protection
from ..protection.service import ComplaintCipher, KeyRing
from . import repository
from .schemas import (
    CustodyActorOut,
    CustodyEntryOut,
    CustodyOut,
    EvidenceDetail,
    EvidenceOut,
    EvidenceReceived,
    ManifestItem,
    SharedCopyCreate,
    SharedCopyOut,
)

KEY_VERSION = 1
"""A complaint's data key never changes (a master-key rotation re-wraps it), so its version is 1."""

CUSTODY_RETRIES = 5


def data_key(cipher: ComplaintCipher) -> DataKey:
    """The complaint's own key, as the evidence store takes it: destroying it shreds the files."""
    return DataKey(key_id=cipher.complaint_id, version=KEY_VERSION, material=cipher.data_key)


def custody_actor(principal: Principal) -> CustodyActor:
    return CustodyActor.from_principal(principal)


def _stored(row: Mapping[str, Any]) -> StoredEvidence:
    return StoredEvidence(storage_key=row["storage_key"], size=row["size"], sha256=row["sha256"],
                          detected_type=row["detected_type"], declared_type=row["declared_type"],
                          key_id=row["key_id"], key_version=row["key_version"])


def to_out(row: Mapping[str, Any]) -> EvidenceOut:
    return EvidenceOut(id=row["id"], complaint_id=row["owner_id"], sha256=row["sha256"], size=row["size"],
                       detected_type=row["detected_type"], declared_type=row["declared_type"],
                       derived_from=row["derived_from"], created_at=row["created_at"])


def _filename(row: Mapping[str, Any], key: DataKey) -> str:
    return open_filename(key, row["filename_sealed"], binding=row["id"])


async def _item(session: AsyncSession, institution_id: InstitutionId, complaint_id: str,
                item_id: str) -> Mapping[str, Any]:
    row = await repository.item(session, institution_id, complaint_id, item_id)
    if row is None:
        raise NotFound("no such evidence item", slug="evidence-not-found", title="Evidence not found")
    return row


async def _add_item(session: AsyncSession, key: DataKey, *, institution_id: InstitutionId, complaint_id: str,
                    stored: StoredEvidence, filename: str, declared_type: str | None,
                    derived_from: str | None, now: datetime) -> dict[str, Any]:
    """Records a stored file as a new item of the complaint, its name sealed under ``key``; returns the
    row's values (what :func:`to_out` reads), so nothing is read back."""
    item_id = str(uuid.uuid4())
    values: dict[str, Any] = {
        "id": item_id, "institution_id": institution_id, "owner_id": complaint_id,
        "filename_sealed": seal_filename(key, filename, binding=item_id), "declared_type": declared_type,
        "detected_type": stored.detected_type, "size": stored.size, "sha256": stored.sha256,
        "storage_key": stored.storage_key, "key_id": key.key_id, "key_version": key.version,
        "derived_from": derived_from, "created_at": now}
    await repository.add_item(session, values)
    return values


async def _append(session: AsyncSession, *, institution_id: InstitutionId, item_id: str, action: CustodyAction,
                  actor: CustodyActor, now: datetime, details: dict[str, Any]) -> CustodyEntry:
    """The next custody entry of an item, in the caller's transaction. Two writers on one item collide
    on (item, seq); the loser builds its entry again on the new head, so the chain never forks."""
    for _ in range(CUSTODY_RETRIES):
        previous = await repository.latest_custody(session, institution_id, item_id)
        entry = custody_entry(previous, item_id=item_id, institution_id=institution_id, action=action, actor=actor,
                              at=now, details=details)
        if await repository.try_add_custody(session, entry):
            return entry
    raise Conflict("the custody chain of this item is busy; try again", slug="custody-busy")


# --- receiving ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """An upload as the router hands it over: the body still unread."""

    stream: AsyncIterable[bytes]
    filename: str | None
    declared_type: str | None
    content_length: int | None


async def receive(platform: Platform, store: EvidenceStore, keyring: KeyRing, *, institution_id: InstitutionId,
                  complaint_id: str, upload: Upload, actor: CustodyActor, audit_actor: protection.Actor,
                  idempotency_key: str | None, now: datetime) -> tuple[int, dict[str, Any]]:
    """Streams one file into the evidence store, then records it. Returns the HTTP status and body.

    The one place in intake that holds no transaction across the whole request, on purpose: a body of
    hundreds of megabytes can take minutes to arrive, and no database connection should wait that long.
    One short transaction finds the complaint and its key (404 for another institution's, 410 once
    erased); the body then streams through the store (hashed, type-checked on its first bytes,
    encrypted segment by segment; refused and nothing kept over the limit or for a refused type); a
    second transaction records the item, its first custody entry and ``comitas.evidence.added``. If
    that one fails, the stored object is deleted. A refused type is written to the audit log
    (``evidence.refused``, with the type detected and the type declared), though nothing is stored.

    The Idempotency-Key covers the file (its SHA-256, size, name and declared type): a retry of the
    same upload is answered as the first was, and the bytes it sent again are not kept twice.
    """
    database = platform.database
    async with database.transaction() as session:
        key = data_key(await complaints.cipher_of(session, keyring, institution_id=institution_id,
                                                  complaint_id=complaint_id))
    if upload.content_length is not None and upload.content_length > store.max_bytes:
        raise EvidenceTooLarge(store.max_bytes)
    try:
        stored = await store.receive(upload.stream, key=key, filename=upload.filename,
                                     declared_type=upload.declared_type)
    except EvidenceTypeRefused as refused:
        # Nothing of the file is kept, but the attempt is: what it really was, and what it claimed to be.
        async with database.transaction() as session:
            await protection.record(session, institution_id=institution_id, actor=audit_actor,
                                    action="evidence.refused", subject_kind="complaint", subject_id=complaint_id,
                                    now=now, details={
                                        "detected_type": refused.extra.get("detected_type"),
                                        "declared_type": upload.declared_type, "reason": refused.slug,
                                        "extension": refused.extra.get("extension")})
        raise
    try:
        async with database.transaction() as session:
            status, body, replayed = await _record_received(
                session, platform, key, institution_id=institution_id, complaint_id=complaint_id, stored=stored,
                actor=actor, idempotency_key=idempotency_key, now=now)
    except BaseException:
        await store.delete(stored)
        raise
    if replayed:
        # The first upload's object is the one recorded; this copy of the same bytes is not kept.
        await store.delete(stored)
    return status, body


async def _record_received(session: AsyncSession, platform: Platform, key: DataKey, *, institution_id: InstitutionId,
                           complaint_id: str, stored: StoredEvidence, actor: CustodyActor,
                           idempotency_key: str | None, now: datetime) -> tuple[int, dict[str, Any], bool]:
    request = {"complaint_id": complaint_id, "sha256": stored.sha256, "size": stored.size,
               "filename": stored.filename, "declared_type": stored.declared_type}
    async with platform.idempotency.guard(session, institution_id=institution_id, operation="evidence.receive",
                                          key=idempotency_key, body=request, now=now) as call:
        if call.is_replay:
            return call.replay_status or 201, call.replay_body, True
        row = await _add_item(session, key, institution_id=institution_id, complaint_id=complaint_id, stored=stored,
                              filename=stored.filename or "", declared_type=stored.declared_type, derived_from=None,
                              now=now)
        item_id = row["id"]
        details = stored.custody_details() | {"declared_type": stored.declared_type}
        entry = await _append(session, institution_id=institution_id, item_id=item_id,
                              action=CustodyAction.RECEIVED, actor=actor, now=now, details=details)
        await add_event(session, tables, EVIDENCE_ADDED.build(
            source=platform.source, subject=complaint_id, institution_id=institution_id, time=now,
            data=EvidenceAdded(evidence_id=item_id, complaint_id=complaint_id, institution_id=institution_id,
                               sha256=stored.sha256, size=stored.size, detected_type=stored.detected_type,
                               received_at=now)))
        body = EvidenceReceived(**to_out(row).model_dump(), custody_head=entry.entry_hash).model_dump(mode="json")
        platform.idempotency.remember(call, 201, body)
        return 201, body, False


# --- reading -----------------------------------------------------------------------------------------


async def list_items(session: AsyncSession, *, institution_id: InstitutionId, complaint_id: str,
                     page: PageRequest) -> Page[EvidenceOut]:
    await complaints.get_complaint(session, institution_id=institution_id, complaint_id=complaint_id)
    rows = await repository.items_page(session, institution_id, complaint_id, page)
    return repository.NEWEST_FIRST.cut(rows, page, to_out)


async def count_items(session: AsyncSession, *, institution_id: InstitutionId, complaint_id: str) -> int:
    """How many items (originals and copies) the complaint has; the caller has found the complaint."""
    return await repository.count_items(session, institution_id, complaint_id)


async def view(session: AsyncSession, keyring: KeyRing, *, principal: Principal,
               complaint_id: str, item_id: str, purpose: str, now: datetime) -> EvidenceDetail:
    """An item with its file name (which may name a person): "viewed" in custody, and in the audit log."""
    institution_id = principal.institution_id
    cipher = await complaints.cipher_of(session, keyring, institution_id=institution_id, complaint_id=complaint_id)
    row = await _item(session, institution_id, complaint_id, item_id)
    await _append(session, institution_id=institution_id, item_id=item_id, action=CustodyAction.VIEWED,
                  actor=custody_actor(principal), now=now, details={"purpose": purpose})
    await protection.record(session, institution_id=institution_id, actor=protection.Actor.of(principal),
                            action="evidence.viewed", subject_kind="complaint", subject_id=complaint_id, now=now,
                            purpose=purpose, details={"evidence_id": item_id})
    return EvidenceDetail(**to_out(row).model_dump(), filename=_filename(row, data_key(cipher)) or None)


@dataclass
class Download:
    reader: EvidenceReader
    headers: dict[str, str]


async def download(session: AsyncSession, store: EvidenceStore, keyring: KeyRing, *,
                   principal: Principal, complaint_id: str, item_id: str, purpose: str, now: datetime) -> Download:
    """The file, verified whole against its recorded SHA-256 before the first byte is served (a
    mismatch is a 500 integrity problem and nothing is sent); "downloaded" in custody and in the audit
    log. The custody entry commits with the request, before the body streams."""
    institution_id = principal.institution_id
    cipher = await complaints.cipher_of(session, keyring, institution_id=institution_id, complaint_id=complaint_id)
    row = await _item(session, institution_id, complaint_id, item_id)
    key = data_key(cipher)
    reader = await store.open(_stored(row), key=key)
    try:
        await _append(session, institution_id=institution_id, item_id=item_id, action=CustodyAction.DOWNLOADED,
                      actor=custody_actor(principal), now=now,
                      details={"sha256": row["sha256"], "verified": reader.verified, "purpose": purpose})
        await protection.record(session, institution_id=institution_id, actor=protection.Actor.of(principal),
                                action="evidence.downloaded", subject_kind="complaint", subject_id=complaint_id,
                                now=now, purpose=purpose, details={"evidence_id": item_id, "sha256": row["sha256"]})
    except BaseException:
        await reader.aclose()
        raise
    return Download(reader, download_headers(reader.stored, filename=_filename(row, key) or None))


async def custody(session: AsyncSession, *, institution_id: InstitutionId, complaint_id: str,
                  item_id: str) -> CustodyOut:
    row = await _item(session, institution_id, complaint_id, item_id)
    entries = await repository.custody(session, institution_id, item_id)
    check = verify_custody(entries)
    return CustodyOut(item_id=item_id, sha256=row["sha256"], intact=check.ok, problem=check.reason or None,
                      entries=[CustodyEntryOut(seq=e.seq, action=e.action.value, actor=CustodyActorOut(
                          **e.actor.as_json()), at=e.at, details=e.details, prev_hash=e.prev_hash,
                          entry_hash=e.entry_hash) for e in entries])


async def manifest(session: AsyncSession, cipher: ComplaintCipher, *, institution_id: InstitutionId,
                   complaint_id: str) -> list[ManifestItem]:
    """The files received for a complaint, as a disclosure of the evidence category lists them."""
    key = data_key(cipher)
    return [ManifestItem(id=row["id"], sha256=row["sha256"], size=row["size"], detected_type=row["detected_type"],
                         filename=_filename(row, key) or None)
            for row in await repository.originals(session, institution_id, complaint_id)]


# --- sharing -----------------------------------------------------------------------------------------


async def share_copy(session: AsyncSession, store: EvidenceStore, keyring: KeyRing, *,
                     principal: Principal, complaint_id: str, item_id: str, payload: SharedCopyCreate,
                     now: datetime) -> SharedCopyOut:
    """A copy for a recipient outside the institution, without the file's metadata (EXIF and GPS of
    photos, a PDF's author and XMP), stored as an item of its own. Consent to share the evidence
    category with that recipient for that purpose is required (409 otherwise), unless overridden with
    the override scope and a reason. The original's custody gets a "shared" entry naming both hashes
    and the recipient; the copy's chain starts with "stripped_copy_made"; the audit log records the
    export."""
    institution_id = principal.institution_id
    cipher = await complaints.cipher_of(session, keyring, institution_id=institution_id, complaint_id=complaint_id)
    original = await _item(session, institution_id, complaint_id, item_id)
    if original["derived_from"] is not None:
        raise Unprocessable("share the original: a copy is made from it", slug="evidence-is-a-copy")
    if payload.recipient_type == "institution":
        if payload.recipient_kind is None:
            raise Unprocessable("an institution recipient needs its kind", slug="validation-error",
                                errors=[{"detail": "required for an institution", "pointer": "/recipient_kind"}])
        kind: str = payload.recipient_kind
    else:
        kind = consent.MECHANISM_KIND
    authorised = await consent.authorise(session, principal=principal, complaint_id=complaint_id,
                                         recipient=payload.recipient, recipient_kind=kind, purpose=payload.purpose,
                                         categories=[consent.Category.EVIDENCE],
                                         override_reason=payload.override_reason, now=now)
    key = data_key(cipher)
    copy = await store.strip_copy(_stored(original), key=key)
    try:
        row = await _add_item(session, key, institution_id=institution_id, complaint_id=complaint_id,
                              stored=copy.stored, filename=_filename(original, key),
                              declared_type=original["declared_type"], derived_from=item_id, now=now)
        copy_id = row["id"]
        actor = custody_actor(principal)
        recipient = {"recipient_type": payload.recipient_type, "recipient": payload.recipient,
                     "recipient_kind": kind, "purpose": payload.purpose.value, "basis": authorised.basis}
        hashes = {k: v for k, v in copy.custody_details().items() if k != "copy_storage_key"}
        await _append(session, institution_id=institution_id, item_id=copy_id,
                      action=CustodyAction.STRIPPED_COPY_MADE, actor=actor, now=now,
                      details=hashes | {"derived_from": item_id} | recipient)
        await _append(session, institution_id=institution_id, item_id=item_id, action=CustodyAction.SHARED,
                      actor=actor, now=now, details=hashes | {"copy_id": copy_id} | recipient)
        audit = hashes | recipient | {"evidence_id": item_id, "copy_id": copy_id,
                                      "consent_record_ids": authorised.record_ids}
        if authorised.basis == "override":
            audit["override"] = {"reason": payload.override_reason, "refused": authorised.refused}
            await protection.record(session, institution_id=institution_id, actor=protection.Actor.of(principal),
                                    action="consent.overridden", subject_kind="complaint", subject_id=complaint_id,
                                    now=now, purpose=payload.purpose.value, details=audit)
        await protection.record(session, institution_id=institution_id, actor=protection.Actor.of(principal),
                                action="evidence.shared", subject_kind="complaint", subject_id=complaint_id,
                                now=now, purpose=payload.purpose.value, details=audit)
    except BaseException:
        await store.delete(copy.stored)
        raise
    return SharedCopyOut(item=to_out(row), original_id=item_id, original_sha256=copy.original_sha256,
                         copy_sha256=copy.sha256, stripped=copy.stripped, removed=list(copy.removed), note=copy.note,
                         recipient_type=payload.recipient_type, recipient=payload.recipient,
                         purpose=payload.purpose.value, basis=authorised.basis)


async def copy_for_grant(session: AsyncSession, store: EvidenceStore, cipher: ComplaintCipher, *,
                         owner: InstitutionId, complaint_id: str, item_id: str, grant_id: str, recipient: Principal,
                         purpose: str, now: datetime) -> Download:
    """The copy of one file a disclosure's recipient downloads (the disclosure already checked, by
    consent): made without metadata once per grant and file, then served verified. Custody: "shared" on
    the original (recipient, grant, both hashes) when the copy is made, "downloaded" on the copy by the
    recipient at every read. The chains stay the owner's; the recipient appears as the actor."""
    original = await _item(session, owner, complaint_id, item_id)
    key = data_key(cipher)
    copy_row: Mapping[str, Any] | None = None
    for candidate in await repository.copies_of(session, owner, item_id):
        first = await repository.custody(session, owner, candidate["id"])
        if first and first[0].details.get("grant_id") == grant_id:
            copy_row = candidate
            break
    actor = custody_actor(recipient)
    if copy_row is None:
        copy = await store.strip_copy(_stored(original), key=key)
        try:
            copy_row = await _add_item(session, key, institution_id=owner, complaint_id=complaint_id,
                                       stored=copy.stored, filename=_filename(original, key),
                                       declared_type=original["declared_type"], derived_from=item_id, now=now)
            copy_id = copy_row["id"]
            hashes = {k: v for k, v in copy.custody_details().items() if k != "copy_storage_key"}
            shared = {"grant_id": grant_id, "recipient_type": "institution",
                      "recipient": str(recipient.institution_id)}
            await _append(session, institution_id=owner, item_id=copy_id, action=CustodyAction.STRIPPED_COPY_MADE,
                          actor=actor, now=now, details=hashes | {"derived_from": item_id} | shared)
            await _append(session, institution_id=owner, item_id=item_id, action=CustodyAction.SHARED, actor=actor,
                          now=now, details=hashes | {"copy_id": copy_id} | shared)
        except BaseException:
            await store.delete(copy.stored)
            raise
    reader = await store.open(_stored(copy_row), key=key)
    try:
        await _append(session, institution_id=owner, item_id=copy_row["id"], action=CustodyAction.DOWNLOADED,
                      actor=actor, now=now, details={"sha256": copy_row["sha256"], "verified": reader.verified,
                                                     "grant_id": grant_id, "purpose": purpose})
    except BaseException:
        await reader.aclose()
        raise
    return Download(reader, download_headers(reader.stored, filename=_filename(copy_row, key) or None))


async def discard_files(session: AsyncSession, store: EvidenceStore, *, institution_id: InstitutionId,
                        complaint_id: str, actor: CustodyActor, now: datetime) -> int:
    """For erasure, after the complaint's key is destroyed (which is what makes every file and every
    backup of it unreadable): deletes the stored objects to free the space, and ends each item's custody
    with "deleted". The rows stay, with their hashes, as the record of what was received. Returns how
    many objects were deleted."""
    rows = await repository.all_items(session, institution_id, complaint_id)
    for row in rows:
        await _append(session, institution_id=institution_id, item_id=row["id"], action=CustodyAction.DELETED,
                      actor=actor, now=now, details={"sha256": row["sha256"], "reason": "complaint_erased"})
    for row in rows:
        await store.delete(_stored(row))
    return len(rows)


# --- transfers ---------------------------------------------------------------------------------------


@dataclass
class TransferredFiles:
    """The files a transfer wrote, so the caller can delete them if its transaction fails."""

    stored: list[StoredEvidence]
    items: dict[str, str]


async def transfer_files(session: AsyncSession, platform: Platform, store: EvidenceStore, *, from_cipher: ComplaintCipher,
                         to_cipher: ComplaintCipher, owner: InstitutionId, from_complaint_id: str, item_ids: list[str],
                         recipient: InstitutionId, to_complaint_id: str, grant_id: str, actor: CustodyActor,
                         now: datetime, made: TransferredFiles) -> None:
    """A transfer of the evidence category: each original the grant lists becomes an item of the recipient's
    complaint, the same bytes (metadata and all: it is the evidence, not a copy for reading) under the new
    complaint's key, verified against the original's SHA-256 on the way. The original's custody says
    "shared" (recipient, grant, the new item); the new item's chain starts with "received", naming where
    it came from; ``comitas.evidence.added`` tells the recipient. ``made`` collects what was stored."""
    old_key, new_key = data_key(from_cipher), data_key(to_cipher)
    for item_id in item_ids:
        original = await _item(session, owner, from_complaint_id, item_id)
        stored = await store.rekey_copy(_stored(original), key=old_key, new_key=new_key)
        made.stored.append(stored)
        new_id = (await _add_item(session, new_key, institution_id=recipient, complaint_id=to_complaint_id,
                                  stored=stored, filename=_filename(original, old_key),
                                  declared_type=original["declared_type"], derived_from=None, now=now))["id"]
        made.items[item_id] = new_id
        origin = {"institution_id": str(owner), "complaint_id": from_complaint_id, "evidence_id": item_id}
        await _append(session, institution_id=recipient, item_id=new_id, action=CustodyAction.RECEIVED, actor=actor,
                      now=now, details=stored.custody_details() | {"transferred_from": origin, "grant_id": grant_id})
        await _append(session, institution_id=owner, item_id=item_id, action=CustodyAction.SHARED, actor=actor,
                      now=now, details={"sha256": stored.sha256, "grant_id": grant_id, "transfer": True,
                                        "recipient_type": "institution", "recipient": str(recipient),
                                        "transferred_to": {"complaint_id": to_complaint_id, "evidence_id": new_id}})
        await add_event(session, tables, EVIDENCE_ADDED.build(
            source=platform.source, subject=to_complaint_id, institution_id=recipient, time=now,
            data=EvidenceAdded(evidence_id=new_id, complaint_id=to_complaint_id, institution_id=recipient,
                               sha256=stored.sha256, size=stored.size, detected_type=stored.detected_type,
                               received_at=now)))


async def discard_stored(store: EvidenceStore, stored: list[StoredEvidence]) -> None:
    """Deletes objects written for a transaction that did not commit (their rows never existed)."""
    for item in stored:
        await store.delete(item)
