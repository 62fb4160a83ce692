"""Possible duplicates and forum shopping: what is indexed, and who may be told of a match. No I/O.

- **What is indexed.** A keyed blind index (HMAC-SHA256 under the blind-index key, which lives outside
  the database) over each alleged victim's normalised name with a full birth date (purpose "person"),
  and over each incident's respondent state, full date and place (purpose "incident"). A person without
  a full birth date, or an incident without a state, a full date and a place, is not indexed: the rest
  has too little entropy (a name alone matches strangers, a year alone matches too many).
- **Who is told.** Within an institution, a match names the other complaint. Across institutions it
  says only that a possible duplicate exists elsewhere and which institution to coordinate with, and
  only when *both* complaints' institutions are non-state institutions and *both* victims consented to
  coordination. A state authority (a central authority, or any kind not known to be independent of the
  state) is never told that a person has complained, and its complaints are never announced to others.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

Basis = Literal["person", "incident"]
Scope = Literal["same_institution", "other_institution"]
SAME: Scope = "same_institution"
OTHER: Scope = "other_institution"

# Kinds of institution that are not the state (identity's kinds): an allow-list, so a kind added later
# (a ministry, a prosecutor, a police body) is treated as a state authority until someone decides
# otherwise. NHRIs and ombudspersons are public bodies but independent of the government by mandate
# (the Paris Principles); that independence is what coordinating with them about a victim relies on.
NON_STATE_KINDS: frozenset[str] = frozenset({"ombudsperson", "nhri", "regional_commission", "ngo", "legal_aid_ngo",
                                             "treaty_body", "equality_body", "un_field_office"})


def may_coordinate(institution_kind: str | None, coordination_consent: bool) -> bool:
    """Whether a complaint may take part in a match across institutions: its institution is not the
    state and its victims consented to coordination. An unknown kind is a state authority."""
    return coordination_consent and institution_kind in NON_STATE_KINDS


# --- what is indexed -------------------------------------------------------------------------------

def _normalise(value: str) -> str:
    """Case, accents, punctuation and spacing do not make two values different (the same rule as
    ``protection.crypto.normalise_for_index``; a test keeps the two digests identical)."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    letters = "".join(c for c in decomposed if c.isalnum() or c.isspace())
    return " ".join(letters.split())


def canonical_name(name: str | None) -> str | None:
    """A name whose parts may come in any order, separated by spaces, hyphens or commas: "DIALLO Amina",
    "Amina Diallo", "Diallo, Amína" are one name; "Jean-Pierre Diallo" and "Diallo Jean Pierre" too.
    Names in other scripts are compared as written (no transliteration), and a particle written apart
    or joined ("O'Brien", "OBrien") still makes two names."""
    if name is None:
        return None
    letters = "".join(c for c in unicodedata.normalize("NFKD", name.casefold()) if not unicodedata.combining(c))
    tokens = "".join(c if c.isalnum() else " " for c in letters).split()
    return "".join(sorted(tokens)) or None


def canonical_date(value: str | None) -> str | None:
    """A full ISO date (``YYYY-MM-DD``), or None: a year or a month is not precise enough to index."""
    if value is None:
        return None
    text = value.strip()
    if len(text) != 10:
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        return None


def canonical_state(code: str | None) -> str | None:
    """An ISO 3166-1 (or user-assigned ``XK``, or ISO 3166-3 former-state) code, upper-cased."""
    if code is None:
        return None
    text = code.strip().upper()
    return text if 2 <= len(text) <= 4 and text.isalnum() else None


def canonical_place(place: str | None) -> str | None:
    if place is None:
        return None
    return _normalise(place) or None


@dataclass(frozen=True, order=True)
class IndexKey:
    """What one blind-index entry is computed over."""

    purpose: Basis
    parts: tuple[str, ...]


def person_key(name: str | None, birth_date: str | None) -> IndexKey | None:
    canonical, born = canonical_name(name), canonical_date(birth_date)
    if canonical is None or born is None:
        return None
    return IndexKey("person", (canonical, born))


def incident_key(respondent_state: str | None, on: str | None, place: str | None) -> IndexKey | None:
    state, day, where = canonical_state(respondent_state), canonical_date(on), canonical_place(place)
    if state is None or day is None or where is None:
        return None
    return IndexKey("incident", (state, day, where))


def index_keys(persons: Iterable[tuple[str, str | None]],
               incidents: Iterable[tuple[str, str | None, str | None]]) -> list[IndexKey]:
    """The distinct index keys of a complaint: one per victim (name, birth date) and one per incident
    (respondent state, date, place) precise enough to be indexed, in a stable order."""
    keys = {k for k in (person_key(name, born) for name, born in persons) if k is not None}
    keys |= {k for k in (incident_key(state, on, place) for state, on, place in incidents) if k is not None}
    return sorted(keys)


# --- who is told -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    """One blind-index row: a complaint's digest, with what decides who may learn of a match."""

    institution_id: str
    complaint_id: str
    purpose: Basis
    digest: str
    institution_kind: str | None
    coordination_consent: bool


@dataclass(frozen=True, order=True)
class Notice:
    """What ``institution_id`` may be told about its complaint ``complaint_id``: a possible duplicate on
    ``basis``; ``counterpart`` is the other complaint's id within the institution (scope
    same_institution), or the institution to coordinate with (scope other_institution)."""

    institution_id: str
    complaint_id: str
    basis: Basis
    scope: Scope
    counterpart: str


def notices_of(institution_id: str, complaint_id: str, own: Sequence[Entry],
               candidates: Iterable[Entry]) -> set[Notice]:
    """Every notice the complaint's institution may hold about it, given the complaint's own entries
    and the entries (of any complaint, any institution) that share a digest with one of them.

    Within the institution every match is named. Across institutions a match is announced, as the other
    institution only, when both complaints may coordinate (:func:`may_coordinate`); several matching
    complaints of one other institution make one notice per basis, so their number is not told either.
    """
    mine = [e for e in own if e.institution_id == institution_id and e.complaint_id == complaint_id]
    if not mine:
        return set()
    digests = {(e.purpose, e.digest) for e in mine}
    coordinates = may_coordinate(mine[0].institution_kind, mine[0].coordination_consent)
    found: set[Notice] = set()
    for other in candidates:
        if (other.purpose, other.digest) not in digests:
            continue
        if other.institution_id == institution_id:
            if other.complaint_id != complaint_id:
                found.add(Notice(institution_id, complaint_id, other.purpose, SAME, other.complaint_id))
        elif coordinates and may_coordinate(other.institution_kind, other.coordination_consent):
            found.add(Notice(institution_id, complaint_id, other.purpose, OTHER, other.institution_id))
    return found


@dataclass(frozen=True)
class NoticeChanges:
    add: list[Notice]
    remove: list[Notice]


def reconcile(existing: Iterable[Notice], desired: Iterable[Notice]) -> NoticeChanges:
    """What to add and what to remove so that the stored notices are the desired ones; a notice that
    still holds is kept (with the time it was first detected)."""
    have, want = set(existing), set(desired)
    return NoticeChanges(add=sorted(want - have), remove=sorted(have - want))
