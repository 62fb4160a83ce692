"""CloudEvents 1.0 envelope, in binary mode over NATS headers and structured mode for webhooks."""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SPEC_VERSION = "1.0"
TYPE_PREFIX = "comitas."
SUBJECT_PREFIX = "events."


def new_event_id() -> str:
    """A UUIDv7 (time-ordered) so ids sort roughly by creation, which keeps indexes compact."""
    millis = int(time.time() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
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
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str | None = None
    datacontenttype: str = "application/json"
    # Extension attributes: the owning institution, and every institution the event concerns.
    institutionid: str | None = None
    concerns: tuple[str, ...] = ()
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

    def nats_headers(self) -> dict[str, str]:
        headers = {
            "ce-id": self.id,
            "ce-source": self.source,
            "ce-type": self.type,
            "ce-specversion": self.specversion,
            "ce-time": self.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "ce-datacontenttype": self.datacontenttype,
            "Nats-Msg-Id": self.id,
        }
        if self.subject:
            headers["ce-subject"] = self.subject
        if self.institutionid:
            headers["ce-institutionid"] = self.institutionid
        if self.concerns:
            headers["ce-concerns"] = ",".join(self.concerns)
        if self.traceparent:
            headers["traceparent"] = self.traceparent
        return headers

    def nats_body(self) -> bytes:
        return json.dumps(self.data, separators=(",", ":"), default=str).encode()

    @classmethod
    def from_nats(cls, headers: dict[str, str] | None, body: bytes) -> CloudEvent:
        h = {k.lower(): v for k, v in (headers or {}).items()}
        concerns = tuple(c for c in h.get("ce-concerns", "").split(",") if c)
        return cls(
            id=h["ce-id"],
            source=h["ce-source"],
            type=h["ce-type"],
            specversion=h.get("ce-specversion", SPEC_VERSION),
            time=datetime.fromisoformat(h["ce-time"].replace("Z", "+00:00")),
            subject=h.get("ce-subject"),
            datacontenttype=h.get("ce-datacontenttype", "application/json"),
            institutionid=h.get("ce-institutionid"),
            concerns=concerns,
            traceparent=h.get("traceparent"),
            data=json.loads(body or b"{}"),
        )

    def structured(self) -> dict[str, Any]:
        """Structured-mode JSON, the body of a webhook request."""
        body: dict[str, Any] = {
            "specversion": self.specversion,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "time": self.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "datacontenttype": self.datacontenttype,
            "data": self.data,
        }
        if self.subject:
            body["subject"] = self.subject
        if self.institutionid:
            body["institutionid"] = self.institutionid
        return body

    def to_record(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> CloudEvent:
        return cls.model_validate(record)
