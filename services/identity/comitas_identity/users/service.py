"""Register liaison officers and check their credentials."""

from __future__ import annotations

import re
from datetime import datetime

from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared import randomness
from comitas_shared.scopes import unknown_scopes

from ..institutions import service as institutions
from . import repository
from .models import UserAccount
from .passwords import DUMMY_HASH, MIN_PASSWORD_LENGTH, hash_password, verify_password
from .schemas import OfficerAccount

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def register(session: AsyncSession, *, institution_id: str, email: str, name: str, password: str,
                   scopes: list[str], now: datetime) -> str:
    email = normalise_email(email)
    if not _EMAIL.match(email) or len(email) > 320:
        raise ValueError(f"email: {email!r} is not an e-mail address")
    if not name.strip():
        raise ValueError("name: required")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    if unknown := unknown_scopes(set(scopes)):
        raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))}")
    if not await institutions.exists(session, institution_id):
        raise ValueError(f"no institution {institution_id}")
    if await repository.by_email(session, email) is not None:
        raise ValueError(f"a user with the e-mail {email} already exists")
    user_id = f"usr_{randomness.token_bytes(8).hex()}"
    password_hash = await to_thread.run_sync(hash_password, password)
    await repository.add(session, UserAccount(id=user_id, institution_id=institution_id, email=email,
                                              name=name.strip(), password_hash=password_hash,
                                              scopes=sorted(set(scopes)), active=True, created_at=now))
    return user_id


async def get(session: AsyncSession, user_id: str) -> OfficerAccount | None:
    row = await repository.get(session, user_id)
    return OfficerAccount.of(row) if row is not None else None


async def by_email(session: AsyncSession, email: str) -> OfficerAccount | None:
    row = await repository.by_email(session, normalise_email(email))
    return OfficerAccount.of(row) if row is not None else None


async def can_sign_in(session: AsyncSession, officer: OfficerAccount) -> bool:
    """An officer signs in while active and while the institution is."""
    return officer.active and await institutions.is_active(session, officer.institution_id)


async def authenticate(session: AsyncSession, *, email: str, password: str) -> OfficerAccount | None:
    """The officer these credentials belong to, if they may sign in; scrypt runs off the event loop."""
    row = await repository.by_email(session, normalise_email(email))
    ok = await to_thread.run_sync(verify_password, password, row.password_hash if row else DUMMY_HASH)
    if row is None or not ok:
        return None
    officer = OfficerAccount.of(row)
    return officer if await can_sign_in(session, officer) else None
