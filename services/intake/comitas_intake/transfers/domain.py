"""Transfers, decided without I/O: what the recipient's complaint is made of, and what is announced.

A transfer moves a case from the institution that holds it (the sender) to another that takes it over
(the recipient), on the victim's consent to the transfer itself. The recipient's complaint is made from
the frozen disclosure that consent allowed, and from nothing else: a category the victim did not consent
to transfer is simply absent from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from comitas_shared.errors import InvalidInput
from comitas_shared.events.catalogue import (
    COMPLAINT_TRANSFERRED,
    ComplaintTransferred,
    TransferParty,
    TransferredDeadline,
)
from comitas_shared.events.envelope import CloudEvent

# Who is named in a complaint besides the victims; each split between identity and contact.
PEOPLE = ("representative", "petitioner")
# The identity-disclosure choices a recipient must respect (the reasons are narrative, not carried here).
HANDLING_KEYS = ("receiving_body", "respondent_state", "public")


def _without_nulls(value: Any) -> Any:
    """``value`` without the keys whose value is null: the snapshot writes out every optional field, a
    submission leaves absent what it does not know."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _merged(first: Mapping[str, Any] | None, second: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if first is None and second is None:
        return None
    return {**(first or {}), **(second or {})}


def complaint_from_disclosure(data: Mapping[str, Any], handling: Mapping[str, Any]) -> dict[str, Any]:
    """The recipient's complaint (a submission's JSON) from a frozen disclosure's categories:

    - narrative: the facts as they were (summary, incidents, actors, states, rights, remedies, other
      procedures, relief, urgency, dates, languages);
    - identity and contact: the victims, the representative and the petitioner, joined position by
      position when both were consented to; a representative or petitioner known only by contact (no
      identity consented to) is left out, since nothing says who they are;
    - the identity-disclosure choices (to the receiving body, the respondent state, the public), which
      bind whoever holds the case;
    - evidence and health: not part of the complaint record (files stay reachable through the grant).
    """
    out: dict[str, Any] = {}
    narrative = data.get("narrative")
    if isinstance(narrative, Mapping):
        out.update({k: v for k, v in narrative.items()})
    identity = data.get("identity") if isinstance(data.get("identity"), Mapping) else None
    contact = data.get("contact") if isinstance(data.get("contact"), Mapping) else None
    if identity is not None or contact is not None:
        named = list((identity or {}).get("victims") or [])
        reached = list((contact or {}).get("victims") or [])
        victims = [_merged(named[i] if i < len(named) else None, reached[i] if i < len(reached) else None)
                   for i in range(max(len(named), len(reached)))]
        out["victims"] = [v for v in victims if v]
        for who in PEOPLE:
            person = _merged((identity or {}).get(who), (contact or {}).get(who))
            if person and person.get("kind"):
                out[who] = person
    choices = (handling.get("identity_disclosure") or {}) if isinstance(handling, Mapping) else {}
    disclosure = {k: choices[k] for k in HANDLING_KEYS if choices.get(k)}
    if disclosure:
        out["disclosure"] = disclosure
    cleaned: dict[str, Any] = _without_nulls(out)
    return cleaned


def check_parties(*, sender: str, recipient: str) -> None:
    """A case is transferred to another institution, never to the one that holds it."""
    if sender == recipient:
        raise InvalidInput("a complaint is not transferred to the institution that holds it",
                           slug="transfer-to-self", title="Transfer to self",
                           errors=[{"pointer": "/grant_id", "detail": "the grant's sender is the caller"}])


def link(*, institution_id: str, complaint_id: str, at: datetime) -> dict[str, Any]:
    """One end of a transfer, as the complaint keeps it."""
    return {"institution_id": institution_id, "complaint_id": complaint_id, "at": at.isoformat()}


def transferred_event(*, complaint_id: str, institution_id: str, reference: str, from_institution_id: str,
                      from_complaint_id: str, referral_id: str, grant_id: str, categories: Iterable[str],
                      deadlines: Iterable[tuple[str, date, str]], now: datetime, source: str) -> CloudEvent:
    """``comitas.complaint.transferred``, concerning both institutions (ids, codes and dates only)."""
    return COMPLAINT_TRANSFERRED.build(
        source=source, subject=complaint_id, institution_id=institution_id, time=now,
        concerns=(from_institution_id, institution_id),
        data=ComplaintTransferred(
            complaint_id=complaint_id, institution_id=institution_id, reference=reference,
            transferred_from=TransferParty(institution_id=from_institution_id, complaint_id=from_complaint_id),
            referral_id=referral_id, grant_id=grant_id, categories=sorted(categories),
            deadlines=[TransferredDeadline(mechanism=m, last_day=d, time_zone=z) for m, d, z in deadlines],
            transferred_at=now))


def evidence_ids(data: Mapping[str, Any]) -> list[str]:
    """The files a disclosure of the evidence category lists (none when it was not consented to)."""
    listed = data.get("evidence")
    if not isinstance(listed, Mapping):
        return []
    return [str(item["id"]) for item in listed.get("items") or [] if isinstance(item, Mapping) and item.get("id")]
