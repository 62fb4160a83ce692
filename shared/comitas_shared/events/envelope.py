"""CloudEvents 1.0 envelope, in binary mode over NATS headers and structured mode for webhooks.

Binary mode over NATS follows the NATS protocol binding's 1.0.3 working draft (the released 1.0.2 knows
structured mode only; see ADR 0032): every attribute, extensions included, is a ``ce-`` header whose
value is percent-encoded, and a message whose ``Content-Type`` is ``application/cloudevents…`` is in
structured mode instead.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

from pydantic import BaseModel, ConfigDict, Field

from ..clock import real_now
from ..randomness import token_bytes

SPEC_VERSION = "1.0"
TYPE_PREFIX = "comitas."
SUBJECT_PREFIX = "events."
CE_PREFIX = "ce-"
# Structured mode's media type (JSON event format); the webhook body is sent with it.
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"

# The draft's rule (§3.1.3.2): percent-encode space, double quote, percent and anything outside
# printable ASCII; everything else in U+0021..U+007E stays as it is.
_HEADER_SAFE = "".join(c for c in map(chr, range(0x21, 0x7F)) if c not in ' "%')
_QUOTED_PAIR = re.compile(r"\\(.)")


def encode_header_value(value: str) -> str:
    return quote(value, safe=_HEADER_SAFE)


def decode_header_value(value: str) -> str:
    """Quoted-string unescaping first (older senders may quote), then one round of percent-decoding.
    A sequence that is not valid UTF-8 (an overlong encoding, say) is refused, as the draft requires."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = _QUOTED_PAIR.sub(r"\1", value[1:-1])
    return unquote(value, errors="strict")


def new_event_id() -> str:
    """A UUIDv7 (time-ordered) so ids sort roughly by creation, which keeps indexes compact."""
    millis = int(real_now().timestamp() * 1000)
    rand = int.from_bytes(token_bytes(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80 | (0x7 << 76) | ((rand >> 68) & 0xFFF) << 64
    value |= (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


def subject_for_type(ce_type: str) -> str:
    """``comitas.referral.accepted`` travels on ``events.referral.accepted``."""
    if not ce_type.startswith(TYPE_PREFIX):
        raise ValueError(f"event type {ce_type!r} is not a comitas type")
    return SUBJECT_PREFIX + ce_type[len(TYPE_PREFIX):]


class CloudEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=new_event_id)
    source: str
    type: str
    specversion: str = SPEC_VERSION
    time: datetime = Field(default_factory=real_now)
    subject: str | None = None
    datacontenttype: str = "application/json"
    # Extension attributes: the owning institution, and every institution the event concerns.
    institutionid: str | None = None
    concerns: tuple[str, ...] = ()
    # CloudEvents Distributed Tracing extension: the trace context of the request that caused the event
    # (the start of the trace), not of each hop; each hop's own context travels in the transport's
    # plain ``traceparent`` header.
    traceparent: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    @property
    def nats_subject(self) -> str:
        return subject_for_type(self.type)

    @property
    def concerned_institutions(self) -> tuple[str, ...]:
        if self.concerns:
            return self.concerns
        return (self.institutionid,) if self.institutionid else ()

    def attributes(self) -> dict[str, str]:
        """Every context attribute in its canonical string form, extensions included."""
        attributes = {
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "specversion": self.specversion,
            "time": _rfc3339(self.time),
            "datacontenttype": self.datacontenttype,
        }
        if self.subject:
            attributes["subject"] = self.subject
        if self.institutionid:
            attributes["institutionid"] = self.institutionid
        if self.concerns:
            attributes["concerns"] = ",".join(self.concerns)
        if self.traceparent:
            attributes["traceparent"] = self.traceparent
        return attributes

    def nats_headers(self) -> dict[str, str]:
        headers = {CE_PREFIX + name: encode_header_value(value) for name, value in self.attributes().items()}
        headers["Nats-Msg-Id"] = self.id
        if self.traceparent:
            # OpenTelemetry reads the plain W3C header; the relay replaces it with its publish span.
            headers["traceparent"] = self.traceparent
        return headers

    def nats_body(self) -> bytes:
        return json.dumps(self.data, separators=(",", ":"), default=str).encode()

    @classmethod
    def from_nats(cls, headers: dict[str, str] | None, body: bytes) -> CloudEvent:
        h = {k.lower(): v for k, v in (headers or {}).items()}
        if h.get("content-type", "").strip().lower().startswith("application/cloudevents"):
            return cls.from_structured(json.loads(body))
        ce = {k.removeprefix(CE_PREFIX): decode_header_value(v) for k, v in h.items() if k.startswith(CE_PREFIX)}
        return cls(
            id=ce["id"],
            source=ce["source"],
            type=ce["type"],
            specversion=ce.get("specversion", SPEC_VERSION),
            time=_parse_time(ce["time"]),
            subject=ce.get("subject"),
            datacontenttype=ce.get("datacontenttype", "application/json"),
            institutionid=ce.get("institutionid"),
            concerns=_split_concerns(ce.get("concerns")),
            # Messages published before ce-traceparent existed carry only the plain header.
            traceparent=ce.get("traceparent") or h.get("traceparent"),
            data=json.loads(body or b"{}"),
        )

    @classmethod
    def from_structured(cls, body: dict[str, Any]) -> CloudEvent:
        """The JSON event format, as in a structured-mode NATS message or a webhook body."""
        return cls(
            id=body["id"],
            source=body["source"],
            type=body["type"],
            specversion=body.get("specversion", SPEC_VERSION),
            time=_parse_time(body["time"]),
            subject=body.get("subject"),
            datacontenttype=body.get("datacontenttype", "application/json"),
            institutionid=body.get("institutionid"),
            concerns=_split_concerns(body.get("concerns")),
            traceparent=body.get("traceparent"),
            data=body.get("data") or {},
        )

    def structured(self) -> dict[str, Any]:
        """Structured-mode JSON, the body of a webhook request. Without ``concerns``: one recipient must
        not learn which other institutions the event concerned."""
        body: dict[str, Any] = {k: v for k, v in self.attributes().items() if k != "concerns"}
        body["data"] = self.data
        return body

    def to_record(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> CloudEvent:
        return cls.model_validate(record)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _split_concerns(value: str | None) -> tuple[str, ...]:
    return tuple(c for c in (value or "").split(",") if c)
