"""Pure decisions about complaints: no session, no clock, no NATS."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from comitas_shared.events.catalogue import COMPLAINT_SUBMITTED, ComplaintSubmitted
from comitas_shared.events.envelope import CloudEvent

from .schemas import ComplaintCreate, ComplaintUpdate

# Crockford's alphabet: no I, L, O, U, so a reference read over the phone is not misheard.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference(now: datetime) -> str:
    code = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
    return f"CMP-{now.year}-{code[:4]}-{code[4:]}"


@dataclass(frozen=True)
class NewComplaint:
    fields: dict
    event: CloudEvent


def submit(*, complaint_id: str, institution_id: str, channel: str, payload: ComplaintCreate, now: datetime,
           source: str, reference: str) -> NewComplaint:
    """A complaint as received, and the event that announces it."""
    data = payload.model_dump(mode="json")
    fields = {
        "id": complaint_id,
        "institution_id": institution_id,
        "reference": reference,
        "channel": channel,
        "status": "submitted",
        "created_at": now,
        "updated_at": now,
        "version": 1,
        **data,
        "events_date": payload.events_date,
    }
    event = COMPLAINT_SUBMITTED.build(
        source=source,
        subject=complaint_id,
        institution_id=institution_id,
        time=now,
        data=ComplaintSubmitted(
            complaint_id=complaint_id, institution_id=institution_id, reference=reference, channel=channel,
            submitted_at=now, respondent_states=list(payload.respondent_states), urgency=payload.urgency.level,
        ),
    )
    return NewComplaint(fields=fields, event=event)


def changed_fields(changes: ComplaintUpdate) -> dict:
    """Only the fields the caller sent, in their stored (JSON) form."""
    dumped = changes.model_dump(mode="json", exclude_unset=True)
    if "events_date" in dumped:
        dumped["events_date"] = changes.events_date
    return dumped
