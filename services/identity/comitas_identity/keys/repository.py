"""Every query on signing keys. Keys are platform-wide: no institution owns them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .models import SigningKey

ACTIVE, PREVIOUS, RETIRED = "active", "previous", "retired"


async def active_key(session: AsyncSession) -> SigningKey | None:
    return (await session.execute(select(SigningKey).where(SigningKey.state == ACTIVE))).scalars().first()


async def verifying_keys(session: AsyncSession) -> list[SigningKey]:
    """Every key that still verifies (active and previous), the active one first."""
    rows = (await session.execute(
        select(SigningKey).where(SigningKey.state.in_((ACTIVE, PREVIOUS)))
        .order_by(SigningKey.created_at.desc())
    )).scalars().all()
    return sorted(rows, key=lambda row: row.state != ACTIVE)


async def get(session: AsyncSession, kid: str) -> SigningKey | None:
    return await session.get(SigningKey, kid)


async def demote_active(session: AsyncSession) -> None:
    await session.execute(update(SigningKey).where(SigningKey.state == ACTIVE).values(state=PREVIOUS))


async def add(session: AsyncSession, key: SigningKey) -> None:
    session.add(key)
    # Flush now: the one-active-key index must fail here, inside the caller's error handling.
    await session.flush()


async def retire(session: AsyncSession, kid: str, at: datetime) -> None:
    await session.execute(update(SigningKey).where(SigningKey.kid == kid)
                          .values(state=RETIRED, retired_at=at))
