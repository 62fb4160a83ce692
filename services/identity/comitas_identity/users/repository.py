"""Every query on liaison officers' accounts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import Institution, UserAccount


async def get(session: AsyncSession, user_id: str) -> UserAccount | None:
    return await session.get(UserAccount, user_id)


async def by_email(session: AsyncSession, email: str) -> UserAccount | None:
    return (await session.execute(select(UserAccount).where(UserAccount.email == email))).scalars().first()


async def can_sign_in(session: AsyncSession, user: UserAccount) -> bool:
    institution = await session.get(Institution, user.institution_id)
    return user.active and institution is not None and institution.active


async def add(session: AsyncSession, user: UserAccount) -> None:
    session.add(user)
    await session.flush()
