"""Possible duplicates: index a complaint, forget it, tell each side what it may know. Never commits:
the caller's transaction does: a correction's or an erasure's request, or, for a new complaint, intake's
consumer of its ``comitas.complaint.submitted`` (just after the submission; ADR 0015, revised).

Only the platform queries the index: these functions take a complaint's own data from the complaint
feature (or, for :func:`holds_match`, from another service's request about a complaint it already
holds), never a name from a client.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId, institution_id_for_system
from comitas_shared.pagination import Page, PageRequest

from ..complaints import service as complaints_service
from ..protection import service as protection
from ..protection.service import KeyRing
from . import domain, repository
from .models import DuplicateIndexEntry, DuplicateNotice
from .schemas import MatchNotice

__all__ = ["MatchNotice", "forget_complaint", "holds_match", "index_complaint", "possible_duplicates", "serialise"]


def to_out(row: DuplicateNotice) -> MatchNotice:
    same = row.scope == domain.SAME
    return MatchNotice(basis=row.basis, scope=row.scope,  # type: ignore[arg-type]
                       complaint_id=row.counterpart if same else None,
                       coordinate_with=None if same else row.counterpart, detected_at=row.detected_at)


def _entry(row: DuplicateIndexEntry) -> domain.Entry:
    return domain.Entry(institution_id=row.institution_id, complaint_id=row.complaint_id,
                        purpose=row.purpose, digest=row.digest,  # type: ignore[arg-type]
                        institution_kind=row.institution_kind, coordination_consent=row.coordination_consent)


def _notice(row: DuplicateNotice) -> domain.Notice:
    return domain.Notice(row.institution_id, row.complaint_id, row.basis, row.scope, row.counterpart)  # type: ignore[arg-type]


def _digests(keyring: KeyRing, persons: list[tuple[str, str | None]],
             incidents: list[tuple[str, str | None, str | None]]) -> list[tuple[domain.Basis, str]]:
    return [(key.purpose, protection.blind_index(keyring.blind_key, *key.parts, purpose=key.purpose))
            for key in domain.index_keys(persons, incidents)]


async def index_complaint(session: AsyncSession, keyring: KeyRing, *, institution_id: InstitutionId,
                          institution_kind: str | None, complaint_id: str,
                          persons: list[tuple[str, str | None]],
                          incidents: list[tuple[str, str | None, str | None]],
                          coordination_consent: bool, now: datetime,
                          serialised: bool = False) -> list[MatchNotice]:
    """(Re)indexes a complaint: ``persons`` are (name, birth date as ``YYYY-MM-DD`` or None),
    ``incidents`` are (respondent state, date as ``YYYY-MM-DD`` or None, place or None). Call it when
    the complaint is submitted and again whenever these facts, the institution's kind or the victims'
    consent to coordination change: the complaint's entries are replaced and every notice on both sides
    of its matches (before and after) is brought up to date. Returns what the complaint's institution
    may now see about it (as ``GET /v1/complaints/{id}/possible-duplicates`` does). ``serialised``: the
    caller already holds the index's lock (:func:`serialise`) in this transaction."""
    digests = _digests(keyring, persons, incidents)
    if not serialised:
        await repository.serialise(session)
    previous = await repository.remove_entries(session, institution_id, complaint_id)
    entries = [DuplicateIndexEntry(institution_id=institution_id, complaint_id=complaint_id, purpose=purpose,
                                   digest=value, institution_kind=institution_kind,
                                   coordination_consent=coordination_consent, created_at=now)
               for purpose, value in digests]
    if entries:
        await repository.add_all(session, entries)
    touched = set(previous) | {value for _, value in digests}
    notices = await _refresh(session, touched, also=(institution_id, complaint_id),
                             also_entries=[_entry(row) for row in entries], now=now)
    return [to_out(row) for row in notices]


async def serialise(session: AsyncSession) -> None:
    """Takes the index's lock for the rest of the transaction (see ``repository.serialise``): a caller
    that must read a complaint and index it without an erasure slipping in between takes it first."""
    await repository.serialise(session)


async def forget_complaint(session: AsyncSession, *, institution_id: InstitutionId, complaint_id: str) -> None:
    """Erasure: the complaint's index entries go, and so does every notice about it, on its side and
    on the other side of each of its matches (another complaint still matching keeps its notice)."""
    await repository.serialise(session)
    previous = await repository.remove_entries(session, institution_id, complaint_id)
    await _refresh(session, set(previous), also=(institution_id, complaint_id), also_entries=[], now=None)


async def holds_match(session: AsyncSession, keyring: KeyRing, *, institution_id: InstitutionId,
                      persons: list[tuple[str, str | None]],
                      incidents: list[tuple[str, str | None, str | None]]) -> bool:
    """Whether ``institution_id`` holds a complaint that is a possible duplicate of one with these
    victims and incidents (same shapes as :func:`index_complaint`).

    For the platform only (the referral service, about a complaint it already holds): the answer is
    about ``institution_id``'s own complaints, so it may be shown to that institution. Showing it to
    anyone else (the referring institution) is the cross-institution disclosure that the coordination
    rule governs (both non-state, both consented): check that rule first."""
    digests = [value for _, value in _digests(keyring, persons, incidents)]
    return await repository.holds_any(session, institution_id, digests)


async def possible_duplicates(session: AsyncSession, *, institution_id: InstitutionId, complaint_id: str,
                              page: PageRequest) -> Page[MatchNotice]:
    """The caller's notices about one of its complaints, newest first; 404 for another institution's."""
    await complaints_service.get_complaint(session, institution_id=institution_id, complaint_id=complaint_id)
    rows = await repository.notices_page(session, institution_id, complaint_id, page)
    return repository.NEWEST_FIRST.cut(rows, page, to_out)


async def _refresh(session: AsyncSession, digests: set[str], *, also: tuple[InstitutionId, str],
                   also_entries: list[domain.Entry], now: datetime | None) -> list[DuplicateNotice]:
    """Recomputes the notices of every complaint that shares one of ``digests`` (and of ``also``, whose
    entries the caller has just written: ``also_entries``, their digests among ``digests``): the only
    notices an index change can affect.
    With ``now`` None (erasure) notices are only removed. Returns ``also``'s notices, newest first.

    A complaint with no entries left has no candidates to look up, so a submission that names no one
    costs one query here (its stored notices)."""
    sharing = [_entry(row) for row in await repository.entries_with_digests(session, digests)]
    affected = {(entry.institution_id, entry.complaint_id) for entry in sharing} | {also}
    kept: list[DuplicateNotice] = []
    for institution, complaint_id in sorted(affected):
        # Each complaint's notices are its own institution's; this acts for that institution, whichever
        # complaint's change caused it.
        owner = institution_id_for_system(institution)
        is_also = (institution, complaint_id) == also
        if is_also:
            # ``also``'s digests are among ``digests`` (the caller passes them), so ``sharing`` already
            # holds every entry matching them: notices_of ignores the rest.
            own, candidates = also_entries, sharing
        else:
            own = [_entry(row) for row in await repository.entries_of(session, owner, complaint_id)]
            candidates = [_entry(row) for row in
                          await repository.entries_with_digests(session, {entry.digest for entry in own})]
        desired = domain.notices_of(owner, complaint_id, own, candidates)
        stored = await repository.notices_of(session, owner, complaint_id)
        changes = domain.reconcile((_notice(row) for row in stored), desired)
        gone = set(changes.remove)
        await repository.delete_notices(session, owner, [row.id for row in stored if _notice(row) in gone])
        added = [DuplicateNotice(id=str(uuid.uuid4()), institution_id=n.institution_id, complaint_id=n.complaint_id,
                                 basis=n.basis, scope=n.scope, counterpart=n.counterpart, detected_at=now)
                 for n in changes.add] if now is not None else []
        if added:
            await repository.add_all(session, added)
        if is_also:
            kept = [row for row in stored if _notice(row) not in gone] + added
    await session.flush()
    return sorted(kept, key=lambda row: (row.detected_at, row.id), reverse=True)
