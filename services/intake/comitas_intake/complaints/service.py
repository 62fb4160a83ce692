"""Load, decide, persist, stage events. Never commits: the request's transaction does.

Identities and free text are sealed here with the complaint's key before anything is written, and
opened only for :func:`read_complaint` with a stated purpose (audited) or, inside the platform, to
re-index possible duplicates; nothing opened is ever written back in clear, put in an event, or kept
in an idempotent replay.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.app import Platform
from comitas_shared.auth import InstitutionId, Principal, institution_id_for_system
from comitas_shared.db import Database
from comitas_shared.errors import NotFound, Unprocessable
from comitas_shared.events.outbox import add_event
from comitas_shared.evidence import EvidenceStore
from comitas_shared.pagination import Page, PageRequest

from .. import case_deadlines
from ..duplicates import service as duplicates
from ..duplicates.schemas import MatchNotice
from ..evidence import service as evidence
from ..models import tables
from ..patterns import service as patterns
from ..protection import service as protection
from ..protection.service import ComplaintCipher, KeyRing
from ..statistics import service as statistics
from ..vocabularies import Vocabularies
from ..vocabularies import shipped as shipped_vocabularies
from . import domain, repository
from .forms import shipped_forms
from .models import Complaint, ComplaintTrack
from .schemas import (
    ActsOut,
    ComplaintCreate,
    ComplaintCreated,
    ComplaintOut,
    ComplaintUpdate,
    CompletenessOut,
    ErasureOut,
    ErasureRequest,
    FilingCreate,
    InstrumentOut,
    MissingItem,
    ReferralCreate,
    RightsOut,
    RuleOut,
    StatusChange,
    TermOut,
    TrackChange,
    TrackOut,
)

# The complaint's clear columns, in the API's names.
CLEAR = ("respondent_states", "rights_invoked", "domestic_remedies", "other_procedures", "urgency", "filer",
         "events_date", "events_continuing", "filing_date", "rights", "victims", "representative", "petitioner",
         "actors", "incidents", "relief", "disclosure", "languages", "no_other_procedures", "signed_on")
DATE_COLUMNS = ("events_date", "filing_date", "signed_on")
# What possible duplicates and statistics are computed from: a change to any re-indexes and re-counts.
INDEXED = frozenset({"victims", "incidents", "respondent_states", "disclosure"})
COUNTED = frozenset({"victims", "incidents", "respondent_states"})


class ComplaintNotFound(NotFound):
    slug, title = "complaint-not-found", "Complaint not found"


# --- reading -------------------------------------------------------------------------------------


def clear_record(complaint: Complaint) -> dict[str, Any]:
    """The complaint's clear half, in the shape the domain reads (dates as ISO text, like the API's)."""
    record = {name: getattr(complaint, name) for name in CLEAR}
    for name in DATE_COLUMNS:
        record[name] = record[name].isoformat() if isinstance(record[name], date) else record[name]
    return record


def _view(complaint: Complaint, *, opened: Mapping[str, Any] | None, vocabularies: Vocabularies) -> dict[str, Any]:
    record = clear_record(complaint)
    sections = set(complaint.sealed) | ({"summary"} if complaint.legacy_summary else set())
    body: dict[str, Any] = {name: getattr(complaint, name) for name in CLEAR}
    for section, _mask in domain.SEALED.items():
        if section == "summary":
            continue
        body[section] = domain.join(getattr(complaint, section), (opened or {}).get(section))
    summary = None
    if opened is not None:
        summary = opened.get("summary", complaint.legacy_summary)
    protected = "erased" if complaint.erased_at else "shown" if opened is not None else "withheld"
    return {
        **body,
        "id": complaint.id, "reference": complaint.reference, "institution_id": complaint.institution_id,
        "channel": complaint.channel, "status": complaint.status, "status_reason": complaint.status_reason,
        "status_changed_at": complaint.status_changed_at, "erased_at": complaint.erased_at,
        "transferred_to": complaint.transferred_to, "transferred_from": complaint.transferred_from,
        "created_at": complaint.created_at, "updated_at": complaint.updated_at, "version": complaint.version,
        "summary": summary, "protected": protected,
        "victims_count": domain.victims_count(complaint.victims),
        "draft": domain.is_draft(shipped_forms().values(), record, sealed=sections, vocabularies=vocabularies),
    }


def to_out(complaint: Complaint, *, opened: Mapping[str, Any] | None = None) -> ComplaintOut:
    """The complaint as the API shows it; identities and free text only when ``opened`` is given."""
    return ComplaintOut.model_validate(_view(complaint, opened=opened, vocabularies=shipped_vocabularies()))


async def get_complaint(session: AsyncSession, *, institution_id: InstitutionId, complaint_id: str) -> Complaint:
    """The caller's complaint, or 404 (another institution's complaint is simply not found)."""
    complaint = await repository.get(session, institution_id, complaint_id)
    if complaint is None:
        raise ComplaintNotFound("no such complaint")
    return complaint


async def cipher_of(session: AsyncSession, keyring: KeyRing, *, institution_id: InstitutionId,
                    complaint_id: str) -> ComplaintCipher:
    """The caller's complaint's cipher: 404 for another institution's complaint, 410 once it was erased."""
    await get_complaint(session, institution_id=institution_id, complaint_id=complaint_id)
    return await protection.cipher_for(session, keyring, institution_id=institution_id, complaint_id=complaint_id)


def _open(complaint: Complaint, cipher: ComplaintCipher, sections: Iterable[str] | None = None) -> dict[str, Any]:
    wanted = set(complaint.sealed) if sections is None else set(sections) & set(complaint.sealed)
    return {section: cipher.open(complaint.sealed[section], field=section) for section in sorted(wanted)}


async def read_complaint(session: AsyncSession, keyring: KeyRing, *, principal: Principal, complaint_id: str,
                         purpose: str | None, now: datetime) -> ComplaintOut:
    """Without a purpose, the complaint with identities and free text withheld. With one (the router
    has checked ``complaints:pii``), everything, and an audit entry naming the purpose."""
    complaint = await get_complaint(session, institution_id=principal.institution_id, complaint_id=complaint_id)
    if purpose is None or complaint.erased_at is not None:
        return to_out(complaint)
    cipher = await protection.cipher_for(session, keyring, institution_id=principal.institution_id,
                                         complaint_id=complaint_id)
    opened = _open(complaint, cipher)
    await protection.record(
        session, institution_id=principal.institution_id, actor=protection.Actor.of(principal), action="pii.read",
        subject_kind="complaint", subject_id=complaint_id, now=now, purpose=purpose,
        details={"reference": complaint.reference, "sections": sorted(opened)
                 + (["summary"] if complaint.legacy_summary else [])})
    return to_out(complaint, opened=opened)


async def list_complaints(session: AsyncSession, *, institution_id: InstitutionId,
                          page: PageRequest) -> Page[ComplaintOut]:
    """Newest first, identities withheld (reading them is one complaint at a time, with a purpose)."""
    rows = await repository.page(session, institution_id, page)
    return repository.NEWEST_FIRST.cut(rows, page, to_out)


# --- writing -------------------------------------------------------------------------------------


def _seal(changes: Mapping[str, Any], cipher: ComplaintCipher, sealed: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The clear halves of ``changes`` (the sections given, in their JSON form) and the complaint's
    new ``sealed`` mapping, with the sealed halves of those sections replaced."""
    clear: dict[str, Any] = {}
    new_sealed = dict(sealed)
    for section, value in changes.items():
        mask = domain.SEALED.get(section)
        if mask is None:
            clear[section] = value
            continue
        clear_half, sealed_half = domain.split(value, mask)
        if section != "summary":
            clear[section] = clear_half
        if sealed_half is None:
            new_sealed.pop(section, None)
        else:
            new_sealed[section] = cipher.seal(sealed_half, field=section)
    return clear, new_sealed


def _columns(clear: Mapping[str, Any], typed: Any) -> dict[str, Any]:
    """Column values: dates as dates (from the parsed model), the rest as their JSON form."""
    columns = dict(clear)
    for name in DATE_COLUMNS:
        if name in columns:
            columns[name] = getattr(typed, name)
    return columns


def _persons(victims: list[Mapping[str, Any]]) -> list[tuple[str, str | None]]:
    return [(str(v["name"]), v.get("birth_date")) for v in victims if v.get("name") and v.get("kind") == "person"]


def _incidents(respondent_states: list[str], incidents: list[Mapping[str, Any]]) -> list[tuple[str, str | None, str | None]]:
    return [(state, i.get("start"), i.get("place")) for i in incidents for state in respondent_states]


async def _index(session: AsyncSession, keyring: KeyRing, *, institution_id: InstitutionId,
                 institution_kind: str | None, complaint: Complaint, full: Mapping[str, Any], now: datetime,
                 serialised: bool = False) -> list[MatchNotice]:
    """Possible duplicates of the complaint, from its facts in full (``full``: the sections needed,
    sealed halves included). Only the platform queries the index: never a client's name. Patterns across
    institutions count the same victims, by keyed digests of their own (ADR 0020)."""
    await patterns.note_complaint(
        session, keyring, institution_id=institution_id, complaint_id=complaint.id,
        persons=_persons(full.get("victims") or []), respondent_states=list(complaint.respondent_states),
        act_types=domain.act_types_of(full.get("incidents") or []), day=complaint.created_at.date())
    return await duplicates.index_complaint(
        session, keyring, institution_id=institution_id, institution_kind=institution_kind,
        complaint_id=complaint.id, persons=_persons(full.get("victims") or []),
        incidents=_incidents(list(complaint.respondent_states), full.get("incidents") or []),
        coordination_consent=bool((complaint.disclosure or {}).get("coordination")), now=now, serialised=serialised)


async def index_submitted(session: AsyncSession, keyring: KeyRing, *, complaints: Iterable[tuple[InstitutionId, str]],
                          now: datetime) -> int:
    """Possible duplicates and pattern cases of newly submitted complaints: what intake's consumer of
    ``comitas.complaint.submitted`` does, after the submission's request (ADR 0015, revised). Each
    complaint is indexed from what is stored now, so a correction that came first (and indexed it
    already) gives the same result, and a complaint erased meanwhile is left alone. Returns how many
    were indexed.

    The index's lock is taken before any complaint is read: an erasure (which takes it too) either
    committed before, and is seen here, or waits until this transaction has indexed and commits after,
    removing what was indexed."""
    await duplicates.serialise(session)
    done = 0
    for institution_id, complaint_id in complaints:
        complaint = await repository.get(session, institution_id, complaint_id)
        if complaint is None or complaint.erased_at is not None:
            continue
        try:
            cipher = await protection.cipher_for(session, keyring, institution_id=institution_id,
                                                 complaint_id=complaint_id)
        except protection.ComplaintErased:
            continue
        stored = _open(complaint, cipher, {"victims", "incidents"})
        full = {section: domain.join(getattr(complaint, section), stored.get(section))
                for section in ("victims", "incidents")}
        await _index(session, keyring, institution_id=institution_id, institution_kind=complaint.institution_kind,
                     complaint=complaint, full=full, now=now, serialised=True)
        done += 1
    return done


async def _count(session: AsyncSession, institution_id: InstitutionId, complaint: Complaint) -> None:
    await statistics.count_complaint(
        session, institution_id=institution_id, complaint_id=complaint.id,
        respondent_states=list(complaint.respondent_states), act_types=domain.act_types_of(complaint.incidents),
        month=complaint.created_at.strftime("%Y-%m"), status=complaint.status,
        victims=domain.victims_count(complaint.victims))


def _institution_kind(principal: Principal) -> str | None:
    """The caller's kind of institution, when its token says (None: treat it as possibly a state's)."""
    kind = principal.claims.get("institution_kind")
    return str(kind) if kind else None


async def submit_complaint(
    session: AsyncSession,
    platform: Platform,
    keyring: KeyRing,
    *,
    principal: Principal,
    payload: ComplaintCreate,
    idempotency_key: str | None,
    channel: str,
    now: datetime,
) -> tuple[int, dict[str, Any]]:
    """Returns the HTTP status and body, so a retry with the same Idempotency-Key gets both again. The
    body withholds identities and free text: the replay is kept, and must hold nothing to erase."""
    data = payload.model_dump(mode="json")
    async with platform.idempotency.guard(
        session, institution_id=principal.institution_id, operation="complaints.submit",
        key=idempotency_key, body=data,
    ) as call:
        if call.is_replay:
            return call.replay_status or 201, call.replay_body
        vocabularies = shipped_vocabularies()
        domain.validate(data, given=data.keys(), vocabularies=vocabularies, now=now)
        complaint_id = str(uuid.uuid4())
        cipher = await protection.create_key(session, keyring, institution_id=principal.institution_id,
                                             complaint_id=complaint_id, now=now)
        clear, sealed = _seal(data, cipher, {})
        complaint = Complaint(
            id=complaint_id, institution_id=principal.institution_id, reference=domain.new_reference(now),
            channel=channel, status=domain.Status.RECEIVED.value, created_at=now, updated_at=now, version=1,
            sealed=sealed, institution_kind=_institution_kind(principal), **_columns(clear, payload))
        await repository.insert(session, complaint)
        # The event is also what starts the search for possible duplicates and the pattern cases, in
        # intake's own consumer, after this transaction (complaints/consumers.py; ADR 0015, revised).
        await add_event(session, tables, domain.submitted_event(
            complaint_id=complaint.id, institution_id=principal.institution_id, reference=complaint.reference,
            channel=channel, respondent_states=list(complaint.respondent_states),
            urgency=str(complaint.urgency.get("level", "normal")), now=now, source=platform.source))
        await _count(session, principal.institution_id, complaint)
        # Validated once, as the answer (not as a ComplaintOut first and copied).
        created = ComplaintCreated.model_validate(_view(complaint, opened=None, vocabularies=vocabularies))
        body = created.model_dump(mode="json")
        platform.idempotency.remember(call, 201, body)
        return 201, body


def _not_erased(complaint: Complaint) -> None:
    if complaint.erased_at is not None:
        raise protection.ComplaintErased("this complaint was erased: it can no longer be changed")


async def update_complaint(session: AsyncSession, keyring: KeyRing, *, principal: Principal, complaint_id: str,
                           changes: ComplaintUpdate, now: datetime) -> ComplaintOut:
    """Replaces the sections given (validated against the rest of the complaint), re-sealing theirs."""
    complaint = await get_complaint(session, institution_id=principal.institution_id, complaint_id=complaint_id)
    _not_erased(complaint)
    given = changes.model_dump(mode="json", exclude_unset=True)
    if not given:
        return to_out(complaint)
    domain.validate({**clear_record(complaint), **given}, given=given.keys(), vocabularies=shipped_vocabularies(),
                    now=now)
    cipher = await protection.cipher_for(session, keyring, institution_id=principal.institution_id,
                                         complaint_id=complaint_id)
    clear, complaint.sealed = _seal(given, cipher, complaint.sealed)
    for name, value in _columns(clear, changes).items():
        setattr(complaint, name, value)
    if "summary" in given:
        complaint.legacy_summary = None
    complaint.version += 1
    complaint.updated_at = now
    await session.flush()
    if COUNTED & given.keys():
        await _count(session, principal.institution_id, complaint)
    if INDEXED & given.keys():
        # The sealed halves the index needs, from the request where given, else from the complaint.
        stored = _open(complaint, cipher, {"victims", "incidents"} - given.keys())
        full = {section: given[section] if section in given else domain.join(getattr(complaint, section),
                                                                               stored.get(section))
                for section in ("victims", "incidents")}
        await _index(session, keyring, institution_id=principal.institution_id,
                     institution_kind=_institution_kind(principal), complaint=complaint, full=full, now=now)
    return to_out(complaint)


async def change_status(session: AsyncSession, platform: Platform, *, principal: Principal, complaint_id: str,
                        change: StatusChange, now: datetime) -> ComplaintOut:
    complaint = await get_complaint(session, institution_id=principal.institution_id, complaint_id=complaint_id)
    _not_erased(complaint)
    decided = domain.transition(complaint_id=complaint.id, institution_id=principal.institution_id,
                                status=complaint.status, action=change.action, reason=change.reason, now=now,
                                source=platform.source)
    complaint.status = decided.to_status.value
    complaint.status_reason = decided.reason.value if decided.reason else None
    complaint.status_changed_at = now
    complaint.updated_at = now
    complaint.version += 1
    await session.flush()
    await add_event(session, tables, decided.event)
    await statistics.update_status(session, institution_id=principal.institution_id, complaint_id=complaint.id,
                                   status=complaint.status)
    return to_out(complaint)


# --- transfers: the two ends ------------------------------------------------------------------------


async def receive_transfer(session: AsyncSession, platform: Platform, keyring: KeyRing, *, principal: Principal,
                           payload: ComplaintCreate, transferred_from: dict[str, Any], now: datetime) -> Complaint:
    """The recipient's complaint made from what the victim consented to transfer: a submission of the
    recipient's (a key of its own, sealed like any other, counted, indexed for possible duplicates at
    the recipient, announced with channel ``transfer``), linked to where it came from."""
    _status, body = await submit_complaint(session, platform, keyring, principal=principal, payload=payload,
                                           idempotency_key=None, channel="transfer", now=now)
    complaint = await get_complaint(session, institution_id=principal.institution_id, complaint_id=str(body["id"]))
    complaint.transferred_from = transferred_from
    await session.flush()
    return complaint


async def note_handed_deadlines(session: AsyncSession, complaint: Complaint, mechanisms: list[str]) -> None:
    """On the recipient's complaint: the mechanisms whose filing deadlines the transfer asked to watch for
    it, so its first assessment withdraws those it no longer finds (as a re-assessment does)."""
    complaint.transferred_from = {**(complaint.transferred_from or {}), "deadlines": sorted(mechanisms)}
    await session.flush()


async def check_transferable(session: AsyncSession, *, owner: InstitutionId, complaint_id: str) -> Complaint:
    """The sender's complaint, locked for the rest of the transaction, if it may be transferred (409
    otherwise: not open, erased, or already transferred)."""
    complaint = await repository.get(session, owner, complaint_id, lock=True)
    if complaint is None:
        raise ComplaintNotFound("no such complaint")
    domain.transfer_out(status=complaint.status, erased=complaint.erased_at is not None)
    return complaint


async def mark_transferred(session: AsyncSession, *, owner: InstitutionId, complaint_id: str,
                           transferred_to: dict[str, Any], now: datetime) -> Complaint:
    """The sender's complaint becomes ``transferred`` (409 unless it is open and not erased), linked to
    the recipient's. Its announcement is the transfer's own event (``comitas.complaint.transferred``)."""
    complaint = await get_complaint(session, institution_id=owner, complaint_id=complaint_id)
    complaint.status = domain.transfer_out(status=complaint.status, erased=complaint.erased_at is not None).value
    complaint.status_reason = None
    complaint.status_changed_at = now
    complaint.transferred_to = transferred_to
    complaint.updated_at = now
    complaint.version += 1
    await session.flush()
    await statistics.update_status(session, institution_id=owner, complaint_id=complaint.id, status=complaint.status)
    return complaint


async def case_chain(session: AsyncSession, *, institution_id: InstitutionId, complaint_id: str) -> list[Complaint]:
    """The complaints a case went through, this one first and the one holding it now last (after
    transfers, the ``transferred_to`` links: each is the platform's own record of a transfer, followed
    whoever holds it)."""
    complaint = await get_complaint(session, institution_id=institution_id, complaint_id=complaint_id)
    chain = [complaint]
    while complaint.transferred_to:
        link = complaint.transferred_to
        found = await repository.get(session, institution_id_for_system(str(link["institution_id"])),
                                     str(link["complaint_id"]))
        if found is None or found in chain:
            break
        chain.append(found)
        complaint = found
    return chain


# --- referrals and filings -------------------------------------------------------------------------


def track_out(track: ComplaintTrack) -> TrackOut:
    return TrackOut.model_validate(track, from_attributes=True)


async def open_track(session: AsyncSession, platform: Platform, *, principal: Principal, complaint_id: str,
                     kind: domain.TrackKind, request: FilingCreate | ReferralCreate, idempotency_key: str | None,
                     now: datetime) -> tuple[int, dict[str, Any]]:
    async with platform.idempotency.guard(
        session, institution_id=principal.institution_id, operation=f"complaints.{kind.value}s.create",
        key=idempotency_key, body={"complaint_id": complaint_id, **request.model_dump(mode="json")},
    ) as call:
        if call.is_replay:
            return call.replay_status or 201, call.replay_body
        complaint = await get_complaint(session, institution_id=principal.institution_id, complaint_id=complaint_id)
        _not_erased(complaint)
        target = request.mechanism.value if isinstance(request, FilingCreate) else request.to_institution_id
        if isinstance(request, ReferralCreate) and target == principal.institution_id:
            raise Unprocessable("a complaint is not referred to its own institution", slug="validation-error",
                                title="Validation error",
                                errors=[{"pointer": "/to_institution_id", "detail": "the caller's own institution"}])
        track_id = str(uuid.uuid4())
        opened = domain.open_track(kind=kind, complaint_id=complaint.id, complaint_status=complaint.status,
                                   institution_id=principal.institution_id, track_id=track_id, target=target, now=now,
                                   source=platform.source)
        track = ComplaintTrack(id=track_id, institution_id=principal.institution_id, complaint_id=complaint.id,
                               kind=kind.value, target=target, status=opened.to_status,
                               reference=getattr(request, "reference", None), created_at=now, updated_at=now)
        await repository.add(session, track)
        await add_event(session, tables, opened.event)
        body = track_out(track).model_dump(mode="json")
        platform.idempotency.remember(call, 201, body)
        return 201, body


async def list_tracks(session: AsyncSession, *, institution_id: InstitutionId, complaint_id: str,
                      kind: domain.TrackKind) -> list[TrackOut]:
    await get_complaint(session, institution_id=institution_id, complaint_id=complaint_id)
    return [track_out(t) for t in await repository.tracks(session, institution_id, complaint_id, kind.value)]


async def change_track(session: AsyncSession, platform: Platform, *, principal: Principal, complaint_id: str,
                       kind: domain.TrackKind, track_id: str, change: TrackChange, now: datetime) -> TrackOut:
    complaint = await get_complaint(session, institution_id=principal.institution_id, complaint_id=complaint_id)
    _not_erased(complaint)
    track = await repository.get_track(session, principal.institution_id, complaint_id, kind.value, track_id)
    if track is None:
        raise NotFound(f"no such {kind.value}", slug=f"{kind.value}-not-found", title=f"{kind.value.title()} not found")
    if change.on is not None and change.on > case_deadlines.latest_today(now):
        raise Unprocessable("that day is in the future", slug="validation-error", title="Validation error",
                            errors=[{"pointer": "/on", "detail": f"{change.on.isoformat()} is in the future"}])
    decided = domain.track_transition(kind=kind, complaint_id=complaint.id, complaint_status=complaint.status,
                                      institution_id=principal.institution_id, track_id=track.id, target=track.target,
                                      status=track.status, action=change.action, now=now, source=platform.source)
    track.status = decided.to_status
    track.occurred_on = change.on or now.date()
    if change.reference is not None:
        track.reference = change.reference
    track.updated_at = now
    track.version += 1
    await session.flush()
    await add_event(session, tables, decided.event)
    return track_out(track)


# --- erasure -------------------------------------------------------------------------------------


async def erase_complaint(session: AsyncSession, platform: Platform, *, principal: Principal, complaint_id: str,
                          request: ErasureRequest, now: datetime, store: EvidenceStore) -> ErasureOut:
    """Erasure on request (crypto-shredding): the complaint's key is destroyed, so everything sealed with
    it (identities, narratives, and evidence sealed with the same key) is unreadable by anyone, the
    master key's holder included; its possible-duplicate index rows go; what stays in clear is emptied
    but for its record, its state and its respondent states; its de-identified statistics stay. The
    erasure is written to the audit log with its reason, and announced without it."""
    # Imported here: consent uses this feature (a disclosure reads the complaint), so a module-level import
    # both ways would be a cycle.
    from ..assessments import service as assessments
    from ..consent import service as consent

    complaint = await get_complaint(session, institution_id=principal.institution_id, complaint_id=complaint_id)
    domain.check_erasable(complaint.erased_at)
    # The grants in force are revoked (their reads already fail once the key is gone) and their holders told.
    holders = await consent.revoke_all(session, institution_id=principal.institution_id, complaint_id=complaint.id,
                                       reason="complaint_erased", now=now)
    events = domain.erase(complaint_id=complaint.id, institution_id=principal.institution_id,
                          erased_at=complaint.erased_at, now=now, source=platform.source, holders=holders)
    destroyed = await protection.destroy_key(session, institution_id=principal.institution_id,
                                             complaint_id=complaint.id, now=now)
    await duplicates.forget_complaint(session, institution_id=principal.institution_id, complaint_id=complaint.id)
    await patterns.forget_complaint(session, institution_id=principal.institution_id, complaint_id=complaint.id)
    await assessments.forget_facts(session, institution_id=principal.institution_id, complaint_id=complaint.id)
    # The files are already unreadable (their key is gone); deleting them frees the space and ends each
    # item's custody chain with "deleted".
    await evidence.discard_files(session, store, institution_id=principal.institution_id,
                                 complaint_id=complaint.id, actor=evidence.custody_actor(principal), now=now)
    for name, value in domain.ERASED_CLEAR.items():
        setattr(complaint, name, value.copy() if isinstance(value, (list, dict)) else value)
    complaint.erased_at = now
    complaint.updated_at = now
    complaint.version += 1
    await session.flush()
    entry = await protection.record(
        session, institution_id=principal.institution_id, actor=protection.Actor.of(principal),
        action="complaint.erased", subject_kind="complaint", subject_id=complaint.id, now=now,
        purpose=request.reason, details={"reference": complaint.reference, "requested_by": request.requested_by,
                                         "key_destroyed": destroyed, "revoked_grants": holders})
    for event in events:
        await add_event(session, tables, event)
    return ErasureOut(complaint_id=complaint.id, erased_at=now, key_destroyed=destroyed, audit_seq=entry.seq)


# --- completeness and vocabularies -------------------------------------------------------------------


async def completeness(session: AsyncSession, *, institution_id: InstitutionId, complaint_id: str,
                       forum: str) -> CompletenessOut:
    complaint = await get_complaint(session, institution_id=institution_id, complaint_id=complaint_id)
    form = shipped_forms()[forum]
    sections = set(complaint.sealed) | ({"summary"} if complaint.legacy_summary else set())
    found = domain.completeness(form, clear_record(complaint), sealed=sections, vocabularies=shipped_vocabularies())
    return CompletenessOut(
        complaint_id=complaint.id, forum=form.forum, form=form.name, form_version=form.version,
        complete=found.complete, met=[r.id for r in found.met],
        missing=[MissingItem(requirement_id=m.requirement.id, item=m.requirement.item,
                             requirement=m.requirement.requirement, field=m.pointer, detail=m.detail,
                             level=m.requirement.level,
                             rule=RuleOut(provision=m.requirement.provision, source=m.requirement.source,
                                          status=m.requirement.status))
                 for m in found.missing])


def acts_vocabulary() -> ActsOut:
    acts = shipped_vocabularies().acts
    return ActsOut(name=acts.meta.name, version=acts.version, structure=acts.meta.structure,
                   attribution=acts.meta.attribution,
                   terms=[TermOut(code=t.code, label=t.label, parent=t.parent, level=t.level, source=t.source,
                                  retired=t.retired) for t in acts.terms.values()])


def rights_catalogue() -> RightsOut:
    rights = shipped_vocabularies().rights
    return RightsOut(name=rights.meta.name, version=rights.version, instruments=[
        InstrumentOut(code=i.code, name=i.name, system=i.system, status=i.status, mechanisms=list(i.mechanisms),
                      articles=dict(i.articles)) for i in rights.instruments.values()])


# --- the one-off pass for complaints written before sealing existed ---------------------------------


async def seal_legacy(database: Database, keyring: KeyRing, *, now: datetime, batch: int = 200) -> int:
    """Seals the plaintext summary of every complaint written before sealing existed, with a key of its
    own (created here when it has none), and empties the plaintext column. A batch per transaction,
    while the service runs. Returns how many complaints were sealed."""
    done = 0
    while True:
        async with database.transaction() as session:
            rows = await repository.legacy_unsealed(session, limit=batch)
            for complaint in rows:
                institution_id = institution_id_for_system(complaint.institution_id)
                try:
                    cipher = await protection.cipher_for(session, keyring, institution_id=institution_id,
                                                         complaint_id=complaint.id)
                except protection.ComplaintErased:
                    cipher = await protection.create_key(session, keyring, institution_id=institution_id,
                                                         complaint_id=complaint.id, now=now)
                summary = complaint.legacy_summary
                complaint.sealed = {**complaint.sealed, "summary": cipher.seal(summary, field="summary")}
                complaint.legacy_summary = None
            await session.flush()
        done += len(rows)
        if len(rows) < batch:
            return done
