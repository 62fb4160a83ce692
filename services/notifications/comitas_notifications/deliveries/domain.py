"""A delivery's life: pending → delivered; pending → … → dead once the attempts of a round are spent;
pending → failed when the receiver refused for good (an SMTP 5xx); redelivery starts a new round.

A delivery is one event or one day's digest, for one subscription, on its channel (webhook or e-mail).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"
    FAILED = "failed"
    CANCELLED = "cancelled"


class DeliveryKind(StrEnum):
    EVENT = "event"
    DIGEST = "digest"


class Channel(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"


REDELIVERABLE = frozenset({DeliveryState.DELIVERED, DeliveryState.DEAD, DeliveryState.FAILED})


def is_success(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300


def backoff_ceiling(attempts_made: int, *, base: float, cap: float) -> float:
    """Exponential: base, 2·base, 4·base … after the 1st, 2nd, 3rd failed attempt, never above cap."""
    return min(cap, base * 2.0 ** max(0, attempts_made - 1))


def retry_delay(attempts_made: int, *, base: float, cap: float, draw: float) -> float:
    """Full jitter: uniformly between 0 and the ceiling (``draw`` in [0, 1)), so that receivers that
    come back after an outage are not hit by every retry at the same instant."""
    return draw * backoff_ceiling(attempts_made, base=base, cap=cap)


@dataclass(frozen=True)
class AfterAttempt:
    state: DeliveryState
    attempt_count: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None


def after_attempt(*, attempt_count: int, succeeded: bool, max_attempts: int, now: datetime,
                  delay_seconds: float, permanent: bool = False) -> AfterAttempt:
    """The state after one more attempt of the current round (``attempt_count`` attempts before it).
    A permanent refusal is not tried again."""
    made = attempt_count + 1
    if succeeded:
        return AfterAttempt(DeliveryState.DELIVERED, made, None, now)
    if permanent:
        return AfterAttempt(DeliveryState.FAILED, made, None, None)
    if made >= max_attempts:
        return AfterAttempt(DeliveryState.DEAD, made, None, None)
    return AfterAttempt(DeliveryState.PENDING, made, now + timedelta(seconds=delay_seconds), None)


def can_redeliver(state: str) -> bool:
    return state in REDELIVERABLE
