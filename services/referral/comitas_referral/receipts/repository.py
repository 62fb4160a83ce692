"""Every query on receipts and their signing keys. Receipts are seen by the referral's two institutions
(each query says whose view it is); signing keys are platform-wide (no institution owns them, like
identity's token keys), and the one pass that looks at every institution's receipts (is a key still named
by any receipt?) says why."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.auth import InstitutionId
from comitas_shared.db import rows_affected
from comitas_shared.visibility import across_institutions, viewed_by

from .models import Receipt, ReceiptKey

ACTIVE, PREVIOUS, RETIRED = "active", "previous", "retired"


# --- receipts ---------------------------------------------------------------------------------------

async def last(session: AsyncSession, viewer: InstitutionId, referral_id: str) -> Receipt | None:
    query = (select(Receipt).where(Receipt.referral_id == referral_id)
             .order_by(Receipt.sequence.desc()).limit(1))  # type: ignore[attr-defined]
    return (await session.execute(viewed_by(query, viewer))).scalars().first()


async def chain(session: AsyncSession, viewer: InstitutionId, referral_id: str) -> list[Receipt]:
    """The whole chain of one referral, by sequence number."""
    query = select(Receipt).where(Receipt.referral_id == referral_id).order_by(Receipt.sequence)
    return list((await session.execute(viewed_by(query, viewer))).scalars())


async def add(session: AsyncSession, row: Receipt) -> None:
    session.add(row)
    # Flush now: a second writer of the same (referral_id, sequence) must fail here, in the transition.
    await session.flush()


async def receipts_signed_with(session: AsyncSession, kid: str) -> int:
    """Across institutions: how many receipts name ``kid``. A key is retired only when none does, so
    no receipt of any institution stops verifying; the count says nothing about any one of them."""
    query = select(func.count()).select_from(Receipt).where(Receipt.kid == kid)
    return int((await session.execute(
        across_institutions(query, "a signing key leaves the JWKS only when no receipt names it"))).scalar_one())


# --- keys -------------------------------------------------------------------------------------------

async def active_key(session: AsyncSession) -> ReceiptKey | None:
    return (await session.execute(select(ReceiptKey).where(ReceiptKey.state == ACTIVE))).scalars().first()


async def published_keys(session: AsyncSession) -> list[ReceiptKey]:
    """Every key in the JWKS (active and previous), the active one first, then newest first."""
    rows = (await session.execute(
        select(ReceiptKey).where(ReceiptKey.state.in_((ACTIVE, PREVIOUS)))  # type: ignore[attr-defined]
        .order_by(ReceiptKey.created_at.desc(), ReceiptKey.kid)  # type: ignore[attr-defined]
    )).scalars().all()
    return sorted(rows, key=lambda row: row.state != ACTIVE)


async def all_keys(session: AsyncSession) -> list[ReceiptKey]:
    return list((await session.execute(
        select(ReceiptKey).order_by(ReceiptKey.created_at, ReceiptKey.kid))).scalars())


async def get_key(session: AsyncSession, kid: str) -> ReceiptKey | None:
    return await session.get(ReceiptKey, kid)


async def demote_active(session: AsyncSession, now: datetime, *, kid: str | None = None) -> int:
    """The active key becomes a previous one (only if it is ``kid``, when given); how many rows changed."""
    query = update(ReceiptKey).where(ReceiptKey.state == ACTIVE)  # type: ignore[arg-type]
    if kid is not None:
        query = query.where(ReceiptKey.kid == kid)  # type: ignore[arg-type]
    return rows_affected(await session.execute(query.values(state=PREVIOUS, replaced_at=now)))


async def add_key(session: AsyncSession, row: ReceiptKey) -> None:
    session.add(row)
    # Flush now: the one-active-key index must fail here, inside the caller's error handling.
    await session.flush()


async def retire_key(session: AsyncSession, kid: str, at: datetime) -> None:
    await session.execute(update(ReceiptKey).where(ReceiptKey.kid == kid)  # type: ignore[arg-type]
                          .values(state=RETIRED, retired_at=at))
