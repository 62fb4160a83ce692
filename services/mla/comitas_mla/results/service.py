"""Results returned with files: received into the shared evidence store (hashed, type-checked, sealed
under the request's own key), recorded with a hash-chained custody trail, and served only after the
whole file has been checked against the SHA-256 recorded when it arrived.

Receiving holds no transaction while the body streams (as intake's evidence does): one short transaction
checks the request (404 for a third institution, 409 if no result may be returned now) before a byte is
read, the file then streams through the store, and a second transaction records the item, its first
custody entry, the request's transition and ``comitas.mla.result_returned``. If that fails, the stored
object is deleted.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId, Principal
from comitas_shared.errors import Conflict, NotFound
from comitas_shared.evidence import (
    Actor,
    CustodyAction,
    CustodyEntry,
    DataKey,
    EvidenceReader,
    EvidenceStore,
    EvidenceTooLarge,
    StoredEvidence,
    custody_entry,
    download_headers,
    open_filename,
    seal_filename,
    verify_custody,
)
from comitas_shared.pagination import Page, PageRequest

from ..requests import service as requests
from . import repository
from .models import RequestResult
from .schemas import CustodyEntryOut, CustodyOut, ResultOut

KEY_VERSION = 1
CUSTODY_RETRIES = 5


def data_key(master_key: str, request_id: str) -> DataKey:
    """The request's own key, derived from mla's master key: every file of one request under one key,
    no two requests under the same one. Rotating the master key is a new version."""
    material = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"comitas-mla-evidence",
                    info=f"mla-request/{request_id}/v{KEY_VERSION}".encode()).derive(master_key.encode())
    return DataKey(key_id=f"mla-request-{request_id}"[:64], version=KEY_VERSION, material=material)


def _master(ctx: requests.Ctx) -> str:
    return ctx.settings.master_key.get_secret_value()


def _stored(row: Mapping[str, Any]) -> StoredEvidence:
    return StoredEvidence(storage_key=row["storage_key"], size=row["size"], sha256=row["sha256"],
                          detected_type=row["detected_type"], declared_type=row["declared_type"],
                          key_id=row["key_id"], key_version=row["key_version"])


async def _append(session: AsyncSession, *, item_id: str, institution_id: str, action: CustodyAction,
                  actor: Actor, now: datetime, details: dict[str, Any]) -> CustodyEntry:
    """The next custody entry of an item, in the caller's transaction. Two writers on one item collide on
    (item, seq); the loser builds its entry again on the new head, so the chain never forks."""
    for _ in range(CUSTODY_RETRIES):
        previous = await repository.latest_custody(session, item_id)
        entry = custody_entry(previous, item_id=item_id, institution_id=institution_id, action=action, actor=actor,
                              at=now, details=details)
        if await repository.try_add_custody(session, entry):
            return entry
    raise Conflict("the custody chain of this result is busy; try again", slug="custody-busy")


def custody_out(entries: list[CustodyEntry]) -> CustodyOut:
    check = verify_custody(entries)
    return CustodyOut(intact=check.ok, problem=check.reason or None, entries=[
        CustodyEntryOut(seq=e.seq, action=e.action.value, actor=e.actor.as_json(), at=e.at, details=e.details,
                        prev_hash=e.prev_hash, entry_hash=e.entry_hash) for e in entries])


def _out(ctx: requests.Ctx, found: RequestResult, row: Mapping[str, Any], custody: list[CustodyEntry]) -> ResultOut:
    key = data_key(_master(ctx), found.request_id)
    name = open_filename(key, row["filename_sealed"], binding=row["id"]) or None
    return ResultOut(id=found.id, request_id=found.request_id, partial=found.partial, description=found.description,
                     filename=name, size=row["size"], sha256=row["sha256"], detected_type=row["detected_type"],
                     declared_type=row["declared_type"], created_at=found.created_at, custody=custody_out(custody))


async def result_out(session: AsyncSession, ctx: requests.Ctx, found: RequestResult) -> ResultOut:
    return _out(ctx, found, await repository.item(session, found), await repository.custody(session, found))


async def _found(session: AsyncSession, viewer: InstitutionId, request_id: str, result_id: str) -> RequestResult:
    found = await repository.result(session, viewer, request_id, result_id)
    if found is None:
        # A result the viewer sees belongs to a request it sees (both rows name the same two authorities):
        # the request is read only to tell "no such request" from "no such result".
        await requests.load(session, viewer, request_id)
        raise NotFound("no such result", slug="mla-result-not-found", title="Result not found")
    return found


# --- receiving ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    stream: AsyncIterable[bytes]
    filename: str | None
    declared_type: str | None
    content_length: int | None
    partial: bool
    description: str | None


async def receive(ctx: requests.Ctx, store: EvidenceStore, *, principal: Principal, request_id: str, upload: Upload,
                  idempotency_key: str | None, now: datetime) -> tuple[int, dict[str, Any]]:
    """Streams one returned file into the store, then records it. Returns the HTTP status and body; the
    Idempotency-Key covers the file's SHA-256, size and name, so a retry is answered as the first was
    and its bytes are not kept twice."""
    database = ctx.platform.database
    async with database.transaction() as session:
        await requests.result_allowed(session, principal=principal, request_id=request_id)
    if upload.content_length is not None and upload.content_length > store.max_bytes:
        raise EvidenceTooLarge(store.max_bytes)
    key = data_key(_master(ctx), request_id)
    stored = await store.receive(upload.stream, key=key, filename=upload.filename, declared_type=upload.declared_type)
    try:
        async with database.transaction() as session:
            status, body, replayed = await _record(session, ctx, key, principal=principal, request_id=request_id,
                                                   stored=stored, upload=upload, idempotency_key=idempotency_key,
                                                   now=now)
    except BaseException:
        await store.delete(stored)
        raise
    if replayed:
        await store.delete(stored)
    return status, body


async def _record(session: AsyncSession, ctx: requests.Ctx, key: DataKey, *, principal: Principal, request_id: str,
                  stored: StoredEvidence, upload: Upload, idempotency_key: str | None,
                  now: datetime) -> tuple[int, dict[str, Any], bool]:
    fingerprint = {"request_id": request_id, "sha256": stored.sha256, "size": stored.size,
                   "filename": stored.filename, "declared_type": stored.declared_type, "partial": upload.partial,
                   "description": upload.description}
    async with ctx.platform.idempotency.guard(session, institution_id=principal.institution_id,
                                              operation="mla.results.receive", key=idempotency_key,
                                              body=fingerprint, now=now) as call:
        if call.is_replay:
            return call.replay_status or 201, call.replay_body, True
        result_id, item_id = str(uuid.uuid4()), str(uuid.uuid4())
        request = await requests.return_result(session, ctx, principal=principal, request_id=request_id,
                                               result_id=result_id, partial=upload.partial, sha256=stored.sha256,
                                               now=now)
        owner = request.requesting_institution_id
        await repository.add_item(session, {
            "id": item_id, "institution_id": owner, "owner_id": request_id,
            "filename_sealed": seal_filename(key, stored.filename or "", binding=item_id),
            "declared_type": (stored.declared_type or "")[:255] or None, "detected_type": stored.detected_type,
            "size": stored.size, "sha256": stored.sha256, "storage_key": stored.storage_key,
            "key_id": key.key_id, "key_version": key.version, "derived_from": None, "created_at": now})
        await _append(session, item_id=item_id, institution_id=owner, action=CustodyAction.RECEIVED,
                      actor=Actor.from_principal(principal), now=now,
                      details=stored.custody_details() | {"declared_type": stored.declared_type,
                                                          "result_id": result_id, "request_id": request_id})
        found = RequestResult(id=result_id, request_id=request_id, requesting_institution_id=owner,
                              requested_institution_id=request.requested_institution_id, evidence_item_id=item_id,
                              partial=upload.partial, description=upload.description,
                              returned_by=principal.institution_id, created_at=now)
        await repository.add_result(session, found)
        body = (await result_out(session, ctx, found)).model_dump(mode="json")
        ctx.platform.idempotency.remember(call, 201, body)
        return 201, body, False


# --- reading -------------------------------------------------------------------------------------------------


async def list_results(session: AsyncSession, ctx: requests.Ctx, *, viewer: InstitutionId, request_id: str,
                       page: PageRequest) -> Page[ResultOut]:
    await requests.load(session, viewer, request_id)
    rows = await repository.results_page(session, viewer, request_id, page)
    shown = rows[: page.limit]
    items = await repository.items(session, request_id, [r.evidence_item_id for r in shown])
    custody = await repository.custodies(session, [r.evidence_item_id for r in shown])
    return repository.NEWEST_FIRST.cut(rows, page, lambda r: _out(ctx, r, items[r.evidence_item_id],
                                                                  custody.get(r.evidence_item_id, [])))


async def get_result(session: AsyncSession, ctx: requests.Ctx, *, viewer: InstitutionId, request_id: str,
                     result_id: str) -> ResultOut:
    return await result_out(session, ctx, await _found(session, viewer, request_id, result_id))


@dataclass
class Download:
    reader: EvidenceReader
    headers: dict[str, str]


async def download(session: AsyncSession, ctx: requests.Ctx, store: EvidenceStore, *, principal: Principal,
                   request_id: str, result_id: str, now: datetime) -> Download:
    """The file, verified whole against its recorded SHA-256 before the first byte is served (a mismatch
    is a 500 integrity problem and nothing is sent), and "downloaded" in its custody trail (committed with
    the request, before the body streams)."""
    found = await _found(session, principal.institution_id, request_id, result_id)
    row = await repository.item(session, found)
    key = data_key(_master(ctx), request_id)
    reader = await store.open(_stored(row), key=key)
    try:
        await _append(session, item_id=row["id"], institution_id=row["institution_id"], action=CustodyAction.DOWNLOADED,
                      actor=Actor.from_principal(principal), now=now,
                      details={"sha256": row["sha256"], "verified": reader.verified, "result_id": result_id})
    except BaseException:
        await reader.aclose()
        raise
    name = open_filename(key, row["filename_sealed"], binding=row["id"]) or None
    return Download(reader, download_headers(reader.stored, filename=name))
