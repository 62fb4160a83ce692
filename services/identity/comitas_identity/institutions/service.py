"""Register, read and change institutions' directory entries; each change is one event in the outbox."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import Principal
from comitas_shared.errors import Conflict, InsufficientScope, NotFound, Problem
from comitas_shared.events.catalogue import (
    INSTITUTION_REGISTERED,
    INSTITUTION_UPDATED,
    InstitutionRegistered,
    InstitutionUpdated,
)
from comitas_shared.events.outbox import add_event
from comitas_shared.pagination import Page, PageRequest

from ..models import tables
from . import repository
from .domain import (
    ADMIN_FIELDS,
    ClosureDay,
    Contact,
    Entry,
    Mandate,
    Period,
    apply_changes,
    check_institution_id,
    new_entry,
    new_institution_id,
    public_fields,
)
from .models import Institution
from .repository import DIRECTORY_ORDER
from .schemas import InstitutionOut, SubjectAreaOut, SubjectAreasOut
from .vocabulary import shipped as shipped_subject_areas

SOURCE = "/comitas/identity"
# Who may see an institution's contact besides the institution itself.
CONTACT_READERS = frozenset({"admin", "directory:contacts"})


async def register(session: AsyncSession, *, name: str, kind: str, country: str, institution_id: str | None,
                   now: datetime, profile: Mapping[str, Any] | None = None) -> str:
    """Adds an institution (``profile``: the other fields of its entry, as in a change) and stages
    ``institution.registered``. ValueError (InvalidEntry) on invalid input or an id already taken."""
    entry = new_entry(name=name, kind=kind, country=country, **dict(profile or {}))
    institution_id = check_institution_id(institution_id) if institution_id else new_institution_id()
    if await repository.get(session, institution_id) is not None:
        raise ValueError(f"institution {institution_id} already exists")
    await repository.add(session, Institution(id=institution_id, **_columns(entry), version=1, created_at=now,
                                              updated_at=now))
    event = INSTITUTION_REGISTERED.build(
        source=SOURCE, subject=institution_id, institution_id=institution_id, time=now,
        data=InstitutionRegistered(institution_id=institution_id, version=1, changed_at=now, **public_fields(entry)))
    await add_event(session, tables, event)
    return institution_id


async def exists(session: AsyncSession, institution_id: str) -> bool:
    return await repository.get(session, institution_id) is not None


async def is_active(session: AsyncSession, institution_id: str) -> bool:
    """Whether the institution exists and may act (its officers sign in, its clients get tokens)."""
    row = await repository.get(session, institution_id)
    return row is not None and row.active


async def active_among(session: AsyncSession, institution_ids: set[str]) -> set[str]:
    """Those of ``institution_ids`` that exist and are active."""
    return await repository.active_ids(session, institution_ids)


async def active_kinds(session: AsyncSession, institution_ids: set[str]) -> dict[str, str]:
    """The kind of each of ``institution_ids`` that exists and is active (tokens carry it)."""
    return await repository.active_kinds(session, institution_ids)


async def entry(session: AsyncSession, institution_id: str) -> Entry | None:
    row = await repository.get(session, institution_id)
    return _entry(row) if row is not None else None


async def get(session: AsyncSession, institution_id: str, *, viewer: Principal | None = None) -> InstitutionOut:
    """One entry; its contact only for the institution itself, admin and directory:contacts (or no
    ``viewer``: the platform's own tools)."""
    row = await repository.get(session, institution_id)
    if row is None:
        raise NotFound(f"no institution {institution_id}")
    return _out(row, viewer)


async def list_page(session: AsyncSession, request: PageRequest, *, viewer: Principal | None = None,
                    kind: str | None = None, country: str | None = None, active: bool | None = None,
                    accepts_referrals: bool | None = None) -> Page[InstitutionOut]:
    rows = await repository.page(session, request, kind=kind, country=country, active=active,
                                 accepts_referrals=accepts_referrals)
    return DIRECTORY_ORDER.cut(rows, request, lambda row: _out(row, viewer))


def subject_areas() -> SubjectAreasOut:
    areas = shipped_subject_areas()
    return SubjectAreasOut(version=areas.version, items=[
        SubjectAreaOut(code=a.code, label=a.label, acts=list(a.acts), sources=list(a.sources), status=a.status,
                       retired=a.retired) for a in areas.areas.values()])


async def update(session: AsyncSession, *, principal: Principal, institution_id: str, changes: Mapping[str, Any],
                 now: datetime) -> InstitutionOut:
    """``PATCH /v1/institutions/{id}``: ``admin`` changes any entry; ``directory:manage`` the caller's own,
    all but the fields that say what the institution is (``ADMIN_FIELDS``)."""
    admin = "admin" in principal.scopes
    if not admin and "directory:manage" not in principal.scopes:
        raise InsufficientScope(
            "changing a directory entry needs the scope admin, or directory:manage for the caller's own",
            error="insufficient_scope", required_scopes=["directory:manage"],
            headers={"WWW-Authenticate": 'Bearer realm="comitas", error="insufficient_scope", '
                                         'scope="directory:manage"'})
    row = await repository.get(session, institution_id)
    if row is None:
        raise NotFound(f"no institution {institution_id}")
    if not admin:
        if institution_id != principal.institution_id:
            # The entry is public, so 403 tells nothing new: unlike a private record's 404.
            raise Problem("an institution changes its own directory entry only", status=403,
                          slug="not-your-entry", title="Not your directory entry")
        if reserved := sorted(set(changes) & ADMIN_FIELDS):
            raise Problem(f"only the platform's administrators change {', '.join(reserved)}", status=403,
                          slug="administrators-only", title="Changed by the platform's administrators only",
                          fields=reserved)
    await _apply(session, row, changes, now=now)
    return await get(session, institution_id, viewer=principal)


async def apply_update(session: AsyncSession, institution_id: str, changes: Mapping[str, Any], *,
                       now: datetime) -> list[str]:
    """Applies ``changes`` (any field: the caller has decided who may) and stages ``institution.updated``
    when something really changed; returns the names of the changed fields. NotFound, InvalidEntry
    (422), Conflict when a concurrent change came first."""
    row = await repository.get(session, institution_id)
    if row is None:
        raise NotFound(f"no institution {institution_id}")
    return await _apply(session, row, changes, now=now)


async def _apply(session: AsyncSession, row: Institution, changes: Mapping[str, Any], *, now: datetime) -> list[str]:
    institution_id = row.id
    before = _entry(row)
    after, changed = apply_changes(before, changes)
    if not changed:
        return []
    version = row.version + 1
    if not await repository.save(session, institution_id, expected_version=row.version,
                                 values={**_columns(after), "updated_at": now}):
        raise Conflict("the entry changed meanwhile: read it again and retry", slug="concurrent-change")
    event = INSTITUTION_UPDATED.build(
        source=SOURCE, subject=institution_id, institution_id=institution_id, time=now,
        data=InstitutionUpdated(institution_id=institution_id, version=version, changed_at=now, changed=changed,
                                **public_fields(after)))
    await add_event(session, tables, event)
    return changed


# --- rows and entries -------------------------------------------------------------------------------


def _sees_contact(viewer: Principal | None, institution_id: str) -> bool:
    return viewer is None or viewer.institution_id == institution_id or bool(viewer.scopes & CONTACT_READERS)


def _out(row: Institution, viewer: Principal | None) -> InstitutionOut:
    return InstitutionOut.of(institution_id=row.id, entry=_entry(row), version=row.version,
                             created_at=row.created_at, updated_at=row.updated_at,
                             with_contact=_sees_contact(viewer, row.id))


def _entry(row: Institution) -> Entry:
    mandate = row.mandate or {}
    return Entry(
        name=row.name, kind=row.kind, country=row.country, subdivision=row.subdivision, time_zone=row.time_zone,
        languages=tuple(row.languages or ()),
        mandate=Mandate(subject_areas=tuple(mandate.get("subject_areas", ())),
                        investigates=tuple(mandate.get("investigates", ())),
                        countries=tuple(mandate.get("countries", ()))),
        state_institution=row.state_institution, accepts_referrals=row.accepts_referrals,
        referral_kinds=tuple(row.referral_kinds or ()), referral_purposes=tuple(row.referral_purposes or ()),
        acknowledgement_period=_period(row.acknowledgement_period), response_period=_period(row.response_period),
        closures=tuple(ClosureDay(day=date.fromisoformat(c["day"]),
                                  until=date.fromisoformat(c["until"]) if c.get("until") else None,
                                  name=c["name"], source=c.get("source")) for c in row.closures or ()),
        contact=Contact(emails=tuple(row.contact_emails or ()), language=row.contact_language),
        active=row.active)


def _period(value: dict[str, Any] | None) -> Period | None:
    return Period(amount=int(value["amount"]), unit=str(value["unit"])) if value else None


def _columns(entry: Entry) -> dict[str, Any]:
    return {**public_fields(entry), "contact_emails": list(entry.contact.emails),
            "contact_language": entry.contact.language}
