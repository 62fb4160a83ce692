"""Register liaison officers and check their credentials."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.scopes import unknown_scopes

from ..institutions import repository as institutions
from ..models import UserAccount
from . import repository
from .passwords import DUMMY_HASH, MIN_PASSWORD_LENGTH, hash_password, verify_password

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
    if await institutions.get(session, institution_id) is None:
        raise ValueError(f"no institution {institution_id}")
    if await repository.by_email(session, email) is not None:
        raise ValueError(f"a user with the e-mail {email} already exists")
    user_id = f"usr_{uuid.uuid4().hex[:16]}"
    password_hash = await to_thread.run_sync(hash_password, password)
    await repository.add(session, UserAccount(id=user_id, institution_id=institution_id, email=email,
                                              name=name.strip(), password_hash=password_hash,
                                              scopes=sorted(set(scopes)), active=True, created_at=now))
    return user_id


async def authenticate(session: AsyncSession, *, email: str, password: str) -> UserAccount | None:
    """The officer these credentials belong to, if they may sign in; scrypt runs off the event loop."""
    user = await repository.by_email(session, normalise_email(email))
    ok = await to_thread.run_sync(verify_password, password, user.password_hash if user else DUMMY_HASH)
    if user is None or not ok or not await repository.can_sign_in(session, user):
        return None
    return user
