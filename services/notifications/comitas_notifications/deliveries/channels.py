"""What the delivery worker hands a channel, and what a channel answers.

The worker owns everything channels share: leases and their renewal, the attempt log (an attempt
recorded before it goes out), backoff with full jitter, dead letters, redelivery. A channel only knows
how to turn a job into something to send (``prepare``, inside the worker's first transaction, so it
may read the database) and how to send it (``send``, outside any transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.events.envelope import CloudEvent

from ..subscriptions import service as subscriptions


@dataclass(frozen=True)
class Period:
    """A digest's period, in the zone it was cut in."""

    start: datetime
    end: datetime
    time_zone: str


@dataclass(frozen=True)
class Job:
    """One delivery as the worker read it: one event, or a digest's events (in arrival order)."""

    delivery_id: str
    institution_id: InstitutionId
    subscription_id: str
    kind: str
    events: list[CloudEvent]
    period: Period | None
    traceparent: str | None
    target: subscriptions.DeliveryTarget


@dataclass(frozen=True)
class Outcome:
    """What became of one attempt. ``status_code``: the receiver's (HTTP status, SMTP reply code);
    ``permanent``: the receiver refused for good, do not try again."""

    succeeded: bool
    status_code: int | None = None
    error: str | None = None
    permanent: bool = False


@dataclass(frozen=True)
class Unsendable:
    """A job that cannot go out as things are (no address, a target refused); recorded as a failed
    attempt like any other, so it shows in the delivery log and is retried unless ``permanent``."""

    error: str
    permanent: bool = False


class ChannelSender(Protocol):
    name: str

    async def prepare(self, session: AsyncSession, job: Job) -> Any | Unsendable: ...

    async def send(self, prepared: Any) -> Outcome: ...

    async def close(self) -> None: ...
