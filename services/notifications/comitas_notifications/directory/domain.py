"""Where, in which language and in which time zone an institution is written to. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def notification_language(contact_language: str | None, languages: Iterable[str], *, supported: Iterable[str],
                          default: str) -> str:
    """The contact's language if messages exist in it, else the first of the institution's working
    languages that they exist in, else ``default``."""
    available = {s.lower() for s in supported}
    for candidate in (contact_language, *languages):
        if candidate and candidate.lower() in available:
            return candidate.lower()
    return default


def usable_time_zone(time_zone: str | None, *, default: str) -> str:
    """The directory's zone when it is a known IANA zone, else ``default``."""
    if time_zone:
        try:
            ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            return default
        return time_zone
    return default


def newer(incoming_version: int, stored_version: int | None) -> bool:
    """Directory entries carry a version that grows with every change: apply only what is newer."""
    return stored_version is None or incoming_version > stored_version


def address_allowed(address: str, institution_addresses: Iterable[str]) -> bool:
    """An address may be written to only if it is one of the institution's own notification addresses
    in the directory (compared case-insensitively): never an address typed in for someone else."""
    return address.strip().casefold() in {a.strip().casefold() for a in institution_addresses}


def email_recipients(chosen: str | None, institution_addresses: Iterable[str]) -> tuple[list[str], str | None]:
    """Where an e-mail subscription writes: its chosen address while the directory still lists it, else
    the institution's addresses. Returns the addresses and, when there are none, why."""
    addresses = [a for a in dict.fromkeys(a.strip() for a in institution_addresses) if a]
    if chosen is not None:
        if address_allowed(chosen, addresses):
            return [chosen.strip()], None
        return [], f"{chosen} is no longer one of the institution's notification addresses"
    if not addresses:
        return [], "the directory holds no notification address for the institution"
    return addresses, None
