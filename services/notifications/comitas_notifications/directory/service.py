"""The institutions directory as notifications needs it: entries follow identity's events, contacts are
read from identity's API (``contacts.py``), and the channels ask who to write to, in which language
and time zone."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.events.catalogue import DirectoryEntry as EntryData

from . import repository
from .domain import address_allowed, email_recipients, newer, notification_language, usable_time_zone
from .models import DirectoryEntry
from .schemas import Contact, NotificationProfile, ProfileDefaults, Recipient

__all__ = ["READ_CONTACTS", "active", "address_allowed", "apply_entry", "apply_listed", "contact", "contacts_to_read",
           "email_recipients", "is_empty", "profile", "recipient", "store_contact", "store_contact_error",
           "time_zone"]

# Set on a session that made a contact stale: after its commit the contact reader is woken at once.
READ_CONTACTS = "comitas_notifications_read_contacts"


async def apply_entry(session: AsyncSession, data: EntryData, *, contact_changed: bool, now: datetime) -> bool:
    """Applies a directory event if it is newer than what is held. The contact is (re)read when the
    institution is new to this read model or the change names it. Returns whether anything changed."""
    institution_id = InstitutionId(data.institution_id)
    entry = await repository.get(session, institution_id)
    if entry is None:
        await repository.add(session, DirectoryEntry(
            institution_id=data.institution_id, version=data.version, name=data.name[:200],
            time_zone=data.time_zone, languages=list(data.languages), active=data.active, updated_at=now))
        session.info[READ_CONTACTS] = True
        return True
    if not newer(data.version, entry.version):
        return False
    entry.version = data.version
    entry.name = data.name[:200]
    entry.time_zone = data.time_zone
    entry.languages = list(data.languages)
    entry.active = data.active
    entry.updated_at = now
    if contact_changed:
        entry.contact_generation += 1
        session.info[READ_CONTACTS] = True
    await session.flush()
    return True


async def apply_listed(session: AsyncSession, listed: dict[str, object], *, now: datetime) -> None:
    """An entry as identity's ``GET /v1/institutions`` lists it (contact included), for the bootstrap."""
    institution_id = InstitutionId(str(listed["id"]))
    version = int(str(listed.get("version", 1)))
    entry = await repository.get(session, institution_id)
    if entry is not None and not newer(version, entry.version):
        return
    if entry is None:
        entry = DirectoryEntry(institution_id=institution_id, version=version, name="", updated_at=now)
        session.add(entry)
    languages = listed.get("languages")
    entry.version = version
    entry.name = str(listed.get("name") or "")[:200]
    entry.time_zone = str(listed["time_zone"]) if listed.get("time_zone") else None
    entry.languages = [str(x) for x in languages] if isinstance(languages, list) else []
    entry.active = bool(listed.get("active", True))
    entry.updated_at = now
    contact = listed.get("contact")
    if isinstance(contact, dict):
        emails = contact.get("emails")
        entry.contact_emails = [str(e) for e in emails] if isinstance(emails, list) else []
        entry.contact_language = str(contact["language"]) if contact.get("language") else None
        entry.contact_read_generation = entry.contact_generation
        entry.contact_read_at = now
    else:
        session.info[READ_CONTACTS] = True
    await session.flush()


async def contact(session: AsyncSession, *, institution_id: InstitutionId) -> Contact:
    entry = await repository.get(session, institution_id)
    return Contact(addresses=tuple(entry.contact_emails or ()) if entry else ())


async def active(session: AsyncSession, *, institution_id: InstitutionId) -> bool | None:
    """Whether the newest entry held says the institution is active (None: no entry yet)."""
    entry = await repository.get(session, institution_id)
    return None if entry is None else entry.active


async def time_zone(session: AsyncSession, *, institution_id: InstitutionId, default: str) -> str:
    entry = await repository.get(session, institution_id)
    return usable_time_zone(entry.time_zone if entry else None, default=default)


async def recipient(session: AsyncSession, *, institution_id: InstitutionId, defaults: ProfileDefaults) -> Recipient:
    return _recipient(institution_id, await repository.get(session, institution_id), defaults)


def _recipient(institution_id: InstitutionId, entry: DirectoryEntry | None, defaults: ProfileDefaults) -> Recipient:
    if entry is None:
        return Recipient(institution_id=institution_id, name=None, addresses=(), language=defaults.language,
                         time_zone=defaults.time_zone, contact_known=False)
    language = notification_language(entry.contact_language, entry.languages,
                                     supported=defaults.supported_languages, default=defaults.language)
    return Recipient(institution_id=institution_id, name=entry.name or None,
                     addresses=tuple(entry.contact_emails or ()), language=language,
                     time_zone=usable_time_zone(entry.time_zone, default=defaults.time_zone),
                     contact_known=entry.contact_emails is not None)


async def profile(session: AsyncSession, *, institution_id: InstitutionId,
                  defaults: ProfileDefaults) -> NotificationProfile:
    entry = await repository.get(session, institution_id)
    found = _recipient(institution_id, entry, defaults)
    return NotificationProfile(
        institution_id=institution_id, in_directory=entry is not None, name=found.name, language=found.language,
        time_zone=found.time_zone, addresses=list(found.addresses),
        contact_read_at=entry.contact_read_at if entry else None, contact_error=entry.contact_error if entry else None)


async def is_empty(session: AsyncSession) -> bool:
    return await repository.count(session) == 0


async def contacts_to_read(session: AsyncSession, *, limit: int) -> list[tuple[str, int]]:
    return await repository.stale(session, limit=limit)


async def store_contact(session: AsyncSession, *, institution_id: InstitutionId, generation: int,
                        emails: list[str], language: str | None, now: datetime) -> bool:
    return await repository.store_contact(session, institution_id, generation=generation, emails=emails,
                                          language=language, now=now)


async def store_contact_error(session: AsyncSession, *, institution_id: InstitutionId, error: str) -> None:
    await repository.store_contact_error(session, institution_id, error=error[:500])
