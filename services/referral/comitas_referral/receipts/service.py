"""Receipts: attest a hand-over in the transition's own transaction, read a referral's chain, publish
and rotate the signing keys. Never commits: the caller's transaction does.

Other features call :func:`attest` (with the :class:`ReceiptSigner` built once in ``create_app`` by
:func:`signer_for`) and store the :class:`~.schemas.ReceiptHead` it returns on the referral and in the
event; ``INTEGRATION.md`` beside this file has the exact lines."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from joserfc.jwk import ECKey
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared import randomness
from comitas_shared.auth import InstitutionId
from comitas_shared.clock import Clock
from comitas_shared.db import Database
from comitas_shared.errors import Problem
from comitas_shared.settings import ServiceSettings

from . import crypto, domain, repository
from .models import Receipt, ReceiptKey
from .repository import ACTIVE, PREVIOUS, RETIRED
from .schemas import ReceiptChainOut, ReceiptHead, ReceiptOut

if TYPE_CHECKING:
    from fastapi import FastAPI

    from comitas_shared.app import Platform

__all__ = ["DEFAULT_ROTATION", "ReceiptHead", "ReceiptRace", "ReceiptSigner", "attest", "chain_for",
           "ensure_active_key", "public_jwks", "retire", "rotate", "rotate_if_due",
           "signer_for", "start_receipt_keys"]

log = logging.getLogger(__name__)


class ReferralParties(Protocol):
    """What a receipt needs of the referral it attests: the referral's row satisfies it, and this
    feature does not have to reach into the referrals feature's models for it."""

    @property
    def id(self) -> str: ...
    @property
    def sender_institution_id(self) -> str: ...
    @property
    def recipient_institution_id(self) -> str: ...

DEFAULT_ROTATION = timedelta(days=90)
# How often each replica looks whether the active key is due for replacement.
ROTATION_CHECK_SECONDS = 3600.0


class ReceiptRace(Problem):
    """Another replica attested the same referral at the same moment: this transition lost the race."""

    status, slug, title = 409, "concurrent-transition", "Another change to this referral came first"


# --- keys -------------------------------------------------------------------------------------------

class ReceiptSigner:
    """Signs receipts with the active key. Key rows are read on each use (so a rotation by another
    replica or by the command takes effect at once); only unsealed private keys are cached."""

    def __init__(self, master_key: str, *, issuer: str, rotate_every: timedelta | None = DEFAULT_ROTATION) -> None:
        self._master_key = master_key
        self.issuer = issuer.rstrip("/")
        self.rotate_every = rotate_every
        self._private: dict[str, ECKey] = {}

    def unseal(self, row: ReceiptKey) -> ECKey:
        key = self._private.get(row.kid)
        if key is None:
            key = crypto.unseal(self._master_key, row.kid, row.sealed_private_key)
            self._private[row.kid] = key
        return key

    def opens(self, row: ReceiptKey) -> bool:
        try:
            self.unseal(row)
        except crypto.KeyUnsealingError:
            return False
        return True

    def new_row(self, now: datetime) -> ReceiptKey:
        key = crypto.new_signing_key()
        self._private[key.kid or ""] = key
        return ReceiptKey(kid=key.kid, algorithm=domain.ALGORITHM, state=ACTIVE, public_jwk=crypto.public_jwk(key),
                          sealed_private_key=crypto.seal(self._master_key, key), created_at=now)

    async def signing_key(self, session: AsyncSession, now: datetime) -> ECKey:
        """The active key. On a database where start-up never created one, it is created here, in the
        caller's transaction (start_receipt_keys normally did it before the first request)."""
        row = await repository.active_key(session)
        if row is None:
            row = self.new_row(now)
            try:
                await repository.add_key(session, row)
            except IntegrityError:
                raise ReceiptRace("a receipt signing key was being created at the same moment: try again") from None
            log.info("referral: created receipt signing key %s", row.kid)
        return self.unseal(row)


def signer_for(settings: ServiceSettings, *, rotate_every: timedelta | None = DEFAULT_ROTATION) -> ReceiptSigner:
    """The signer of this service: sealed under its master key, issuing as its public URL. No I/O."""
    return ReceiptSigner(settings.master_key.get_secret_value(), issuer=settings.public_url,
                         rotate_every=rotate_every)


async def rotate(session: AsyncSession, signer: ReceiptSigner, *, now: datetime) -> str:
    """A new key signs from now on; the one it replaces stays published (it verifies what it signed)."""
    row = signer.new_row(now)
    await repository.demote_active(session, now)
    await repository.add_key(session, row)
    return row.kid


async def _replace(session: AsyncSession, signer: ReceiptSigner, kid: str, *, now: datetime) -> str | None:
    """Like :func:`rotate`, but only if ``kid`` is still the active key: of replicas that all saw it due,
    the first replaces it and the others find it replaced (None), rather than each adding a key."""
    if not await repository.demote_active(session, now, kid=kid):
        return None
    row = signer.new_row(now)
    await repository.add_key(session, row)
    return row.kid


async def retire(session: AsyncSession, kid: str, *, now: datetime) -> None:
    """Takes a key out of the JWKS: only a replaced key that no receipt names (one that does must keep
    verifying as long as its case lives)."""
    row = await repository.get_key(session, kid)
    if row is None:
        raise ValueError(f"no receipt key {kid}")
    if row.state == ACTIVE:
        raise ValueError(f"receipt key {kid} is the active key: rotate first")
    if row.state == RETIRED:
        return
    used = await repository.receipts_signed_with(session, kid)
    if used:
        raise ValueError(f"receipt key {kid} signed {used} receipts: it stays published while they exist")
    await repository.retire_key(session, kid, now)


async def ensure_active_key(database: Database, signer: ReceiptSigner, *, now: datetime) -> str:
    """Create the first key unless an active one opens with the configured master key (a key sealed
    under an earlier master key is replaced: its public part stays published). Replicas starting
    together may all try: the one-active-key index lets exactly one insert win, the others read it."""
    for _ in range(3):
        async with database.transaction() as session:
            existing = await repository.active_key(session)
            if existing is not None and signer.opens(existing):
                return existing.kid
        try:
            async with database.transaction() as session:
                if existing is not None:
                    log.warning("referral: receipt key %s does not open with the master key: replacing it",
                                existing.kid)
                    replaced = await _replace(session, signer, existing.kid, now=now)
                    if replaced is None:
                        continue
                    return replaced
                row = signer.new_row(now)
                await repository.add_key(session, row)
                log.info("referral: created receipt signing key %s", row.kid)
                return row.kid
        except IntegrityError:
            continue
    raise RuntimeError("referral: no active receipt signing key could be created")


async def rotate_if_due(database: Database, signer: ReceiptSigner, *, now: datetime) -> str | None:
    """The scheduled rotation: replaces the active key once it is ``rotate_every`` old. Returns the new
    key id, or None when nothing was due (or another replica rotated first)."""
    if signer.rotate_every is None:
        return None
    try:
        async with database.transaction() as session:
            active = await repository.active_key(session)
            if active is not None and active.created_at + signer.rotate_every > now:
                return None
            kid = (await _replace(session, signer, active.kid, now=now) if active is not None
                   else await rotate(session, signer, now=now))
    except IntegrityError:
        return None
    if kid is not None:
        log.info("referral: rotated the receipt signing key to %s", kid)
    return kid


async def start_receipt_keys(platform: Platform, app: FastAPI) -> None:
    """Start-up hook: the first key, and the scheduled rotation in the background."""
    signer: ReceiptSigner = app.state.receipt_signer
    await ensure_active_key(platform.database, signer, now=platform.clock())
    if signer.rotate_every is not None:
        platform.background.append(asyncio.create_task(
            rotate_forever(platform.database, signer, clock=platform.clock), name="receipt-key-rotation"))


async def rotate_forever(database: Database, signer: ReceiptSigner, *, clock: Clock,
                         every: float = ROTATION_CHECK_SECONDS) -> None:
    while True:
        await asyncio.sleep(every * randomness.uniform(0.8, 1.2))
        try:
            await rotate_if_due(database, signer, now=clock())
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the next pass tries again
            log.exception("referral: receipt key rotation failed")


async def public_jwks(session: AsyncSession) -> dict[str, list[dict[str, Any]]]:
    return {"keys": [dict(row.public_jwk) for row in await repository.published_keys(session)]}


# --- receipts ---------------------------------------------------------------------------------------

async def _visible_referral(session: AsyncSession, viewer: InstitutionId, referral_id: str) -> Any:
    """The referral as ``viewer`` sees it (404 unless sender or recipient), from the referrals feature.
    Imported here, not at the top: referrals' service calls :func:`attest`, so each needs the other, and
    whichever is imported first must not find the other half-built."""
    from ..referrals import service as referrals_service

    return await referrals_service.visible_referral(session, viewer, referral_id)

async def attest(session: AsyncSession, signer: ReceiptSigner, *, referral: ReferralParties, transition: str,
                 actor_institution_id: str, at: datetime, digests: dict[str, str] | None = None,
                 message_hash: str | None = None) -> ReceiptHead:
    """Signs and appends the next receipt of ``referral`` (the row the caller read as the actor and is
    changing: not read again here) in the caller's transaction, and returns the new head (store it on
    the referral and in the event). The actor must be one of the referral's institutions. If another
    replica appended the same sequence number first, raises :class:`ReceiptRace` and the caller's
    transaction must roll back (it does: the error leaves it)."""
    if actor_institution_id not in (referral.sender_institution_id, referral.recipient_institution_id):
        raise ValueError(f"{actor_institution_id} is not a party to referral {referral.id}")
    referral_id = referral.id
    last = await repository.last(session, InstitutionId(actor_institution_id), referral_id)
    facts = domain.ReceiptFacts(
        referral_id=referral_id, sequence=(last.sequence + 1) if last else 1, transition=transition,
        acting_institution_id=actor_institution_id, at=at, previous_hash=last.hash if last else None,
        digests=digests, message_hash=message_hash)
    key = await signer.signing_key(session, at)
    compact = domain.sign(facts, issuer=signer.issuer, key=key)
    row = Receipt(referral_id=referral_id, sequence=facts.sequence, transition=transition,
                  acting_institution_id=actor_institution_id, at=at, kid=key.kid or "", jws=compact,
                  hash=domain.receipt_hash(compact), previous_hash=facts.previous_hash,
                  sender_institution_id=referral.sender_institution_id,
                  recipient_institution_id=referral.recipient_institution_id)
    try:
        await repository.add(session, row)
    except IntegrityError:
        raise ReceiptRace(f"receipt {facts.sequence} of this referral was just written by another change: "
                          "nothing of this one was kept") from None
    return ReceiptHead(sequence=row.sequence, hash=row.hash)


@dataclass(frozen=True)
class _Claims:
    digests: dict[str, str] | None
    message_hash: str | None


def _claims_of(row: Receipt) -> _Claims:
    """What a stored receipt says about its content (the JWS is the only copy of it)."""
    payload = domain.unverified_claims(row.jws)
    digests = payload.get("digests")
    message_hash = payload.get("message_hash")
    return _Claims(digests=dict(digests) if isinstance(digests, dict) else None,
                   message_hash=message_hash if isinstance(message_hash, str) else None)


def to_out(row: Receipt) -> ReceiptOut:
    claims = _claims_of(row)
    return ReceiptOut(sequence=row.sequence, transition=row.transition, acting_institution_id=row.acting_institution_id,
                      at=row.at, kid=row.kid, hash=row.hash, previous_hash=row.previous_hash,
                      digests=claims.digests, message_hash=claims.message_hash, jws=row.jws)


def head_of(referral: Any) -> ReceiptHead | None:
    """The head the referral records (not recomputed from the receipts: that is what makes it a check)."""
    sequence, hash_ = getattr(referral, "receipt_sequence", None), getattr(referral, "receipt_hash", None)
    if not sequence or not hash_:
        return None
    return ReceiptHead(sequence=sequence, hash=hash_)


async def chain_for(session: AsyncSession, *, institution_id: InstitutionId, referral_id: str,
                    issuer: str) -> ReceiptChainOut:
    """The chain of a referral the caller sent or received (404 otherwise), with the referral's head."""
    referral = await _visible_referral(session, institution_id, referral_id)
    rows = await repository.chain(session, institution_id, referral_id)
    issuer = issuer.rstrip("/")
    return ReceiptChainOut(referral_id=referral_id, issuer=issuer, jwks_uri=f"{issuer}/.well-known/jwks.json",
                           statement=domain.STATEMENT, head=head_of(referral), receipts=[to_out(r) for r in rows])


def keys_summary(rows: list[ReceiptKey]) -> list[dict[str, Any]]:
    return [{"kid": row.kid, "state": row.state, "created_at": row.created_at.isoformat(),
             "replaced_at": row.replaced_at.isoformat() if row.replaced_at else None,
             "published": row.state in (ACTIVE, PREVIOUS)} for row in rows]
