"""The institutions directory as referral needs it: entries follow identity's events (bootstrapped from
its list), and answer who could take a case and how a recipient counts its periods."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.events.catalogue import DirectoryEntry as EntryData

from . import domain, repository
from .models import DirectoryEntry
from .schemas import CandidateOut, CandidatesOut, EntryOut, ReasonOut


async def apply_event(session: AsyncSession, data: EntryData, *, now: datetime) -> bool:
    """Applies a directory event if it is newer than what is held."""
    return await apply_listed(session, {"id": data.institution_id, **data.model_dump(mode="json")}, now=now)


async def apply_listed(session: AsyncSession, listed: Mapping[str, Any], *, now: datetime) -> bool:
    """An entry as identity's API lists it (or as an event carries it). Returns whether it changed.

    Idempotent under concurrent writers (the reader's page and the consumer's event for one new
    institution, or two replicas): the row is inserted with ``ON CONFLICT (institution_id) DO NOTHING``,
    and when it is already there (committed meanwhile by another transaction) it is updated only where
    its stored ``version`` is older, in the UPDATE's own condition, so the newest version wins whatever
    the order of commits and the transaction never fails on the primary key."""
    values = _values(listed, now=now)
    institution_id, version = values["institution_id"], values["version"]
    held = await repository.get(session, institution_id)
    if held is not None and not domain.newer(version, held.version):
        return False
    if held is None and await repository.insert_if_absent(session, values):
        return True
    changed = await repository.update_if_older(session, values)
    if held is not None:
        session.expire(held)  # the row was written past the ORM: read it again when next asked
    return changed


def _values(listed: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
    """The columns of ``directory_entry`` for one listed entry (lengths cut to the columns')."""
    mandate = listed.get("mandate") or {}
    return {
        "institution_id": str(listed["id"]),
        "version": int(listed.get("version") or 1),
        "name": str(listed.get("name") or "")[:200],
        "kind": str(listed.get("kind") or "")[:40],
        "country": str(listed.get("country") or "").upper()[:2],
        "subdivision": str(listed["subdivision"])[:6] if listed.get("subdivision") else None,
        "time_zone": str(listed["time_zone"])[:64] if listed.get("time_zone") else None,
        "languages": [str(x) for x in listed.get("languages") or []],
        "mandate": {part: [str(x) for x in mandate.get(part) or []]
                    for part in ("subject_areas", "investigates", "countries")} if isinstance(mandate, dict) else {},
        "accepts_referrals": bool(listed.get("accepts_referrals", False)),
        "referral_kinds": [str(x) for x in listed.get("referral_kinds") or []],
        "referral_purposes": [str(x) for x in listed.get("referral_purposes") or []],
        "acknowledgement_period": _period(listed.get("acknowledgement_period")),
        "response_period": _period(listed.get("response_period")),
        "closures": [{k: c.get(k) for k in ("day", "until", "name", "source")}
                     for c in listed.get("closures") or [] if isinstance(c, dict) and c.get("day")],
        "active": bool(listed.get("active", True)),
        "updated_at": now,
    }


def _period(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict) and value.get("amount") and value.get("unit"):
        return {"amount": int(value["amount"]), "unit": str(value["unit"])}
    return None


def entry_out(entry: DirectoryEntry) -> EntryOut:
    return EntryOut(institution_id=entry.institution_id, name=entry.name, kind=entry.kind, country=entry.country,
                    subdivision=entry.subdivision, time_zone=entry.time_zone, languages=list(entry.languages),
                    accepts_referrals=entry.accepts_referrals, referral_kinds=list(entry.referral_kinds),
                    referral_purposes=list(entry.referral_purposes),
                    acknowledgement_period=entry.acknowledgement_period, response_period=entry.response_period,
                    closures=list(entry.closures), active=entry.active, version=entry.version)


async def entry(session: AsyncSession, institution_id: str) -> EntryOut | None:
    """One institution as the read model holds it (None: not in the directory, as far as referral knows)."""
    found = await repository.get(session, institution_id)
    return entry_out(found) if found is not None else None


def _institution(entry: DirectoryEntry) -> domain.Institution:
    mandate = entry.mandate or {}
    return domain.Institution(
        institution_id=entry.institution_id, name=entry.name, kind=entry.kind, country=entry.country,
        languages=tuple(entry.languages), subject_areas=tuple(mandate.get("subject_areas") or ()),
        countries=tuple(x.upper() for x in mandate.get("countries") or ()),
        accepts_referrals=entry.accepts_referrals, active=entry.active)


async def candidates(session: AsyncSession, *, complaint_id: str, complaint: Mapping[str, Any], sender: str,
                     areas: Mapping[str, Sequence[str]]) -> CandidatesOut:
    facts = domain.ComplaintFacts.of(complaint)
    rows = {row.institution_id: row for row in await repository.accepting_referrals(session)}
    ranked = domain.rank(facts, [_institution(row) for row in rows.values()], sender=sender, areas=areas)
    return CandidatesOut(
        complaint_id=complaint_id, respondent_states=sorted(facts.respondent_states), acts=sorted(facts.acts),
        languages=sorted(facts.languages), subject_areas_known=bool(areas),
        items=[CandidateOut(**entry_out(rows[c.institution.institution_id]).model_dump(), score=c.score,
                            reasons=[ReasonOut(criterion=r.criterion, matched=r.matched, detail=r.detail)
                                     for r in c.reasons]) for c in ranked])
