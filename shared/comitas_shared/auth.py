"""Resource-server side of OAuth 2.0: validate RFC 9068 JWT access tokens and authorise by scope.

Every service validates tokens itself against the issuer's JWKS (cached; refreshed when a token names a
``kid`` the cache does not know), checks ``iss``, ``aud``, ``exp``, ``typ`` and the revocation deny-list,
and hands endpoints a :class:`Principal`. Only this module produces an :data:`InstitutionId`, so a
repository function that takes one can trust it came from a validated token.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Annotated, Any, NewType

import httpx
from fastapi import Depends, Request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from .errors import InsufficientScope, Unauthorized
from .scopes import parse_scope

InstitutionId = NewType("InstitutionId", str)

ACCEPTED_ALGORITHMS = ["RS256", "PS256", "ES256"]
ACCEPTED_TYPES = {"at+jwt", "application/at+jwt"}
LEEWAY_SECONDS = 30


@dataclass(frozen=True)
class Principal:
    subject: str
    client_id: str
    institution_id: InstitutionId
    scopes: frozenset[str]
    token_id: str
    expires_at: int
    issuer: str
    claims: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def institution_id_for_system(value: str) -> InstitutionId:
    """For code that acts for an institution without a token: event consumers (the event names the
    institution) and the seeding command. Keep its uses few and obvious."""
    return InstitutionId(value)


class DenyList:
    """Revoked token ids until they would have expired anyway. Fed by ``token_revoked`` events."""

    def __init__(self) -> None:
        self._entries: dict[str, float] = {}

    def add(self, jti: str, expires_at: float) -> None:
        self._entries[jti] = expires_at

    def __contains__(self, jti: str) -> bool:
        expires_at = self._entries.get(jti)
        if expires_at is None:
            return False
        if expires_at < time.time() - LEEWAY_SECONDS:
            self._entries.pop(jti, None)
            return False
        return True


class _KeyCache:
    def __init__(self, jwks_url: str, http: httpx.AsyncClient, min_refresh_seconds: float) -> None:
        self.jwks_url = jwks_url
        self.http = http
        self.min_refresh_seconds = min_refresh_seconds
        self.max_age_seconds = 300.0
        self.key_set: KeySet | None = None
        self.kids: set[str] = set()
        self.fetched_at = 0.0
        self.lock = asyncio.Lock()

    async def refresh(self, *, force: bool) -> None:
        async with self.lock:
            if self.key_set is not None and not force:
                return
            if force and time.monotonic() - self.fetched_at < self.min_refresh_seconds:
                return
            response = await self.http.get(self.jwks_url, timeout=5)
            response.raise_for_status()
            document = response.json()
            self.key_set = KeySet.import_key_set(document)
            self.kids = {k.get("kid") for k in document.get("keys", [])}
            self.fetched_at = time.monotonic()

    async def key_set_for(self, kid: str | None) -> KeySet:
        # A retired key leaves the JWKS; re-reading it now and then stops its tokens everywhere.
        stale = time.monotonic() - self.fetched_at > self.max_age_seconds
        await self.refresh(force=stale)
        if kid not in self.kids:
            await self.refresh(force=True)
        if kid not in self.kids or self.key_set is None:
            raise Unauthorized("the token's signing key is not known", headers=_www(error_description="unknown key"))
        return self.key_set


def _www(error: str = "invalid_token", error_description: str = "", scope: str = "") -> dict[str, str]:
    parts = ['Bearer realm="comitas"', f'error="{error}"']
    if error_description:
        parts.append(f'error_description="{error_description}"')
    if scope:
        parts.append(f'scope="{scope}"')
    return {"WWW-Authenticate": ", ".join(parts)}


class TokenValidator:
    """Validates bearer tokens from the platform issuer and any extra trusted OIDC issuers."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str,
        extra_issuers: dict[str, str] | None = None,
        http: httpx.AsyncClient | None = None,
        deny_list: DenyList | None = None,
        min_refresh_seconds: float = 1.0,
    ) -> None:
        self.audience = audience
        self.http = http or httpx.AsyncClient()
        self.deny_list = deny_list or DenyList()
        issuers = {issuer: jwks_url, **(extra_issuers or {})}
        self._caches = {iss: _KeyCache(url, self.http, min_refresh_seconds) for iss, url in issuers.items()}

    async def validate(self, token: str) -> Principal:
        try:
            header, unverified_claims = _peek(token)
        except ValueError:
            raise Unauthorized("the token is not a JWT", headers=_www(error_description="malformed")) from None
        if str(header.get("typ", "")).lower() not in ACCEPTED_TYPES:
            raise Unauthorized("the token is not an access token (typ)", headers=_www(error_description="typ"))
        if header.get("alg") not in ACCEPTED_ALGORITHMS:
            raise Unauthorized("the token's algorithm is not accepted", headers=_www(error_description="alg"))
        issuer = unverified_claims.get("iss")
        cache = self._caches.get(issuer) if isinstance(issuer, str) else None
        if cache is None:
            raise Unauthorized("the token's issuer is not trusted", headers=_www(error_description="issuer"))
        try:
            key_set = await cache.key_set_for(header.get("kid"))
        except httpx.HTTPError:
            raise Unauthorized("the issuer's keys cannot be fetched", headers=_www(error_description="jwks")) from None
        try:
            decoded = jwt.decode(token, key_set, algorithms=ACCEPTED_ALGORITHMS)
        except (JoseError, ValueError):
            raise Unauthorized("the token's signature does not verify", headers=_www(error_description="signature")) from None
        claims = decoded.claims
        self._check_claims(claims, issuer)
        return Principal(
            subject=str(claims["sub"]),
            client_id=str(claims.get("client_id", claims["sub"])),
            institution_id=InstitutionId(str(claims["institution_id"])),
            scopes=parse_scope(claims.get("scope")),
            token_id=str(claims["jti"]),
            expires_at=int(claims["exp"]),
            issuer=issuer,
            claims=dict(claims),
        )

    def _check_claims(self, claims: dict[str, Any], issuer: str) -> None:
        now = time.time()
        for name in ("sub", "exp", "iat", "jti", "institution_id"):
            if name not in claims:
                raise Unauthorized(f"the token lacks the {name} claim", headers=_www(error_description=name))
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.audience not in audiences:
            raise Unauthorized("the token is not meant for this audience", headers=_www(error_description="aud"))
        if not isinstance(claims["exp"], (int, float)) or claims["exp"] < now - LEEWAY_SECONDS:
            raise Unauthorized("the token has expired", headers=_www(error_description="expired"))
        if isinstance(claims.get("nbf"), (int, float)) and claims["nbf"] > now + LEEWAY_SECONDS:
            raise Unauthorized("the token is not valid yet", headers=_www(error_description="nbf"))
        if str(claims["jti"]) in self.deny_list:
            raise Unauthorized("the token has been revoked", headers=_www(error_description="revoked"))

    async def aclose(self) -> None:
        await self.http.aclose()


def _peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims before verification: only to choose the issuer's key set and to reject
    ``alg: none`` or a wrong ``typ`` early. Nothing read here is trusted until the signature verifies."""
    import base64
    import json

    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a compact JWS")

    def part(segment: str) -> dict[str, Any]:
        padded = segment + "=" * (-len(segment) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(value, dict):
            raise ValueError("not an object")
        return value

    try:
        return part(parts[0]), part(parts[1])
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(str(exc)) from exc


async def authenticate(request: Request) -> Principal:
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer access token is required", headers={"WWW-Authenticate": 'Bearer realm="comitas"'})
    validator: TokenValidator = request.app.state.token_validator
    principal = await validator.validate(token.strip())
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def require_scopes(*required: str) -> Any:
    """Dependency: the caller's token must carry every scope in ``required``."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        missing = [s for s in required if s not in principal.scopes]
        if missing:
            raise InsufficientScope(
                f"this call needs the scope {' '.join(missing)}",
                error="insufficient_scope",
                required_scopes=list(required),
                headers=_www(error="insufficient_scope", scope=" ".join(required)),
            )
        return principal

    return Depends(dependency)


def Scoped(*required: str) -> Any:
    """``principal: Scoped("complaints:read")`` in an endpoint signature."""
    return Annotated[Principal, require_scopes(*required)]
