"""Randomness, from the operating system's CSPRNG only.

Secrets, tokens, nonces, salts and even retry jitter come from here. The ``random`` module (a
predictable Mersenne Twister) is banned everywhere by ruff's TID251, and ``secrets``/``os.urandom`` are
allowed only in this file, so a reviewer never has to ask which generator a token came from.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

_system = secrets.SystemRandom()


def token_bytes(n: int) -> bytes:
    """``n`` unpredictable bytes (keys, nonces, salts)."""
    return os.urandom(n)


def token_urlsafe(n: int = 32) -> str:
    """An unpredictable URL-safe text token carrying ``n`` bytes of entropy."""
    return secrets.token_urlsafe(n)


def choice(options: Sequence[T]) -> T:
    """One of ``options``, unpredictably (reference codes, receipt codes)."""
    return secrets.choice(options)


def uniform(low: float, high: float) -> float:
    """A float in [low, high]: jitter for retries and periodic work, so replicas spread apart."""
    return _system.uniform(low, high)
