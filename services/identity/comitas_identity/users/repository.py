"""Every query on liaison officers' accounts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import UserAccount


async def get(session: AsyncSession, user_id: str) -> UserAccount | None:
    return await session.get(UserAccount, user_id)


async def by_email(session: AsyncSession, email: str) -> UserAccount | None:
    if "\x00" in email:
        return None  # no address has one, and PostgreSQL refuses NUL in a text parameter
    return (await session.execute(select(UserAccount).where(UserAccount.email == email))).scalars().first()


async def add(session: AsyncSession, user: UserAccount) -> None:
    session.add(user)
    await session.flush()
