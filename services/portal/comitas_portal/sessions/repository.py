"""Every query of sessions and sign-ins. A session or a sign-in is found by the hash of what the browser
holds (the cookie, the ``state``), before any institution is known: that hash is what tells the
institution (CONTRIBUTING.md, queries across institutions)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.db import rows_affected

from .models import OfficerPreference, PortalSession, SignIn


async def add(session: AsyncSession, row: PortalSession | SignIn | OfficerPreference) -> None:
    session.add(row)
    await session.flush()


async def session_by_hash(session: AsyncSession, id_hash: str) -> PortalSession | None:
    return await session.get(PortalSession, id_hash)


async def touch(session: AsyncSession, id_hash: str, *, at: datetime, expires_at: datetime) -> None:
    await session.execute(update(PortalSession).where(PortalSession.id_hash == id_hash)  # type: ignore[arg-type]
                          .values(last_seen_at=at, expires_at=expires_at))


async def end(session: AsyncSession, id_hash: str, *, at: datetime) -> bool:
    result = await session.execute(
        update(PortalSession).where(PortalSession.id_hash == id_hash,  # type: ignore[arg-type]
                                    PortalSession.ended_at.is_(None))  # type: ignore[union-attr]
        .values(ended_at=at))
    return rows_affected(result) == 1


async def claim_refresh(session: AsyncSession, id_hash: str, *, token_jti: str, now: datetime,
                        until: datetime) -> bool:
    """Takes the session's refresh lease, if its token is still ``token_jti`` and nobody holds the lease;
    True when this call took it."""
    result = await session.execute(
        update(PortalSession).where(
            PortalSession.id_hash == id_hash,  # type: ignore[arg-type]
            PortalSession.token_jti == token_jti,  # type: ignore[arg-type]
            PortalSession.ended_at.is_(None),  # type: ignore[union-attr]
            or_(PortalSession.refresh_claimed_until.is_(None),  # type: ignore[union-attr]
                PortalSession.refresh_claimed_until < now))  # type: ignore[operator]
        .values(refresh_claimed_until=until))
    return rows_affected(result) == 1


async def store_tokens(session: AsyncSession, id_hash: str, *, previous_jti: str, sealed_tokens: bytes, token_jti: str,
                       token_expires_at: datetime, scopes: str) -> bool:
    """The refreshed tokens, in place of ``previous_jti``'s, and the lease released."""
    result = await session.execute(
        update(PortalSession).where(PortalSession.id_hash == id_hash,  # type: ignore[arg-type]
                                    PortalSession.token_jti == previous_jti)  # type: ignore[arg-type]
        .values(sealed_tokens=sealed_tokens, token_jti=token_jti, token_expires_at=token_expires_at, scopes=scopes,
                refresh_claimed_until=None))
    return rows_affected(result) == 1


async def release_refresh(session: AsyncSession, id_hash: str, *, sealed_tokens: bytes | None = None) -> None:
    """The lease released (a refresh that failed); with ``sealed_tokens``, the tokens replaced (a refresh
    token identity refused is dropped, so that nobody presents it again)."""
    values: dict[str, object] = {"refresh_claimed_until": None}
    if sealed_tokens is not None:
        values["sealed_tokens"] = sealed_tokens
    await session.execute(update(PortalSession).where(PortalSession.id_hash == id_hash)  # type: ignore[arg-type]
                          .values(**values))


async def set_language(session: AsyncSession, id_hash: str, language: str) -> None:
    await session.execute(update(PortalSession).where(PortalSession.id_hash == id_hash)  # type: ignore[arg-type]
                          .values(language=language))


async def sign_in_by_state(session: AsyncSession, state_hash: str) -> SignIn | None:
    return await session.get(SignIn, state_hash)


async def use_sign_in(session: AsyncSession, state_hash: str, *, at: datetime) -> bool:
    """Marks a sign-in used; False when it was used already (a replayed callback)."""
    result = await session.execute(
        update(SignIn).where(SignIn.state_hash == state_hash, SignIn.used_at.is_(None))  # type: ignore[arg-type,union-attr]
        .values(used_at=at))
    return rows_affected(result) == 1


async def preference(session: AsyncSession, user_id: str, institution_id: str) -> OfficerPreference | None:
    return (await session.execute(select(OfficerPreference).where(
        OfficerPreference.user_id == user_id,  # type: ignore[arg-type]
        OfficerPreference.institution_id == institution_id))).scalar_one_or_none()  # type: ignore[arg-type]


async def purge(session: AsyncSession, *, before: datetime) -> None:
    """Sessions and sign-ins that ended or expired before ``before``, of every institution: housekeeping."""
    await session.execute(delete(PortalSession).where(or_(
        PortalSession.expires_at < before, PortalSession.ended_at < before)))  # type: ignore[arg-type,operator]
    await session.execute(delete(SignIn).where(SignIn.expires_at < before))  # type: ignore[arg-type]
