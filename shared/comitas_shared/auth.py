"""Resource-server side of OAuth 2.0: validate RFC 9068 JWT access tokens and authorise by scope.

Every service validates tokens itself against the issuer's JWKS (cached; refreshed when a token names a
``kid`` the cache does not know), checks ``iss``, ``aud`` (its own resource identifier, RFC 8707),
``exp``, ``iat`` (not in the future, and ``exp - iat`` within a maximum lifetime), ``typ`` and the
revocation deny-list, and hands endpoints a :class:`Principal`. Only this module produces an :data:`InstitutionId`, so a
repository function that takes one can trust it came from a validated token.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Annotated, Any, NewType

import httpx
from fastapi import Depends, Request, Security
from fastapi.openapi.models import OAuthFlowAuthorizationCode, OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from .clock import real_timestamp
from .errors import InsufficientScope, Unauthorized
from .scopes import SCOPES, parse_scope
from .settings import ServiceSettings

InstitutionId = NewType("InstitutionId", str)

ACCEPTED_ALGORITHMS = ["RS256", "PS256", "ES256"]
ACCEPTED_TYPES = {"at+jwt", "application/at+jwt"}
LEEWAY_SECONDS = 30
# Access tokens live minutes (identity issues at most an hour): a longer-lived one is refused.
MAX_TOKEN_LIFETIME_SECONDS = 3600
# The audience of every token before resource indicators, still issued to requests that name no
# resource where identity is configured so (docs/adr/0008-audience-per-service.md).
LEGACY_AUDIENCE = "comitas"


def service_audience(service_name: str) -> str:
    """A service's resource identifier (RFC 8707), the ``aud`` of tokens meant for it."""
    return f"urn:comitas:{service_name}"


def legacy_audience_accepted(settings: ServiceSettings) -> bool:
    """Whether a resource server still accepts ``aud: comitas``: its ``accept_legacy_audience`` setting,
    which when unset means yes outside production."""
    value = settings.accept_legacy_audience
    return settings.environment != "production" if value is None else value


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
        if expires_at < real_timestamp() - LEEWAY_SECONDS:
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
        accept_legacy_audience: bool = False,
        max_lifetime_seconds: int = MAX_TOKEN_LIFETIME_SECONDS,
    ) -> None:
        self.audience = audience
        self.max_lifetime_seconds = max_lifetime_seconds
        self.accept_legacy_audience = accept_legacy_audience
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
        if not isinstance(issuer, str) or (cache := self._caches.get(issuer)) is None:
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

    @property
    def accepted_audiences(self) -> frozenset[str]:
        return frozenset({self.audience, LEGACY_AUDIENCE} if self.accept_legacy_audience else {self.audience})

    def _check_claims(self, claims: dict[str, Any], issuer: str) -> None:
        now = real_timestamp()
        for name in ("sub", "exp", "iat", "jti", "institution_id"):
            if name not in claims:
                raise Unauthorized(f"the token lacks the {name} claim", headers=_www(error_description=name))
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if not self.accepted_audiences.intersection(a for a in audiences if isinstance(a, str)):
            raise Unauthorized("the token is not meant for this audience", headers=_www(error_description="aud"))
        exp, iat = claims["exp"], claims["iat"]
        if not isinstance(exp, (int, float)) or exp < now - LEEWAY_SECONDS:
            raise Unauthorized("the token has expired", headers=_www(error_description="expired"))
        if not isinstance(iat, (int, float)) or iat > now + LEEWAY_SECONDS:
            raise Unauthorized("the token claims to be issued in the future", headers=_www(error_description="iat"))
        # A token that lives long is a bearer credential that outlives its revocation window and any
        # rotation: refuse it, whoever signed it.
        if exp - iat > self.max_lifetime_seconds:
            raise Unauthorized("the token lives longer than this service accepts",
                               headers=_www(error_description="lifetime"))
        if isinstance(claims.get("nbf"), (int, float)) and claims["nbf"] > now + LEEWAY_SECONDS:
            raise Unauthorized("the token is not valid yet", headers=_www(error_description="nbf"))
        if str(claims["jti"]) in self.deny_list:
            raise Unauthorized("the token has been revoked", headers=_www(error_description="revoked"))

    async def aclose(self) -> None:
        await self.http.aclose()


def token_validator_for(settings: ServiceSettings, *, http: httpx.AsyncClient,
                        deny_list: DenyList) -> TokenValidator:
    """The validator a service builds from its settings."""
    extra = {iss: f"{iss.rstrip('/')}/.well-known/jwks.json" for iss in settings.extra_issuers}
    return TokenValidator(
        issuer=settings.issuer, audience=settings.resolved_audience,
        jwks_url=settings.resolved_jwks_url, extra_issuers=extra, http=http, deny_list=deny_list,
        accept_legacy_audience=legacy_audience_accepted(settings),
        max_lifetime_seconds=settings.max_token_lifetime_seconds)


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


# The security scheme every protected operation names in OpenAPI, with the scopes it needs (FastAPI
# collects them from ``Security(..., scopes=...)`` below). It only reads the Authorization header
# (``auto_error=False``: the refusals stay ours, as problem+json). Its URLs are relative here and made
# absolute, at the issuer, by comitas_shared.openapi (docs/adr/0016-openapi-that-tells-the-truth.md).
OAUTH2_SCHEME = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(tokenUrl="/oauth/token", scopes=dict(SCOPES)),
        authorizationCode=OAuthFlowAuthorizationCode(authorizationUrl="/oauth/authorize",
                                                     tokenUrl="/oauth/token", scopes=dict(SCOPES)),
    ),
    scheme_name="oauth2",
    description="RFC 9068 JWT access tokens from the Comitas identity service, sent as `Authorization: Bearer`. "
                "Partner systems use the client credentials grant; liaison officers sign in through the "
                "authorization code flow with PKCE. Name the service in the RFC 8707 `resource` parameter.",
    auto_error=False,
)


async def authenticate(request: Request, authorization: Annotated[str | None, Depends(OAUTH2_SCHEME)]
                       ) -> Principal:
    authorization = authorization or ""
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

    # Security rather than Depends: the same dependency, and OpenAPI lists the scopes on the operation.
    return Security(dependency, scopes=list(required))


def bearer_token(request: Request) -> str:
    """The caller's access token as it came (already validated by the route's scope dependency), for a
    service that calls another on the caller's behalf with that very token."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


BearerToken = Annotated[str, Depends(bearer_token)]


def Scoped(*required: str) -> Any:
    """``principal: Scoped("complaints:read")`` in an endpoint signature."""
    return Annotated[Principal, require_scopes(*required)]
