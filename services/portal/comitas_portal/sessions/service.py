"""Signing officers in and out, and the session that holds their token in between.

The browser holds two opaque values only: the session cookie (after sign-in) and, while a sign-in is on
its way through identity, a binding cookie that ties the ``state`` to the browser that started it (a
callback delivered to another browser is refused: login CSRF). Tokens never leave the server: they are
sealed with a key derived from the master key, with the session's id hash as associated data, so a row
copied onto another session's id does not open.

The access token lives minutes; the refresh token identity issues beside it (rotated at each use, ADR
0071) buys the next one when it is about to expire, one refresh at a time per session (:class:`Refresher`)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared import randomness
from comitas_shared.auth import service_audience
from comitas_shared.db import Database

from ..settings import PortalSettings
from ..upstream import SERVICES
from . import domain, repository
from .models import OfficerPreference, PortalSession, SignIn

NONCE_BYTES = 12
log = logging.getLogger(__name__)


class Sealer:
    """AES-GCM under a key derived (HKDF) from the master key, for the portal's tokens only."""

    def __init__(self, master_key: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"comitas-portal-sessions",
                   info=b"session tokens").derive(master_key.encode())
        self._aead = AESGCM(key)

    def seal(self, value: bytes, *, bound_to: str) -> bytes:
        nonce = randomness.token_bytes(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, value, bound_to.encode())

    def open(self, sealed: bytes, *, bound_to: str) -> bytes | None:
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], bound_to.encode())
        except (InvalidTag, ValueError):
            return None


class SignInFailed(Exception):
    """The sign-in cannot be finished (unknown, used or expired state, another browser, refused code)."""


@dataclass(frozen=True)
class Started:
    authorize_url: str
    state: str
    browser_binding: str


@dataclass(frozen=True)
class Officer:
    """The signed-in officer as pages see them; ``token`` is for calls to the services, never for a page."""

    session_hash: str
    user_id: str
    institution_id: str
    name: str
    email: str
    language: str
    time_zone: str
    scopes: frozenset[str]
    csrf_token: str
    token: str
    token_usable: bool
    token_jti: str = ""
    token_expires_at: datetime | None = None


@dataclass(frozen=True)
class Finished:
    cookie_value: str
    return_to: str
    officer: Officer


def lifetimes(settings: PortalSettings) -> domain.Lifetimes:
    return domain.Lifetimes(idle=timedelta(seconds=settings.session_idle_seconds),
                            maximum=timedelta(seconds=settings.session_max_seconds))


def resources() -> list[str]:
    """The audiences of the officer's one token: every service the portal calls for them (RFC 8707)."""
    return [service_audience(name) for name in SERVICES if name != "identity"]


async def start_sign_in(session: AsyncSession, settings: PortalSettings, sealer: Sealer, *, return_to: str | None,
                        language: str | None, now: datetime) -> Started:
    if not settings.identity_client_id:
        raise SignInFailed("the portal has no OAuth client at identity (identity_client_id is not set)")
    state, verifier, nonce = (randomness.token_urlsafe(32), randomness.token_urlsafe(48),
                              randomness.token_urlsafe(24))
    binding = randomness.token_urlsafe(32)
    state_hash = domain.digest(state)
    await repository.add(session, SignIn(
        state_hash=state_hash, browser_hash=domain.digest(binding),
        sealed_verifier=sealer.seal(verifier.encode(), bound_to=state_hash), nonce=nonce,
        return_to=domain.safe_return_to(return_to), language=language, created_at=now,
        expires_at=now + timedelta(seconds=settings.sign_in_seconds)))
    query = [("response_type", "code"), ("client_id", settings.identity_client_id),
             ("redirect_uri", settings.redirect_uri), ("scope", " ".join(settings.scopes)), ("state", state),
             ("code_challenge", domain.code_challenge(verifier)), ("code_challenge_method", "S256"),
             ("nonce", nonce), *[("resource", resource) for resource in resources()]]
    authorize = f"{settings.identity_url.rstrip('/')}/oauth/authorize?{urlencode(query)}"
    return Started(authorize_url=authorize, state=state, browser_binding=binding)


def _client_auth(settings: PortalSettings) -> tuple[str, str]:
    secret = settings.identity_client_secret.get_secret_value() if settings.identity_client_secret else ""
    return settings.identity_client_id or "", secret


def _claims(jwt: str) -> dict[str, Any]:
    """A JWT's claims read without checking its signature: only for the ID token that identity handed
    to this confidential client itself, on the back channel, in answer to its authenticated request
    (OpenID Connect Core §3.1.3.7, item 6); the access token is checked by identity's userinfo."""
    try:
        payload = jwt.split(".")[1]
        value = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


async def finish_sign_in(session: AsyncSession, settings: PortalSettings, sealer: Sealer, http: httpx.AsyncClient, *,
                         state: str, code: str, browser_binding: str | None, accept_language: str | None,
                         now: datetime) -> Finished:
    state_hash = domain.digest(state)
    pending = await repository.sign_in_by_state(session, state_hash)
    if pending is None or pending.used_at is not None or now >= pending.expires_at:
        raise SignInFailed("this sign-in is unknown, was finished already, or took too long")
    # Spent by any attempt, even a refused one: a code that reached another browser is burnt.
    if not await repository.use_sign_in(session, state_hash, at=now):
        raise SignInFailed("this sign-in was finished already")
    if not browser_binding or domain.digest(browser_binding) != pending.browser_hash:
        raise SignInFailed("this sign-in was started in another browser")
    verifier = sealer.open(pending.sealed_verifier, bound_to=state_hash)
    if verifier is None:
        raise SignInFailed("this sign-in cannot be read")
    identity = settings.identity_url.rstrip("/")
    try:
        answer = await http.post(f"{identity}/oauth/token", auth=_client_auth(settings), data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": settings.redirect_uri,
            "code_verifier": verifier.decode()})
    except httpx.TransportError:
        raise SignInFailed("identity did not answer") from None
    if answer.status_code != 200:
        raise SignInFailed(f"identity refused the code ({answer.status_code})")
    tokens = answer.json()
    access, id_token = tokens.get("access_token"), tokens.get("id_token")
    if not isinstance(access, str) or not isinstance(id_token, str):
        raise SignInFailed("identity's answer has no access token or no ID token")
    id_claims = _claims(id_token)
    audience = id_claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if id_claims.get("nonce") != pending.nonce or settings.identity_client_id not in audiences:
        raise SignInFailed("the ID token is not for this sign-in")
    access_claims = _claims(access)
    try:
        info = await http.get(f"{identity}/oauth/userinfo", headers={"Authorization": f"Bearer {access}"})
    except httpx.TransportError:
        raise SignInFailed("identity did not answer") from None
    user = info.json() if info.status_code == 200 else {}
    if not user.get("sub") or user.get("sub") != access_claims.get("sub"):
        raise SignInFailed("identity does not confirm the officer")
    institution_id = str(access_claims.get("institution_id") or "")
    user_id = str(user.get("sub") or "")
    if not institution_id or not user_id or user_id != id_claims.get("sub"):
        raise SignInFailed("the token names no officer of an institution")
    preference = await repository.preference(session, user_id, institution_id)
    language = (preference.language if preference else None) or pending.language or domain.language_from(accept_language)
    time_zone = await _time_zone(http, identity, access, institution_id)
    cookie = randomness.token_urlsafe(32)
    id_hash = domain.digest(cookie)
    csrf = randomness.token_urlsafe(32)
    expires = datetime.fromtimestamp(int(access_claims.get("exp") or 0), UTC)
    scopes = " ".join(sorted(str(tokens.get("scope") or access_claims.get("scope") or "").split()))
    held = {"access_token": access, "id_token": id_token}
    if isinstance(refresh := tokens.get("refresh_token"), str) and refresh:
        held["refresh_token"] = refresh
    sealed = sealer.seal(json.dumps(held).encode(), bound_to=id_hash)
    await repository.add(session, PortalSession(
        id_hash=id_hash, institution_id=institution_id, user_id=user_id,
        name=str(user.get("name") or user.get("email") or user_id)[:200], email=str(user.get("email") or "")[:320],
        language=language, time_zone=time_zone, sealed_tokens=sealed, token_jti=str(access_claims.get("jti") or ""),
        scopes=scopes, token_expires_at=expires, csrf_token=csrf, created_at=now, last_seen_at=now,
        expires_at=domain.session_expiry(created_at=now, now=now, lifetimes=lifetimes(settings))))
    officer = Officer(session_hash=id_hash, user_id=user_id, institution_id=institution_id,
                      name=str(user.get("name") or user_id), email=str(user.get("email") or ""), language=language,
                      time_zone=time_zone, scopes=frozenset(scopes.split()), csrf_token=csrf, token=access,
                      token_usable=True, token_jti=str(access_claims.get("jti") or ""), token_expires_at=expires)
    return Finished(cookie_value=cookie, return_to=pending.return_to, officer=officer)


async def _time_zone(http: httpx.AsyncClient, identity: str, token: str, institution_id: str) -> str:
    """The institution's time zone from identity's directory (dates are shown in it); UTC if unstated."""
    try:
        answer = await http.get(f"{identity}/v1/institutions/{institution_id}",
                                headers={"Authorization": f"Bearer {token}"})
        zone = answer.json().get("time_zone") if answer.status_code == 200 else None
    except (httpx.TransportError, ValueError):
        zone = None
    return zone if isinstance(zone, str) and zone else "UTC"


@dataclass(frozen=True)
class _Opened:
    row: PortalSession
    tokens: dict[str, Any]


def _hash_of(cookie: str | None) -> str | None:
    """The id hash a session cookie stands for; None for no cookie, or one longer than the portal issues."""
    return domain.digest(cookie) if cookie and len(cookie) <= 128 else None


async def _open(session: AsyncSession, sealer: Sealer, id_hash: str | None, *, now: datetime) -> _Opened | None:
    """A live session's row and its tokens, or None (unknown, ended, expired, or sealed for another id)."""
    row = await repository.session_by_hash(session, id_hash) if id_hash else None
    if row is None or not domain.session_live(expires_at=row.expires_at, ended_at=row.ended_at, now=now):
        return None
    opened = sealer.open(row.sealed_tokens, bound_to=row.id_hash)
    return None if opened is None else _Opened(row, json.loads(opened))


async def current(session: AsyncSession, sealer: Sealer, *, cookie: str | None, now: datetime) -> Officer | None:
    """The session a cookie opens, or None (no cookie, unknown, ended, expired, or sealed for another id);
    read only: neither refreshed nor touched."""
    opened = await _open(session, sealer, _hash_of(cookie), now=now)
    return None if opened is None else _officer(opened.row, opened.tokens["access_token"], now)


def _officer(row: PortalSession, token: str, now: datetime) -> Officer:
    return Officer(session_hash=row.id_hash, user_id=row.user_id, institution_id=row.institution_id, name=row.name,
                   email=row.email, language=row.language, time_zone=row.time_zone,
                   scopes=frozenset(row.scopes.split()), csrf_token=row.csrf_token, token=token,
                   token_usable=domain.token_usable(token_expires_at=row.token_expires_at, now=now),
                   token_jti=row.token_jti, token_expires_at=row.token_expires_at)


def needs_refresh(settings: PortalSettings, officer: Officer, *, now: datetime) -> bool:
    return officer.token_expires_at is not None and domain.token_needs_refresh(
        token_expires_at=officer.token_expires_at, now=now, ahead=timedelta(seconds=settings.token_refresh_seconds))


class Refresher:
    """Refreshes a session's access token with its refresh token, one refresh at a time per session.

    Identity rotates refresh tokens and takes a retired one presented again for a theft (it revokes the
    whole family, and the officer must sign in again). So a session's refresh token must be presented
    once: within this process, a lock per session serialises the SSE stream and the requests racing it;
    across the portal's replicas, a lease in the session's row (a conditional UPDATE committed at once)
    lets one of them present it while the others wait for the row to show the new token, and take that.
    A replica that dies holding the lease blocks nobody past ``refresh_lease_seconds``.

    The refresh is written in transactions of its own, committed as soon as identity answers: the
    request that triggered it may still fail, but the rotated token must not be lost with it."""

    POLL_SECONDS = 0.1

    def __init__(self, settings: PortalSettings, sealer: Sealer, http: httpx.AsyncClient, database: Database,
                 clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.sealer = sealer
        self.http = http
        self.database = database
        self.clock = clock
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def fresh(self, officer: Officer, *, now: datetime) -> Officer | None:
        """The officer as given while their token has a while to live; else :meth:`refresh`'s answer."""
        if not needs_refresh(self.settings, officer, now=now):
            return officer
        return await self.refresh(officer)

    async def refresh(self, officer: Officer) -> Officer | None:
        """The officer with a token fresh from identity (or from another replica's refresh); as given when
        no refresh could be made (no refresh token, identity refused or did not answer); None when the
        session is over."""
        lock = self._locks.get(officer.session_hash)
        if lock is None:
            lock = self._locks[officer.session_hash] = asyncio.Lock()
        async with lock:
            return await self._refresh(officer)

    async def _refresh(self, officer: Officer) -> Officer | None:
        lease = timedelta(seconds=self.settings.refresh_lease_seconds)
        give_up = time.monotonic() + lease.total_seconds() + 5
        while True:
            now = self.clock()
            async with self.database.transaction() as session:
                opened = await _open(session, self.sealer, officer.session_hash, now=now)
                if opened is None:
                    return None
                row, tokens = opened.row, opened.tokens
                if row.token_jti != officer.token_jti:
                    # Refreshed meanwhile, here or by another replica: take its token.
                    return _officer(row, tokens["access_token"], now)
                if not tokens.get("refresh_token"):
                    return officer
                claimed = await repository.claim_refresh(session, row.id_hash, token_jti=row.token_jti, now=now,
                                                         until=now + lease)
            if claimed:
                break
            if time.monotonic() > give_up:
                return officer
            await asyncio.sleep(self.POLL_SECONDS)
        return await self._present(officer, tokens)

    async def _present(self, officer: Officer, tokens: dict[str, Any]) -> Officer:
        """With the lease held: the refresh token to identity, and its answer written."""
        identity = self.settings.identity_url.rstrip("/")
        refused = False
        answer: dict[str, Any] | None = None
        try:
            response = await self.http.post(
                f"{identity}/oauth/token", auth=_client_auth(self.settings),
                data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                timeout=self.settings.refresh_lease_seconds / 3)
            if response.status_code == 200:
                answer = response.json()
            # identity's 5xx may pass; a 4xx (the token revoked, reused or expired, the officer or the
            # client disabled) will not: the officer signs in again.
            refused = 400 <= response.status_code < 500
        except (httpx.TransportError, ValueError):
            # Whether identity rotated the token is unknown; if it did, the next refresh presents a retired
            # token, identity ends the family, and the officer signs in again: safe, if unkind.
            answer = None
        now = self.clock()
        access = answer.get("access_token") if answer else None
        refresh = answer.get("refresh_token") if answer else None
        async with self.database.transaction() as session:
            if not isinstance(access, str) or not isinstance(refresh, str):
                if refused:
                    log.info("portal: identity refused to refresh a session's token; the officer signs in again")
                kept = {k: v for k, v in tokens.items() if k != "refresh_token"} if refused else None
                await repository.release_refresh(session, officer.session_hash, sealed_tokens=None if kept is None
                                                 else self.sealer.seal(json.dumps(kept).encode(),
                                                                       bound_to=officer.session_hash))
                return officer
            claims = _claims(access)
            expires = datetime.fromtimestamp(int(claims.get("exp") or 0), UTC)
            scopes = " ".join(sorted(str((answer or {}).get("scope") or claims.get("scope") or "").split()))
            jti = str(claims.get("jti") or "")
            sealed = self.sealer.seal(json.dumps({**tokens, "access_token": access, "refresh_token": refresh}).encode(),
                                      bound_to=officer.session_hash)
            await repository.store_tokens(session, officer.session_hash, previous_jti=officer.token_jti,
                                          sealed_tokens=sealed, token_jti=jti, token_expires_at=expires,
                                          scopes=scopes)
        return replace(officer, token=access, token_jti=jti, token_expires_at=expires,
                       scopes=frozenset(scopes.split()),
                       token_usable=domain.token_usable(token_expires_at=expires, now=now))


async def signed_in_officer(session: AsyncSession, settings: PortalSettings, sealer: Sealer, refresher: Refresher, *,
                            cookie: str | None, now: datetime) -> Officer | None:
    """The session a cookie opens, its token refreshed first when it is about to expire (ADR 0071).

    The request's own transaction only reads before the refresh (which commits in transactions of its
    own) and writes after it, so the two never wait on each other's locks."""
    opened = await _open(session, sealer, _hash_of(cookie), now=now)
    if opened is None:
        return None
    officer = await refresher.fresh(_officer(opened.row, opened.tokens["access_token"], now), now=now)
    if officer is None:
        return None
    await repository.touch(session, officer.session_hash, at=now, expires_at=domain.session_expiry(
        created_at=opened.row.created_at, now=now, lifetimes=lifetimes(settings)))
    return officer


async def end(session: AsyncSession, settings: PortalSettings, sealer: Sealer, http: httpx.AsyncClient, *,
              cookie: str | None, now: datetime) -> bool:
    """Ends the session and revokes its tokens at identity (RFC 7009): the refresh token (identity ends its
    family, and every access token it bought), then the access token, so that a copy of either, wherever
    it went, stops working at every service (they follow identity's deny-list)."""
    opened = await _open(session, sealer, _hash_of(cookie), now=now)
    if opened is None:
        return False
    tokens = opened.tokens
    await repository.end(session, opened.row.id_hash, at=now)
    revoke = f"{settings.identity_url.rstrip('/')}/oauth/revoke"
    for kind in ("refresh_token", "access_token"):
        if not tokens.get(kind):
            continue
        try:
            await http.post(revoke, auth=_client_auth(settings), data={"token": tokens[kind], "token_type_hint": kind})
        except httpx.TransportError:
            # The session is over either way; the access token dies at its expiry (minutes), the refresh
            # token at its family's end, unused: the portal no longer holds it anywhere.
            log.warning("portal: identity did not answer the revocation of a signed-out session's %s", kind)
    return True


async def choose_language(session: AsyncSession, officer: Officer, language: str, *, now: datetime) -> None:
    if language not in domain.LANGUAGES:
        raise ValueError(language)
    await repository.set_language(session, officer.session_hash, language)
    found = await repository.preference(session, officer.user_id, officer.institution_id)
    if found is None:
        await repository.add(session, OfficerPreference(user_id=officer.user_id, institution_id=officer.institution_id,
                                                        language=language, updated_at=now))
    else:
        found.language = language
        found.updated_at = now
        await session.flush()


async def purge(session: AsyncSession, *, now: datetime) -> None:
    await repository.purge(session, before=now - timedelta(days=1))


def browser_language(accept_language: str | None) -> str:
    """The language of a page shown before sign-in: the first of the browser's the portal speaks."""
    return domain.language_from(accept_language)


LANGUAGES = domain.LANGUAGES


def safe_return_to(value: str | None) -> str:
    """A path of the portal to go back to, never another site."""
    return domain.safe_return_to(value)
