"""Consent records and disclosures: load, decide (``domain``), persist, audit, stage events. Never
commits: the request's transaction does, with the audit entries and outbox rows in it.

The public face other features use: :func:`record_consent` and :func:`withdraw` (the public channel
records a victim's withdrawal through them, with ``Actor.public``), :func:`allows` (may this go there?),
and the disclosure functions the referral service reaches over HTTP.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Literal, get_args

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared import randomness
from comitas_shared.app import Platform
from comitas_shared.auth import InstitutionId, Principal
from comitas_shared.errors import InsufficientScope, NotFound, Problem, Unprocessable
from comitas_shared.events.catalogue import CONSENT_WITHDRAWN, ConsentWithdrawn, DisclosureRecipient
from comitas_shared.events.outbox import add_event
from comitas_shared.evidence import EvidenceStore
from comitas_shared.pagination import Page, PageRequest

from ..admissibility import shipped_procedure_codes
from ..complaints import service as complaints
from ..models import tables
from ..protection import service as protection
from ..protection.service import ComplaintCipher, KeyRing
from . import domain, repository
from .domain import MECHANISM_KIND, Category, Purpose  # noqa: F401 - the names other features use
from .models import ConsentRecord, Disclosure
from .schemas import (
    ConsentCheckOut,
    ConsentCreate,
    ConsentOut,
    DisclosureCreate,
    DisclosureOut,
    DisclosurePacket,
    InstitutionKind,
    JustificationOut,
    RecipientOut,
    WithdrawalCreate,
)

OVERRIDE_SCOPE = "complaints:consent_override"
"""Disclosing what consent does not cover needs this scope as well as a stated reason (Primero's
``consent_overridden`` with its CONSENT_OVERRIDE permission). Every override is audited."""


class ConsentNotCovering(Problem):
    status, slug, title = 409, "consent-required", "Consent does not cover this disclosure"


class DisclosureRevoked(Problem):
    status, slug, title = 410, "disclosure-revoked", "Disclosure no longer available"


INSTITUTION_KINDS: frozenset[str] = frozenset(get_args(InstitutionKind))


@cache
def _mechanisms() -> frozenset[str]:
    return frozenset(shipped_procedure_codes())


# --- records -----------------------------------------------------------------------------------------


def to_domain(row: ConsentRecord) -> domain.ConsentRecord:
    return domain.ConsentRecord(
        id=row.id, status=domain.Status(row.status), purposes=frozenset(domain.Purpose(p) for p in row.purposes),
        recipient_type=domain.RecipientType(row.recipient_type), recipient=row.recipient,
        categories=frozenset(domain.Category(c) for c in row.categories), at=row.at,
        justified_purposes=frozenset(domain.Purpose(p) for p in row.justified_purposes))


def _open(cipher: ComplaintCipher | None, sealed: str | None, field: str) -> Any:
    if cipher is None or sealed is None:
        return None
    return cipher.open(sealed, field=field)


def to_out(row: ConsentRecord, cipher: ComplaintCipher | None) -> ConsentOut:
    justification = None
    if row.status == domain.Status.NOT_OBTAINABLE:
        justification = JustificationOut(
            reason=_open(cipher, row.justification_sealed, f"consent/{row.id}/justification"),
            purposes=[domain.Purpose(p) for p in row.justified_purposes], legal_basis=row.legal_basis)
    return ConsentOut(
        id=row.id, complaint_id=row.complaint_id, status=domain.Status(row.status),
        purposes=[domain.Purpose(p) for p in row.purposes],
        recipient=RecipientOut(type=domain.RecipientType(row.recipient_type), value=row.recipient),
        categories=[domain.Category(c) for c in row.categories], at=row.at, channel=row.channel,
        expressed_by=row.expressed_by, justification=justification,
        note=_open(cipher, row.note_sealed, f"consent/{row.id}/note"), withdraws=row.withdraws,
        recorded_at=row.recorded_at, recorded_by=row.recorded_by)


async def record_consent(session: AsyncSession, platform: Platform, keyring: KeyRing, *,
                         institution_id: InstitutionId, complaint_id: str, payload: ConsentCreate,
                         actor: protection.Actor, now: datetime) -> ConsentOut:
    """Records consent given, withdrawn or not obtainable (404 for another institution's complaint,
    410 once it was erased). A withdrawal revokes the disclosures it touches and tells their recipients."""
    [recorded] = await record_consents(session, platform, keyring, institution_id=institution_id,
                                       complaint_id=complaint_id, payloads=[payload], actor=actor, now=now)
    return recorded


async def record_consents(session: AsyncSession, platform: Platform, keyring: KeyRing, *,
                          institution_id: InstitutionId, complaint_id: str, payloads: Sequence[ConsentCreate],
                          actor: protection.Actor, now: datetime) -> list[ConsentOut]:
    """:func:`record_consent` for several records of one complaint, in order, opening its key once."""
    cipher = await complaints.cipher_of(session, keyring, institution_id=institution_id, complaint_id=complaint_id)
    recorded = []
    for payload in payloads:
        justification = payload.justification
        checked = domain.check_new_record(
            status=domain.Status(payload.status), purposes=payload.purposes,
            recipient_type=payload.recipient.type, recipient=payload.recipient.value, categories=payload.categories,
            at=payload.at or now, now=now, has_justification=justification is not None,
            justified_purposes=justification.purposes if justification else (), known_mechanisms=_mechanisms(),
            known_kinds=INSTITUTION_KINDS)
        recorded.append(await _persist(
            session, platform, cipher, institution_id=institution_id, complaint_id=complaint_id, checked=checked,
            channel=payload.channel, expressed_by=payload.expressed_by,
            reason=justification.reason if justification else None,
            legal_basis=justification.legal_basis if justification else None,
            note=payload.note, withdraws=None, actor=actor, now=now))
    return recorded


async def withdraw(session: AsyncSession, platform: Platform, keyring: KeyRing, *, institution_id: InstitutionId,
                   complaint_id: str, consent_id: str, payload: WithdrawalCreate, actor: protection.Actor,
                   now: datetime) -> ConsentOut:
    """Withdraws one record (same purposes, recipient and categories) from ``payload.at``."""
    cipher = await complaints.cipher_of(session, keyring, institution_id=institution_id, complaint_id=complaint_id)
    row = await repository.record(session, institution_id, complaint_id, consent_id)
    if row is None:
        raise NotFound("no such consent record", slug="consent-not-found", title="Consent record not found")
    checked = domain.withdrawal_of(to_domain(row), at=payload.at or now, now=now)
    return await _persist(session, platform, cipher, institution_id=institution_id, complaint_id=complaint_id,
                          checked=checked, channel=payload.channel, expressed_by=payload.expressed_by, reason=None,
                          legal_basis=None, note=payload.note, withdraws=row.id, actor=actor, now=now)


async def _persist(session: AsyncSession, platform: Platform, cipher: ComplaintCipher, *,
                   institution_id: InstitutionId, complaint_id: str, checked: domain.NewRecord, channel: str,
                   expressed_by: str, reason: str | None, legal_basis: str | None, note: str | None,
                   withdraws: str | None, actor: protection.Actor, now: datetime) -> ConsentOut:
    consent_id = str(uuid.uuid4())
    row = ConsentRecord(
        id=consent_id, institution_id=institution_id, complaint_id=complaint_id, status=checked.status.value,
        purposes=sorted(p.value for p in checked.purposes), recipient_type=checked.recipient_type.value,
        recipient=checked.recipient, categories=sorted(c.value for c in checked.categories), at=checked.at,
        channel=channel, expressed_by=expressed_by,
        justified_purposes=sorted(p.value for p in checked.justified_purposes), legal_basis=legal_basis,
        justification_sealed=(cipher.seal(reason, field=f"consent/{consent_id}/justification")
                              if reason is not None else None),
        note_sealed=cipher.seal(note, field=f"consent/{consent_id}/note") if note is not None else None,
        withdraws=withdraws, recorded_at=now, recorded_by=actor.as_json())
    await repository.add(session, row)
    revoked: dict[str, list[str]] = {}
    if checked.status is domain.Status.WITHDRAWN:
        revoked = await _revoke_touched(session, institution_id, complaint_id, checked, now)
        await _announce_withdrawal(session, platform, row, revoked)
    await protection.record(
        session, institution_id=institution_id, actor=actor, action=f"consent.{checked.status.value}",
        subject_kind="complaint", subject_id=complaint_id, now=now,
        details={"consent_id": consent_id, "status": row.status, "purposes": row.purposes,
                 "recipient": {"type": row.recipient_type, "value": row.recipient}, "categories": row.categories,
                 "at": row.at.isoformat(), "channel": channel, "expressed_by": expressed_by,
                 "justified_purposes": row.justified_purposes, "legal_basis": legal_basis, "withdraws": withdraws,
                 "revoked_grants": revoked})
    return to_out(row, cipher)


async def _revoke_touched(session: AsyncSession, institution_id: InstitutionId, complaint_id: str,
                          withdrawal: domain.NewRecord, now: datetime) -> dict[str, list[str]]:
    """Revokes the disclosures in force that the withdrawal touches; their grant ids by recipient."""
    rows = await repository.disclosures_in_force(session, institution_id, complaint_id)
    by_grant = {r.grant_id: r for r in rows}
    touched = domain.affected_by_withdrawal(withdrawal, [
        domain.DisclosureRef(grant_id=r.grant_id, recipient=r.recipient_institution_id,
                             recipient_kind=r.recipient_kind, purpose=domain.Purpose(r.purpose),
                             categories=frozenset(domain.Category(c) for c in r.categories)) for r in rows])
    revoked: dict[str, list[str]] = {}
    for ref in touched:
        row = by_grant[ref.grant_id]
        row.revoked_at, row.revoked_reason = now, "consent_withdrawn"
        revoked.setdefault(ref.recipient, []).append(ref.grant_id)
    await session.flush()
    return revoked


async def _announce_withdrawal(session: AsyncSession, platform: Platform, row: ConsentRecord,
                               revoked: dict[str, list[str]]) -> None:
    """One event per recipient that already holds the data (each names that recipient only), or one
    event naming no one when nobody does."""
    per_recipient: list[tuple[tuple[str, ...], list[DisclosureRecipient]]] = [
        ((row.institution_id, recipient), [DisclosureRecipient(institution_id=recipient, grant_ids=grants)])
        for recipient, grants in sorted(revoked.items())] or [((row.institution_id,), [])]
    for concerns, recipients in per_recipient:
        await add_event(session, tables, CONSENT_WITHDRAWN.build(
            source=platform.source, subject=row.complaint_id, institution_id=row.institution_id,
            time=row.recorded_at, concerns=concerns,
            data=ConsentWithdrawn(
                consent_id=row.id, complaint_id=row.complaint_id, institution_id=row.institution_id,
                withdrawn_at=row.at, recorded_at=row.recorded_at, purposes=list(row.purposes),
                categories=list(row.categories), recipient_type=row.recipient_type,  # type: ignore[arg-type]
                recipient=row.recipient, recipients=recipients)))


async def list_consents(session: AsyncSession, keyring: KeyRing, *, institution_id: InstitutionId,
                        complaint_id: str, page: PageRequest) -> Page[ConsentOut]:
    """In the order recorded. Sealed texts are opened; once the complaint was erased they are null."""
    await complaints.get_complaint(session, institution_id=institution_id, complaint_id=complaint_id)
    try:
        cipher: ComplaintCipher | None = await protection.cipher_for(
            session, keyring, institution_id=institution_id, complaint_id=complaint_id)
    except protection.ComplaintErased:
        cipher = None
    rows = await repository.records_page(session, institution_id, complaint_id, page)
    return repository.IN_RECORDED_ORDER.cut(rows, page, lambda row: to_out(row, cipher))


async def allows(session: AsyncSession, *, institution_id: InstitutionId, complaint_id: str, recipient: str,
                 recipient_kind: str, purpose: domain.Purpose, category: domain.Category,
                 at: datetime) -> domain.Decision:
    """:func:`domain.consent_allows` over the complaint's records (404 for another institution's)."""
    await complaints.get_complaint(session, institution_id=institution_id, complaint_id=complaint_id)
    rows = await repository.records(session, institution_id, complaint_id)
    return domain.consent_allows([to_domain(r) for r in rows], recipient=recipient, recipient_kind=recipient_kind,
                                 purpose=purpose, category=category, at=at)


async def check(session: AsyncSession, *, institution_id: InstitutionId, complaint_id: str, recipient: str,
                recipient_kind: str, purpose: domain.Purpose, category: domain.Category,
                at: datetime) -> ConsentCheckOut:
    decision = await allows(session, institution_id=institution_id, complaint_id=complaint_id, recipient=recipient,
                            recipient_kind=recipient_kind, purpose=purpose, category=category, at=at)
    return ConsentCheckOut(complaint_id=complaint_id, recipient=recipient, recipient_kind=recipient_kind,
                           purpose=purpose, category=category, at=at, allowed=decision.allowed,
                           reason=decision.reason, explanation=decision.explanation,
                           record_id=decision.record_id, basis=decision.basis)


# --- disclosures -------------------------------------------------------------------------------------


def disclosure_out(row: Disclosure) -> DisclosureOut:
    return DisclosureOut(
        grant_id=row.grant_id, complaint_id=row.complaint_id, institution_id=row.institution_id,
        recipient_institution_id=row.recipient_institution_id, recipient_kind=row.recipient_kind,
        purpose=domain.Purpose(row.purpose), categories=[domain.Category(c) for c in row.categories],
        basis=row.basis, consent_record_ids=row.consent_record_ids, salt=row.salt,  # type: ignore[arg-type]
        digests=row.digests, created_at=row.created_at, revoked_at=row.revoked_at,
        revoked_reason=row.revoked_reason)


def category_digest(salt: str, value: Any) -> str:
    """SHA-256 of the salt and the canonical JSON of one category's data: what referral keeps instead of
    the data (salted, so a digest cannot confirm a guessed name)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(bytes.fromhex(salt) + text.encode()).hexdigest()


@dataclass(frozen=True)
class Authorisation:
    """Why data may leave: consent covering every category, or an override (with what it overrode)."""

    basis: Literal["consent", "override"]
    record_ids: list[str]
    refused: dict[str, str]


async def authorise(session: AsyncSession, *, principal: Principal, complaint_id: str, recipient: str,
                    recipient_kind: str, purpose: domain.Purpose, categories: Sequence[domain.Category],
                    override_reason: str | None, now: datetime) -> Authorisation:
    """May these categories of the complaint leave for ``recipient`` and ``purpose`` now? Consent must
    cover each of them; otherwise 409 with the reason per category, unless the caller holds
    :data:`OVERRIDE_SCOPE` and states a reason (the caller audits the override with what it shares).
    Used by disclosures and by evidence's shared copies."""
    institution_id = principal.institution_id
    rows = await repository.records(session, institution_id, complaint_id)
    covered = domain.coverage([to_domain(r) for r in rows], recipient=recipient, recipient_kind=recipient_kind,
                              purpose=purpose, categories=categories, at=now)
    if covered.allowed:
        return Authorisation("consent", covered.record_ids, {})
    refused = {c.value: covered.decisions[c].reason.value for c in covered.refused}
    if override_reason is None:
        raise ConsentNotCovering(
            "the victim's consent does not cover " + ", ".join(refused) + f" for this recipient and purpose "
            f"{purpose.value}", refused={c.value: {"reason": covered.decisions[c].reason.value,
                                                     "explanation": covered.decisions[c].explanation}
                                         for c in covered.refused})
    if OVERRIDE_SCOPE not in principal.scopes:
        raise InsufficientScope(f"sharing without consent needs the scope {OVERRIDE_SCOPE}",
                                error="insufficient_scope", required_scopes=[OVERRIDE_SCOPE])
    return Authorisation("override", covered.record_ids, refused)


async def _snapshot(session: AsyncSession, keyring: KeyRing, cipher: ComplaintCipher, *, principal: Principal,
                    complaint_id: str, categories: Sequence[domain.Category], reading_for: str,
                    now: datetime) -> dict[str, Any]:
    """The complaint's data in each asked category and nothing of any other, and how it must be handled.
    Opening the complaint is itself a read of identifying data: complaints writes its ``pii.read`` entry
    (purpose ``reading_for``) beside the disclosure's manifest."""
    # Imported here: evidence uses this feature (consent decides what may be shared), so a module-level
    # import both ways would be a cycle.
    from ..evidence import service as evidence

    view = (await complaints.read_complaint(session, keyring, principal=principal, complaint_id=complaint_id,
                                            purpose=reading_for, now=now)).model_dump(mode="json")
    files: list[dict[str, Any]] = []
    if domain.Category.EVIDENCE in categories:
        files = [item.model_dump(mode="json") for item in await evidence.manifest(
            session, cipher, institution_id=principal.institution_id, complaint_id=complaint_id)]
    return {"categories": domain.categorise(view, categories, files), "handling": domain.handling(view)}


async def disclose(session: AsyncSession, platform: Platform, keyring: KeyRing, *, principal: Principal,
                   complaint_id: str, payload: DisclosureCreate, idempotency_key: str | None,
                   now: datetime) -> tuple[int, dict[str, Any]]:
    """Freezes what consent allows ``payload.recipient_institution_id`` to read for ``payload.purpose``:
    exactly the categories asked, each covered by consent (or an audited override), sealed under the
    complaint's key, with its manifest written to the audit log. The HTTP status and body are returned
    so a retry with the same Idempotency-Key (referral sends its referral id) gets both again."""
    institution_id = principal.institution_id
    async with platform.idempotency.guard(session, institution_id=institution_id, operation="disclosures.create",
                                          key=idempotency_key,
                                          body={"complaint_id": complaint_id, **payload.model_dump(mode="json")},
                                          now=now) as call:
        if call.is_replay:
            return call.replay_status or 201, call.replay_body
        cipher = await complaints.cipher_of(session, keyring, institution_id=institution_id,
                                            complaint_id=complaint_id)
        if payload.recipient_institution_id == institution_id:
            raise Unprocessable("a disclosure goes to another institution", slug="disclosure-to-self",
                                errors=[{"detail": "the recipient is the caller's own institution",
                                         "pointer": "/recipient_institution_id"}])
        categories = sorted(set(payload.categories))
        authorised = await authorise(session, principal=principal, complaint_id=complaint_id,
                                     recipient=payload.recipient_institution_id, recipient_kind=payload.recipient_kind,
                                     purpose=payload.purpose, categories=categories,
                                     override_reason=payload.override_reason, now=now)
        basis = authorised.basis
        grant_id = str(uuid.uuid4())
        snapshot = await _snapshot(session, keyring, cipher, principal=principal, complaint_id=complaint_id,
                                   categories=categories, now=now,
                                   reading_for=f"disclosure {grant_id} to {payload.recipient_institution_id} for "
                                               f"{payload.purpose.value}")
        data = snapshot["categories"]
        salt = randomness.token_bytes(16).hex()
        digests = {category: category_digest(salt, value) for category, value in data.items()}
        row = Disclosure(
            grant_id=grant_id, institution_id=institution_id, complaint_id=complaint_id,
            recipient_institution_id=payload.recipient_institution_id, recipient_kind=payload.recipient_kind,
            purpose=payload.purpose.value, categories=[c.value for c in categories], basis=basis,
            consent_record_ids=authorised.record_ids,
            override_reason=payload.override_reason if basis == "override" else None,
            snapshot_sealed=cipher.seal(snapshot, field=f"disclosure/{grant_id}"), salt=salt, digests=digests,
            created_at=now, created_by=protection.Actor.of(principal).as_json())
        await repository.add(session, row)
        actor = protection.Actor.of(principal)
        manifest = {"grant_id": grant_id, "recipient_institution_id": row.recipient_institution_id,
                    "recipient_kind": row.recipient_kind, "purpose": row.purpose, "categories": row.categories,
                    "basis": basis, "consent_record_ids": row.consent_record_ids, "salt": salt, "digests": digests}
        if basis == "override":
            manifest["override"] = {"reason": payload.override_reason, "refused": authorised.refused}
            await protection.record(session, institution_id=institution_id, actor=actor, action="consent.overridden",
                                    subject_kind="complaint", subject_id=complaint_id, now=now,
                                    purpose=row.purpose, details=manifest)
        await protection.record(session, institution_id=institution_id, actor=actor, action="disclosure.created",
                                subject_kind="complaint", subject_id=complaint_id, now=now, purpose=row.purpose,
                                details=manifest)
        body = disclosure_out(row).model_dump(mode="json")
        platform.idempotency.remember(call, 201, body)
        return 201, body


async def list_disclosures(session: AsyncSession, *, institution_id: InstitutionId, complaint_id: str,
                           page: PageRequest) -> Page[DisclosureOut]:
    await complaints.get_complaint(session, institution_id=institution_id, complaint_id=complaint_id)
    rows = await repository.disclosures_page(session, institution_id, complaint_id, page)
    return repository.DISCLOSURES_NEWEST_FIRST.cut(rows, page, disclosure_out)


async def revoke_disclosure(session: AsyncSession, *, principal: Principal, complaint_id: str,
                            grant_id: str, now: datetime) -> DisclosureOut:
    """The sender takes a grant back (a referral withdrawn, a disclosure made in error)."""
    row = await repository.disclosure_of_sender(session, principal.institution_id, complaint_id, grant_id)
    if row is None:
        raise NotFound("no such disclosure", slug="disclosure-not-found", title="Disclosure not found")
    if row.revoked_at is None:
        row.revoked_at, row.revoked_reason = now, "revoked_by_sender"
        await session.flush()
        await protection.record(session, institution_id=principal.institution_id,
                                actor=protection.Actor.of(principal), action="disclosure.revoked",
                                subject_kind="complaint", subject_id=complaint_id, now=now,
                                details={"grant_id": grant_id, "recipient_institution_id":
                                         row.recipient_institution_id})
    return disclosure_out(row)


async def revoke_all(session: AsyncSession, *, institution_id: InstitutionId, complaint_id: str, reason: str,
                     now: datetime) -> dict[str, list[str]]:
    """Revokes every disclosure of the complaint still in force (an erasure: each recipient's next read
    fails, and it must be told); their grant ids by recipient."""
    revoked: dict[str, list[str]] = {}
    for row in await repository.disclosures_in_force(session, institution_id, complaint_id):
        row.revoked_at, row.revoked_reason = now, reason
        revoked.setdefault(row.recipient_institution_id, []).append(row.grant_id)
    await session.flush()
    return revoked


async def _open_grant(session: AsyncSession, keyring: KeyRing, *, principal: Principal, grant_id: str,
                      now: datetime) -> tuple[Disclosure, ComplaintCipher, dict[str, Any]]:
    """The disclosure ``grant_id`` as its recipient opens it, with the complaint's cipher and the frozen
    snapshot; 404 to anyone but the recipient, 410 once revoked, withdrawn or erased."""
    row = await repository.disclosure_for_recipient(session, principal.institution_id, grant_id)
    if row is None:
        raise NotFound("no such disclosure", slug="disclosure-not-found", title="Disclosure not found")
    owner = InstitutionId(row.institution_id)
    if row.revoked_at is not None:
        if row.revoked_reason == "complaint_erased":
            raise protection.ComplaintErased("the complaint was erased: what it disclosed can be read by no one")
        raise DisclosureRevoked(f"this disclosure was revoked ({row.revoked_reason})", reason=row.revoked_reason)
    cipher = await protection.cipher_for(session, keyring, institution_id=owner, complaint_id=row.complaint_id)
    if row.basis == "consent":
        records = [to_domain(r) for r in await repository.records(session, owner, row.complaint_id)]
        covered = domain.coverage(records, recipient=row.recipient_institution_id, recipient_kind=row.recipient_kind,
                                  purpose=domain.Purpose(row.purpose),
                                  categories=[domain.Category(c) for c in row.categories], at=now)
        if not covered.allowed:
            raise DisclosureRevoked("the victim's consent for this disclosure no longer holds",
                                    reason="consent_withdrawn", refused=[c.value for c in covered.refused])
    return row, cipher, cipher.open(row.snapshot_sealed, field=f"disclosure/{grant_id}")


async def read_grant(session: AsyncSession, keyring: KeyRing, *, principal: Principal,
                     grant_id: str, purpose: str, now: datetime) -> DisclosurePacket:
    """The recipient reads a disclosure by grant id (404 to anyone else, the sender included). Refused
    at once (410) when the sender revoked it, when consent it rests on was withdrawn, or when the
    complaint was erased (its key is gone). Every read is written to the OWNING institution's audit log,
    naming the reader, its institution and its stated purpose."""
    row, _cipher, snapshot = await _open_grant(session, keyring, principal=principal, grant_id=grant_id, now=now)
    await protection.record(session, institution_id=InstitutionId(row.institution_id),
                            actor=protection.Actor.of(principal), action="disclosure.read", subject_kind="complaint",
                            subject_id=row.complaint_id, now=now, purpose=purpose,
                            details={"grant_id": grant_id, "reader_institution_id": principal.institution_id,
                                     "categories": row.categories})
    return DisclosurePacket(grant_id=grant_id, complaint_id=row.complaint_id, from_institution_id=row.institution_id,
                            purpose=domain.Purpose(row.purpose), categories=[domain.Category(c) for c in row.categories],
                            disclosed_at=row.created_at, data=snapshot["categories"],
                            handling=snapshot["handling"], digests=row.digests, salt=row.salt)


async def read_grant_evidence(session: AsyncSession, store: EvidenceStore, keyring: KeyRing, *,
                              principal: Principal, grant_id: str, evidence_id: str, purpose: str,
                              now: datetime) -> Any:
    """One file of a disclosure of the evidence category, as its recipient downloads it: a copy without
    metadata, made once per grant and file (the original's custody says "shared", naming the recipient,
    the grant and both hashes), verified before the first byte, "downloaded" in the copy's custody by the
    recipient, and audited in the owner's log. 404 for a file the disclosure does not list."""
    from ..evidence import service as evidence

    row, cipher, snapshot = await _open_grant(session, keyring, principal=principal, grant_id=grant_id, now=now)
    listed = (snapshot["categories"].get(domain.Category.EVIDENCE.value) or {}).get("items", [])
    if evidence_id not in {item["id"] for item in listed}:
        raise NotFound("this disclosure lists no such file", slug="evidence-not-found", title="Evidence not found")
    owner = InstitutionId(row.institution_id)
    found = await evidence.copy_for_grant(
        session, store, cipher, owner=owner, complaint_id=row.complaint_id, item_id=evidence_id, grant_id=grant_id,
        recipient=principal, purpose=purpose, now=now)
    await protection.record(session, institution_id=owner, actor=protection.Actor.of(principal),
                            action="disclosure.evidence_read", subject_kind="complaint", subject_id=row.complaint_id,
                            now=now, purpose=purpose,
                            details={"grant_id": grant_id, "reader_institution_id": principal.institution_id,
                                     "evidence_id": evidence_id, "copy_sha256": found.reader.stored.sha256})
    return found


# --- transfers ---------------------------------------------------------------------------------------


class TransferNotConsented(Problem):
    status, slug, title = 409, "transfer-consent-required", "The victim did not consent to this transfer"


@dataclass(frozen=True)
class TransferGrant:
    """A grant a recipient may take the case over with: what it discloses, frozen, and whose it is."""

    grant_id: str
    owner: InstitutionId
    complaint_id: str
    categories: list[str]
    consent_record_ids: list[str]
    data: dict[str, Any]
    handling: dict[str, Any]


async def grant_for_transfer(session: AsyncSession, keyring: KeyRing, *, principal: Principal, grant_id: str,
                             now: datetime) -> TransferGrant:
    """The grant ``grant_id`` as its recipient (the caller) opens it to take the case over: 404 to anyone
    else, 410 once revoked, no longer covered by consent, or erased (as any read), and 409 unless it
    rests on the victim's consent to the transfer itself: a grant for another purpose (consent to share
    categories for an investigation, say) or made by override does not move a case."""
    row, _cipher, snapshot = await _open_grant(session, keyring, principal=principal, grant_id=grant_id, now=now)
    if row.purpose != domain.Purpose.TRANSFER.value:
        raise TransferNotConsented(
            f"this grant was made for the purpose {row.purpose}: taking a case over needs the victim's consent to "
            "the transfer itself", reason="not_a_transfer_grant", purpose=row.purpose)
    if row.basis != "consent":
        raise TransferNotConsented("this grant was made by override, without the victim's consent: a case is "
                                   "transferred only with it", reason="override_not_consent", purpose=row.purpose)
    return TransferGrant(grant_id=row.grant_id, owner=InstitutionId(row.institution_id), complaint_id=row.complaint_id,
                         categories=list(row.categories), consent_record_ids=list(row.consent_record_ids),
                         data=dict(snapshot["categories"]), handling=dict(snapshot["handling"]))


async def copy_records(session: AsyncSession, keyring: KeyRing, *, owner: InstitutionId, from_complaint_id: str,
                       recipient: InstitutionId, to_complaint_id: str) -> dict[str, str]:
    """The victim's choices follow the case: every consent record of the sender's complaint is written
    again on the recipient's, in the same order, with the same statuses, purposes, categories and times,
    its free texts re-sealed under the new complaint's key. A record that named the sender itself (the
    institution that held the case) now names the recipient, which holds it. The sender's records stay
    as they were (records are never edited). Returns the new id of each record."""
    old_cipher = await protection.cipher_for(session, keyring, institution_id=owner, complaint_id=from_complaint_id)
    new_cipher = await protection.cipher_for(session, keyring, institution_id=recipient, complaint_id=to_complaint_id)
    rows = await repository.records(session, owner, from_complaint_id)
    ids = {row.id: str(uuid.uuid4()) for row in rows}
    for row in rows:
        new_id = ids[row.id]

        def reseal(sealed: str | None, name: str, *, old_id: str = row.id, new_id: str = new_id) -> str | None:
            if sealed is None:
                return None
            value = old_cipher.open(sealed, field=f"consent/{old_id}/{name}")
            return new_cipher.seal(value, field=f"consent/{new_id}/{name}")

        names_sender = row.recipient_type == domain.RecipientType.INSTITUTION.value and row.recipient == owner
        await repository.add(session, ConsentRecord(
            id=new_id, institution_id=recipient, complaint_id=to_complaint_id, status=row.status,
            purposes=list(row.purposes), recipient_type=row.recipient_type,
            recipient=str(recipient) if names_sender else row.recipient, categories=list(row.categories), at=row.at,
            channel=row.channel, expressed_by=row.expressed_by, justified_purposes=list(row.justified_purposes),
            legal_basis=row.legal_basis, justification_sealed=reseal(row.justification_sealed, "justification"),
            note_sealed=reseal(row.note_sealed, "note"), withdraws=ids.get(row.withdraws) if row.withdraws else None,
            recorded_at=row.recorded_at, recorded_by=row.recorded_by))
    return ids
