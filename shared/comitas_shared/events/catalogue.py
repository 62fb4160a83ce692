"""The event catalogue: every event type Comitas emits, declared once, with its typed payload.

Each entry says when the event is sent and who consumes it. Changes are additive: add optional fields;
a breaking change is a new type (``comitas.<context>.<event>.v2``). The JSON Schemas and the AsyncAPI
document (``docs/events/``) are generated from this module by ``make schemas`` and a test checks they
are current.

Payloads never carry victims' identifying data: events travel to feeds and webhooks of other
institutions, so they carry ids, states, dates and codes only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .envelope import CloudEvent, subject_for_type


class EventData(BaseModel):
    # Consumers tolerate fields they do not know (additive changes); producers are checked strictly.
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class EventType:
    type: str
    data: type[EventData]
    doc: str
    producer: str
    consumers: tuple[str, ...]
    # Whether institutions' own feeds and webhooks may carry it (security events do not).
    external: bool = True

    @property
    def subject(self) -> str:
        return subject_for_type(self.type)

    def build(
        self,
        *,
        source: str,
        subject: str | None,
        institution_id: str | None,
        data: EventData,
        time: datetime,
        concerns: tuple[str, ...] = (),
    ) -> CloudEvent:
        if not isinstance(data, self.data):
            raise TypeError(f"{self.type} carries {self.data.__name__}, not {type(data).__name__}")
        return CloudEvent(
            source=source, type=self.type, subject=subject, institutionid=institution_id,
            concerns=concerns, time=time, data=data.model_dump(mode="json"),
        )


CATALOGUE: dict[str, EventType] = {}


def _declare(type_: str, data: type[EventData], *, producer: str, consumers: tuple[str, ...],
             external: bool = True) -> EventType:
    entry = EventType(type=type_, data=data, doc=(data.__doc__ or "").strip(), producer=producer,
                      consumers=consumers, external=external)
    if type_ in CATALOGUE:
        raise ValueError(f"event type {type_} declared twice")
    CATALOGUE[type_] = entry
    return entry


def event_type_for(type_: str) -> EventType:
    return CATALOGUE[type_]


# --- identity -------------------------------------------------------------------------------------


class TokenRevoked(EventData):
    """Sent by identity when an access token is revoked (RFC 7009). Every resource server adds the
    ``jti`` to its deny-list until the token's own expiry. Internal: never on an institution's feed."""

    jti: str
    expires_at: datetime
    client_id: str


TOKEN_REVOKED = _declare("comitas.identity.token_revoked", TokenRevoked, producer="identity",
                         consumers=("intake", "notifications", "identity"), external=False)


# --- complaints (intake) --------------------------------------------------------------------------

Urgency = Literal["normal", "urgent"]
Channel = Literal["partner_api", "liaison_officer", "public_form"]


class ComplaintSubmitted(EventData):
    """Sent by intake when a complaint is accepted, once per complaint, whatever the channel.
    Consumed by notifications (webhooks, feeds, inbox). Carries no identifying data of the victim."""

    complaint_id: str
    institution_id: str
    reference: str
    channel: Channel
    submitted_at: datetime
    respondent_states: list[str] = Field(default_factory=list)
    urgency: Urgency = "normal"


COMPLAINT_SUBMITTED = _declare("comitas.complaint.submitted", ComplaintSubmitted, producer="intake",
                               consumers=("notifications",))


class MechanismSummary(EventData):
    mechanism: str
    available: Literal["yes", "no", "unknown"]
    last_day: date | None = None
    time_zone: str | None = None


class ComplaintAssessed(EventData):
    """Sent by intake each time an admissibility assessment is stored for a complaint (first run or
    re-run). Consumed by notifications; tells the owning institution which mechanisms are open."""

    complaint_id: str
    assessment_id: str
    institution_id: str
    rules_version: str
    assessed_at: datetime
    recommended: list[str] = Field(default_factory=list)
    mechanisms: list[MechanismSummary] = Field(default_factory=list)


COMPLAINT_ASSESSED = _declare("comitas.complaint.assessed", ComplaintAssessed, producer="intake",
                              consumers=("notifications",))


# --- deadlines ------------------------------------------------------------------------------------


class DeadlineRequested(EventData):
    """Sent by the service that owns a legal time limit (intake for filing limits) when a deadline
    must be watched, and again with the same ``deadline_key`` when it moves. Consumed by notifications,
    which keeps one durable timer per deadline and replaces it when the deadline moves."""

    deadline_key: str
    institution_id: str
    kind: str
    title: str
    case_ref: str
    case_kind: Literal["complaint", "referral", "mla_request"] = "complaint"
    mechanism: str | None = None
    last_day: date
    time_zone: str
    due_at: datetime
    calendar: str = Field(description="how the last day was counted (calendar days, moves on non-working days…)")
    hard: bool = True
    rule: dict[str, Any] = Field(default_factory=dict, description="provision, source and status of the rule")


DEADLINE_REQUESTED = _declare("comitas.deadline.requested", DeadlineRequested, producer="intake",
                              consumers=("notifications",))


class DeadlineWithdrawn(EventData):
    """Sent by the owner of a deadline when it no longer applies (met, moot, or dropped by a new
    assessment). Consumed by notifications, which purges the timer."""

    deadline_key: str
    institution_id: str
    reason: Literal["met", "withdrawn", "superseded"]


DEADLINE_WITHDRAWN = _declare("comitas.deadline.withdrawn", DeadlineWithdrawn, producer="intake",
                              consumers=("notifications",))


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of each event's ``data``, keyed by CloudEvents type."""
    return {t: entry.data.model_json_schema() for t, entry in sorted(CATALOGUE.items())}


def asyncapi_document() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for type_, entry in sorted(CATALOGUE.items()):
        name = type_.removeprefix("comitas.").replace(".", "_")
        messages[name] = {
            "name": type_,
            "summary": entry.doc.splitlines()[0] if entry.doc else type_,
            "description": entry.doc,
            "contentType": "application/json",
            "headers": {"type": "object", "properties": {
                h: {"type": "string"} for h in ("ce-id", "ce-source", "ce-type", "ce-specversion", "ce-time",
                                                 "ce-subject", "ce-datacontenttype", "ce-institutionid",
                                                 "traceparent")}},
            "payload": entry.data.model_json_schema(),
        }
        channels[name] = {"address": entry.subject, "messages": {name: {"$ref": f"#/components/messages/{name}"}}}
        operations[f"publish_{name}"] = {
            "action": "send", "channel": {"$ref": f"#/channels/{name}"},
            "summary": f"{entry.producer} publishes through its outbox",
        }
        if entry.external:
            feed = f"feed_{name}"
            channels[feed] = {
                "address": "feed.{institution_id}." + entry.subject.removeprefix("events."),
                "parameters": {"institution_id": {"description": "the subscribing institution"}},
                "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Comitas events", "version": "1.0.0",
                 "description": "Domain events over NATS JetStream (stream EVENTS), CloudEvents 1.0 binary mode."},
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }
