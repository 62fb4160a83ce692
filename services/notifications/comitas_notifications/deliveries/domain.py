"""A delivery's life: pending → delivered, or pending → … → dead; redelivery starts a new round."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"
    CANCELLED = "cancelled"


REDELIVERABLE = frozenset({DeliveryState.DELIVERED, DeliveryState.DEAD})


def is_success(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300


def backoff_ceiling(attempts_made: int, *, base: float, cap: float) -> float:
    """Exponential: base, 2·base, 4·base … after the 1st, 2nd, 3rd failed attempt, never above cap."""
    return min(cap, base * 2 ** max(0, attempts_made - 1))


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
                  delay_seconds: float) -> AfterAttempt:
    """The state after one more attempt of the current round (``attempt_count`` attempts before it)."""
    made = attempt_count + 1
    if succeeded:
        return AfterAttempt(DeliveryState.DELIVERED, made, None, now)
    if made >= max_attempts:
        return AfterAttempt(DeliveryState.DEAD, made, None, None)
    return AfterAttempt(DeliveryState.PENDING, made, now + timedelta(seconds=delay_seconds), None)


def can_redeliver(state: str) -> bool:
    return state in REDELIVERABLE
