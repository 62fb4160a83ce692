"""A transfer: the recipient takes a case over, in one transaction. Load, decide, persist, audit, stage
events; never commits (the request's transaction does, with the audit entries and outbox rows in it).

Each step goes through the feature that owns it: the grant through ``consent`` (is it the caller's, in
force, resting on the victim's consent to the transfer itself?), both complaints through ``complaints``
(the new one sealed under a key of its own; the old one ``transferred``), the consent records through
``consent`` (copied onto the new complaint), the filing deadlines through ``assessments`` (withdrawn for
the sender, requested for the recipient), both audit logs through ``protection``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared import randomness
from comitas_shared.app import Platform
from comitas_shared.auth import Principal
from comitas_shared.errors import Conflict, Unprocessable
from comitas_shared.events.outbox import add_event
from comitas_shared.evidence import EvidenceStore
from comitas_shared.idempotency import IdempotentCall

from ..assessments import service as assessments
from ..complaints import service as complaints
from ..complaints.schemas import ComplaintCreate
from ..consent import service as consent
from ..evidence import service as evidence
from ..models import tables
from ..protection import service as protection
from ..protection.service import KeyRing
from . import domain, repository
from .models import Transfer
from .schemas import HandedDeadline, TransferCreate, TransferOut, TransferParty


class AlreadyTransferred(Conflict):
    slug, title = "grant-already-transferred", "This grant already moved the case"


def _new_id() -> str:
    return str(uuid.UUID(bytes=randomness.token_bytes(16), version=4))


def to_out(row: Transfer, reference: str) -> TransferOut:
    return TransferOut(
        id=row.id, complaint_id=row.complaint_id, reference=reference,
        transferred_from=TransferParty(institution_id=row.from_institution_id, complaint_id=row.from_complaint_id),
        referral_id=row.referral_id, grant_id=row.grant_id, categories=list(row.categories),
        deadlines=[HandedDeadline.model_validate(d) for d in row.deadlines], transferred_at=row.created_at)


def _complaint_of(fields: dict[str, Any]) -> ComplaintCreate:
    try:
        return ComplaintCreate.model_validate(fields)
    except ValidationError as exc:
        # The disclosure was frozen from a valid complaint; what no longer validates (a vocabulary code
        # retired since, say) is said field by field, and nothing is written.
        raise Unprocessable("the disclosed data no longer makes a valid complaint: nothing was transferred",
                            slug="validation-error", title="Validation error",
                            errors=[{"pointer": "/" + "/".join(str(p) for p in e["loc"]), "detail": e["msg"]}
                                    for e in exc.errors()]) from None


async def transfer(session: AsyncSession, platform: Platform, keyring: KeyRing, store: EvidenceStore, *,
                   principal: Principal, payload: TransferCreate, idempotency_key: str | None,
                   now: datetime) -> tuple[int, dict[str, Any]]:
    """The caller (the recipient, through referral with its exchanged token) takes the case over with the
    sender's grant. The HTTP status and body are returned so a retry with the same Idempotency-Key (the
    referral id) answers the same. 404: not a grant to the caller; 410: revoked, consent withdrawn or
    erased; 409: not a grant for the transfer resting on consent, the case not open, or already moved."""
    recipient = principal.institution_id
    async with platform.idempotency.guard(session, institution_id=recipient, operation="transfers.create",
                                          key=idempotency_key, body=payload.model_dump(mode="json"),
                                          now=now) as call:
        if call.is_replay:
            return call.replay_status or 201, call.replay_body
        grant = await consent.grant_for_transfer(session, keyring, principal=principal, grant_id=payload.grant_id,
                                                 now=now)
        domain.check_parties(sender=grant.owner, recipient=recipient)
        done = await repository.by_grant(session, recipient, grant.grant_id)
        if done is not None:
            raise AlreadyTransferred("this grant already moved the case to your institution",
                                     complaint_id=done.complaint_id, referral_id=done.referral_id)
        await complaints.check_transferable(session, owner=grant.owner, complaint_id=grant.complaint_id)
        created = _complaint_of(domain.complaint_from_disclosure(grant.data, grant.handling))
        new = await complaints.receive_transfer(
            session, platform, keyring, principal=principal, payload=created, now=now,
            transferred_from=domain.link(institution_id=grant.owner, complaint_id=grant.complaint_id, at=now))
        await complaints.mark_transferred(session, owner=grant.owner, complaint_id=grant.complaint_id, now=now,
                                          transferred_to=domain.link(institution_id=recipient, complaint_id=new.id,
                                                                     at=now))
        copied = await consent.copy_records(session, keyring, owner=grant.owner,
                                            from_complaint_id=grant.complaint_id, recipient=recipient,
                                            to_complaint_id=new.id)
        files = evidence.TransferredFiles(stored=[], items={})
        try:
            await evidence.transfer_files(
                session, platform, store, owner=grant.owner, from_complaint_id=grant.complaint_id,
                from_cipher=await protection.cipher_for(session, keyring, institution_id=grant.owner,
                                                        complaint_id=grant.complaint_id),
                to_cipher=await protection.cipher_for(session, keyring, institution_id=recipient,
                                                      complaint_id=new.id),
                item_ids=domain.evidence_ids(grant.data), recipient=recipient, to_complaint_id=new.id,
                grant_id=grant.grant_id, actor=evidence.custody_actor(principal), now=now, made=files)
            return await _finish(session, platform, call, principal=principal, grant=grant, payload=payload,
                                 new=new, copied=copied, files=files.items, now=now)
        except BaseException:
            # Nothing of this transfer commits: the files it wrote go too (their key would never exist).
            await evidence.discard_stored(store, files.stored)
            raise


async def _finish(session: AsyncSession, platform: Platform, call: IdempotentCall, *, principal: Principal,
                  grant: consent.TransferGrant, payload: TransferCreate, new: Any, copied: dict[str, str],
                  files: dict[str, str], now: datetime) -> tuple[int, dict[str, Any]]:
    """The rest of a transfer, once the new complaint, its consent records and its files exist: the
    deadlines, the record, both audit logs and the event."""
    recipient = principal.institution_id
    handed = await assessments.hand_over_deadlines(
        session, platform, owner=grant.owner, from_complaint_id=grant.complaint_id, recipient=recipient,
        to_complaint_id=new.id, to_reference=new.reference, now=now)
    await complaints.note_handed_deadlines(session, new, [d.mechanism for d in handed])
    actor = protection.Actor.of(principal)
    row = Transfer(
        id=_new_id(), institution_id=recipient, complaint_id=new.id, from_institution_id=grant.owner,
        from_complaint_id=grant.complaint_id, grant_id=grant.grant_id, referral_id=payload.referral_id,
        categories=sorted(grant.categories), consent_records=copied,
        deadlines=[{"mechanism": d.mechanism, "last_day": d.last_day.isoformat(), "time_zone": d.time_zone}
                   for d in handed],
        created_at=now, created_by=actor.as_json())
    await repository.add(session, row)
    common = {"transfer_id": row.id, "grant_id": row.grant_id, "referral_id": row.referral_id,
              "categories": row.categories, "deadlines": row.deadlines, "evidence": files}
    await protection.record(
        session, institution_id=grant.owner, actor=actor, action="complaint.transferred_out",
        subject_kind="complaint", subject_id=grant.complaint_id, now=now, purpose="transfer",
        details=common | {"to_institution_id": recipient, "to_complaint_id": new.id,
                          "consent_records": copied})
    await protection.record(
        session, institution_id=recipient, actor=actor, action="complaint.transferred_in",
        subject_kind="complaint", subject_id=new.id, now=now, purpose="transfer",
        details=common | {"from_institution_id": grant.owner, "from_complaint_id": grant.complaint_id,
                          "reference": new.reference})
    await add_event(session, tables, domain.transferred_event(
        complaint_id=new.id, institution_id=recipient, reference=new.reference, from_institution_id=grant.owner,
        from_complaint_id=grant.complaint_id, referral_id=row.referral_id, grant_id=row.grant_id,
        categories=row.categories, deadlines=[(d.mechanism, d.last_day, d.time_zone) for d in handed], now=now,
        source=platform.source))
    body = to_out(row, new.reference).model_dump(mode="json")
    platform.idempotency.remember(call, 201, body)
    return 201, body
