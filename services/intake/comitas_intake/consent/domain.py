"""Consent, decided without I/O: what a victim agreed to, and whether a disclosure may happen.

A consent record says, for a set of purposes, one recipient (an institution by id, a kind of
institution, or an international mechanism by code) and a set of data categories, that consent was
given, withdrawn, or could not be obtained (with a justification naming the purposes it supports:
the IACHR accepts precautionary-measure requests without the beneficiary's consent when justified,
Rules Art 25). Records are never edited: a change of mind is a new record.

:func:`consent_allows` answers one question (may ``category`` go to ``recipient`` for ``purpose`` at
``at``?) from the records alone. The rules, in order:

1. Only records in force at ``at`` count (``record.at <= at``), and only those that match: the
   purpose is among the record's purposes, the category among its categories, and the recipient is
   covered (an institution record names that institution; a kind record covers every institution of
   that kind; a mechanism record names that mechanism). Nothing matching: refused (``no_consent``).
2. The latest matching record decides. On the same instant, a withdrawal wins over a grant.
3. A withdrawal that names the recipient itself (by institution id or mechanism code) is lifted only
   by a later record that names the recipient itself: a later consent to "every NGO" does not undo
   "not this NGO".
4. A ``not_obtainable`` record allows only the purposes its justification names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from comitas_shared.errors import InvalidInput


def _invalid(detail: str, pointer: str) -> InvalidInput:
    """A refusal with the field it is about, in the shape of the validation errors (``errors[]``)."""
    return InvalidInput(detail, slug="invalid-consent", title="Invalid consent record",
                        errors=[{"detail": detail, "pointer": pointer}])


class Status(StrEnum):
    GIVEN = "given"
    WITHDRAWN = "withdrawn"
    NOT_OBTAINABLE = "not_obtainable"


class Category(StrEnum):
    IDENTITY = "identity"
    CONTACT = "contact"
    HEALTH = "health"
    NARRATIVE = "narrative"
    EVIDENCE = "evidence"


class Purpose(StrEnum):
    INVESTIGATE = "investigate"
    LEGAL_AID = "legal_aid"
    FILE_WITH_MECHANISM = "file_with_mechanism"
    INTERIM_MEASURES = "interim_measures"
    TRANSFER = "transfer"
    COORDINATION = "coordination"
    FOR_INFORMATION = "for_information"


class RecipientType(StrEnum):
    INSTITUTION = "institution"
    INSTITUTION_KIND = "institution_kind"
    MECHANISM = "mechanism"


MECHANISM_KIND = "mechanism"
"""The ``recipient_kind`` of a query about an international mechanism (``recipient`` is its code)."""


@dataclass(frozen=True)
class ConsentRecord:
    """One record as the domain sees it (the stored row, minus who typed it in)."""

    id: str
    status: Status
    purposes: frozenset[Purpose]
    recipient_type: RecipientType
    recipient: str
    categories: frozenset[Category]
    at: datetime
    # For not_obtainable: the purposes the justification supports (nothing else is allowed by it).
    justified_purposes: frozenset[Purpose] = field(default_factory=frozenset)

    def names_recipient_itself(self) -> bool:
        return self.recipient_type in (RecipientType.INSTITUTION, RecipientType.MECHANISM)

    def covers(self, *, recipient: str, recipient_kind: str) -> bool:
        is_mechanism = recipient_kind == MECHANISM_KIND
        if self.recipient_type is RecipientType.MECHANISM:
            return is_mechanism and self.recipient == recipient
        if is_mechanism:
            return False
        if self.recipient_type is RecipientType.INSTITUTION:
            return self.recipient == recipient
        return self.recipient == recipient_kind

    def matches(self, *, recipient: str, recipient_kind: str, purpose: Purpose, category: Category) -> bool:
        return (purpose in self.purposes and category in self.categories
                and self.covers(recipient=recipient, recipient_kind=recipient_kind))


class Reason(StrEnum):
    GIVEN = "given"
    NOT_OBTAINABLE_JUSTIFIED = "not_obtainable_justified"
    NO_CONSENT = "no_consent"
    WITHDRAWN = "withdrawn"
    WITHDRAWN_FOR_THIS_RECIPIENT = "withdrawn_for_this_recipient"
    NOT_OBTAINABLE_OTHER_PURPOSE = "not_obtainable_other_purpose"


_EXPLANATIONS = {
    Reason.GIVEN: "consent was given",
    Reason.NOT_OBTAINABLE_JUSTIFIED: "consent could not be obtained and the justification covers this purpose",
    Reason.NO_CONSENT: "no consent covers this recipient, purpose and category",
    Reason.WITHDRAWN: "consent was withdrawn",
    Reason.WITHDRAWN_FOR_THIS_RECIPIENT: "consent was withdrawn for this recipient by name, and no later "
                                         "consent names it",
    Reason.NOT_OBTAINABLE_OTHER_PURPOSE: "consent could not be obtained, and the justification does not "
                                         "cover this purpose",
}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: Reason
    # The record that decided (None when no record matched).
    record_id: str | None = None
    basis: Status | None = None

    @property
    def explanation(self) -> str:
        return _EXPLANATIONS[self.reason]


def _order(record: ConsentRecord) -> tuple[datetime, int]:
    # On the same instant a withdrawal sorts last, so it is the one that decides.
    return record.at, 1 if record.status is Status.WITHDRAWN else 0


def consent_allows(consents: Iterable[ConsentRecord], *, recipient: str, recipient_kind: str,
                   purpose: Purpose | str, category: Category | str, at: datetime) -> Decision:
    """May ``category`` of the complaint go to ``recipient`` (of kind ``recipient_kind``, or
    :data:`MECHANISM_KIND` for a mechanism code) for ``purpose`` at ``at``? Pure: the records in, a
    decision out (see the module docstring for the rules)."""
    wanted_purpose, wanted_category = Purpose(purpose), Category(category)
    matching = sorted((r for r in consents if r.at <= at and r.matches(
        recipient=recipient, recipient_kind=recipient_kind, purpose=wanted_purpose, category=wanted_category)),
        key=_order)
    if not matching:
        return Decision(False, Reason.NO_CONSENT)
    latest = matching[-1]
    if latest.status is Status.WITHDRAWN:
        return Decision(False, Reason.WITHDRAWN, latest.id, latest.status)
    by_name = [r for r in matching if r.names_recipient_itself()]
    if by_name and by_name[-1].status is Status.WITHDRAWN:
        return Decision(False, Reason.WITHDRAWN_FOR_THIS_RECIPIENT, by_name[-1].id, by_name[-1].status)
    if latest.status is Status.NOT_OBTAINABLE:
        if wanted_purpose in latest.justified_purposes:
            return Decision(True, Reason.NOT_OBTAINABLE_JUSTIFIED, latest.id, latest.status)
        return Decision(False, Reason.NOT_OBTAINABLE_OTHER_PURPOSE, latest.id, latest.status)
    return Decision(True, Reason.GIVEN, latest.id, latest.status)


@dataclass(frozen=True)
class Coverage:
    """:func:`consent_allows` for several categories at once (a disclosure's)."""

    decisions: dict[Category, Decision]

    @property
    def allowed(self) -> bool:
        return all(d.allowed for d in self.decisions.values())

    @property
    def refused(self) -> list[Category]:
        return [c for c, d in self.decisions.items() if not d.allowed]

    @property
    def record_ids(self) -> list[str]:
        return sorted({d.record_id for d in self.decisions.values() if d.allowed and d.record_id})


def coverage(consents: Sequence[ConsentRecord], *, recipient: str, recipient_kind: str, purpose: Purpose,
             categories: Iterable[Category], at: datetime) -> Coverage:
    return Coverage({c: consent_allows(consents, recipient=recipient, recipient_kind=recipient_kind,
                                       purpose=purpose, category=c, at=at)
                     for c in sorted(set(categories))})


# --- recording ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewRecord:
    """What a request to record consent asks for, checked."""

    status: Status
    purposes: frozenset[Purpose]
    recipient_type: RecipientType
    recipient: str
    categories: frozenset[Category]
    at: datetime
    justified_purposes: frozenset[Purpose]


def check_new_record(*, status: Status, purposes: Iterable[Purpose], recipient_type: RecipientType,
                     recipient: str, categories: Iterable[Category], at: datetime, now: datetime,
                     has_justification: bool, justified_purposes: Iterable[Purpose],
                     known_mechanisms: frozenset[str], known_kinds: frozenset[str]) -> NewRecord:
    """Refuses (422, with a field pointer) what cannot be a consent record:

    - a time in the future (consent is recorded after it was expressed, never ahead of it);
    - ``not_obtainable`` without a justification naming at least one purpose, or a justification on a
      record that is not ``not_obtainable``; for ``not_obtainable`` the purposes are the justified ones
      (``purposes``, if given, must be the same);
    - a mechanism code that is not one of the mechanisms intake knows, or a kind of institution that is
      not one of the directory's (a misspelt kind would otherwise cover no one, silently).
    """
    purposes_set, justified = frozenset(purposes), frozenset(justified_purposes)
    if at > now:
        raise _invalid("consent cannot be recorded for a time in the future", "/at")
    if status is Status.NOT_OBTAINABLE:
        if not has_justification or not justified:
            raise _invalid("a record that consent could not be obtained needs a justification naming the "
                           "purposes it supports", "/justification")
        if purposes_set and purposes_set != justified:
            raise _invalid("for not_obtainable the purposes are those the justification names", "/purposes")
        purposes_set = justified
    elif has_justification:
        raise _invalid("only a not_obtainable record carries a justification", "/justification")
    if not purposes_set:
        raise _invalid("name at least one purpose", "/purposes")
    categories_set = frozenset(categories)
    if not categories_set:
        raise _invalid("name at least one data category", "/categories")
    if recipient_type is RecipientType.MECHANISM and recipient not in known_mechanisms:
        raise _invalid(f"unknown mechanism {recipient!r}", "/recipient/value")
    if recipient_type is RecipientType.INSTITUTION_KIND and recipient not in known_kinds:
        raise _invalid(f"unknown kind of institution {recipient!r}", "/recipient/value")
    return NewRecord(status=status, purposes=purposes_set, recipient_type=recipient_type, recipient=recipient,
                     categories=categories_set, at=at, justified_purposes=justified)


def withdrawal_of(record: ConsentRecord, *, at: datetime, now: datetime) -> NewRecord:
    """The record that withdraws ``record`` (same purposes, recipient and categories) from ``at``."""
    if at > now:
        raise _invalid("a withdrawal cannot take effect in the future", "/at")
    if record.status is Status.WITHDRAWN:
        raise _invalid("this record is itself a withdrawal", "")
    if at < record.at:
        raise _invalid("a withdrawal cannot take effect before what it withdraws", "/at")
    return NewRecord(status=Status.WITHDRAWN, purposes=record.purposes, recipient_type=record.recipient_type,
                     recipient=record.recipient, categories=record.categories, at=at,
                     justified_purposes=frozenset())


@dataclass(frozen=True)
class DisclosureRef:
    """A disclosure already made, as withdrawal needs to see it."""

    grant_id: str
    recipient: str
    recipient_kind: str
    purpose: Purpose
    categories: frozenset[Category]


def affected_by_withdrawal(withdrawal: NewRecord, disclosures: Iterable[DisclosureRef]) -> list[DisclosureRef]:
    """Disclosures still in force that the withdrawal touches: same purpose, a shared category, and a
    recipient the withdrawal covers. Their recipients already hold the data and must be told."""
    probe = ConsentRecord(id="", status=withdrawal.status, purposes=withdrawal.purposes,
                          recipient_type=withdrawal.recipient_type, recipient=withdrawal.recipient,
                          categories=withdrawal.categories, at=withdrawal.at)
    return [d for d in disclosures
            if d.purpose in probe.purposes and d.categories & probe.categories
            and probe.covers(recipient=d.recipient, recipient_kind=d.recipient_kind)]


# --- what each category holds ------------------------------------------------------------------------

_CONTACT_KEYS = ("addresses", "contacts")
_PEOPLE = ("representative", "petitioner")
_NARRATIVE_KEYS = ("summary", "incidents", "actors", "respondent_states", "rights", "rights_invoked",
                   "domestic_remedies", "other_procedures", "no_other_procedures", "relief", "urgency",
                   "events_date", "events_continuing", "languages")


def _without(person: Mapping[str, Any] | None, keys: Iterable[str]) -> dict[str, Any] | None:
    if person is None:
        return None
    return {k: v for k, v in person.items() if k not in set(keys)}


def _only(person: Mapping[str, Any] | None, keys: Iterable[str]) -> dict[str, Any] | None:
    if person is None:
        return None
    wanted = set(keys)
    return {k: v for k, v in person.items() if k in wanted}


def categorise(view: Mapping[str, Any], categories: Iterable[Category],
               evidence: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The part of a complaint's full view (identities opened) in each of ``categories``, and nothing
    else: a key per category asked, none for a category not asked.

    - identity: the victims (names, birth dates, identity documents, the rest of what describes them),
      the representative and the petitioner, each without addresses and contacts;
    - contact: the addresses and contacts of the same people, position by position;
    - health: nothing yet (the complaint has no health section): null;
    - narrative: the facts (summary, incidents with their places and narratives, other actors, states,
      rights, remedies, other procedures, relief sought, urgency, languages);
    - evidence: the files received (id, SHA-256, size, detected type, name), as ``evidence`` lists them.
    """
    victims = list(view.get("victims") or [])
    out: dict[str, Any] = {}
    for category in sorted(set(categories)):
        if category is Category.IDENTITY:
            out[category.value] = {"victims": [_without(v, _CONTACT_KEYS) for v in victims]} | {
                who: _without(view.get(who), _CONTACT_KEYS) for who in _PEOPLE}
        elif category is Category.CONTACT:
            out[category.value] = {"victims": [_only(v, _CONTACT_KEYS) for v in victims]} | {
                who: _only(view.get(who), _CONTACT_KEYS) for who in _PEOPLE}
        elif category is Category.NARRATIVE:
            out[category.value] = {k: view.get(k) for k in _NARRATIVE_KEYS}
        elif category is Category.EVIDENCE:
            out[category.value] = {"items": [dict(item) for item in evidence]}
        else:
            out[category.value] = None
    return out


def handling(view: Mapping[str, Any]) -> dict[str, Any]:
    """What the recipient must respect whatever it reads: whether the victim's identity may be disclosed
    to the receiving body, the respondent state and the public (IACHR Rules Art 28(2)), without the
    reasons (those are narrative)."""
    prefs = dict(view.get("disclosure") or {})
    return {"identity_disclosure": {k: prefs.get(k) for k in ("receiving_body", "respondent_state", "public")}}
