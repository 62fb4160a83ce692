"""Authlib's authorization server, run over a snapshot of the rows a request needs.

Authlib's server classes are synchronous: while they run they call back for the client, the code, the
signing key. Our storage is asynchronous. So each request first loads everything those callbacks can
ask for — a handful of rows named by the request itself (see ``service.py``) — into a :class:`Snapshot`,
then runs Authlib over it, and Authlib's writes are collected as :class:`Effects`, which the service
writes in the request's transaction. Writes that must happen once (a code redeemed, an assertion jti
accepted) are settled by the database at that point, so a race between two requests has one winner.

Grants: client_credentials and authorization_code with PKCE (S256 only). Client authentication:
client_secret_basic, client_secret_post, private_key_jwt (RFC 7523) and, for public clients at the
token endpoint, none. Introspection (RFC 7662) and revocation (RFC 7009) of our own RFC 9068 tokens.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import (
    AccessDeniedError,
    AuthorizationServer,
    ClientMixin,
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Payload,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, ClientCredentialsGrant
from authlib.oauth2.rfc6749.models import AuthorizationCodeMixin, TokenMixin
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from comitas_shared.scopes import SCOPES

from ..keys.crypto import ALGORITHM
from .domain import ASSERTION_ALGORITHMS, SECRET_METHODS, allowed_scope, hash_code, verify_secret

OAuthResponse = tuple[int, Any, list[tuple[str, str]]]
ENDPOINT_AUTH_METHODS = [*SECRET_METHODS, "private_key_jwt"]


# --- what the request needs, loaded before Authlib runs ------------------------------------------


@dataclass(frozen=True)
class Client(ClientMixin):
    client_id: str
    institution_id: str
    name: str
    auth_method: str
    secret_hash: str | None
    jwks: dict[str, Any] | None
    scopes: tuple[str, ...]
    redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # With several registered URIs the request must name one (RFC 6749 §3.1.2.3).
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        return allowed_scope(scope_to_list(scope), self.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris  # exact match, RFC 9700 §4.1.3

    def check_client_secret(self, client_secret: str) -> bool:
        return verify_secret(self.secret_hash, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.auth_method in SECRET_METHODS:
            # A secret is a secret whether it comes in the Authorization header or in the form.
            return method in SECRET_METHODS
        return method == self.auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass(frozen=True)
class Officer:
    """A liaison officer who may sign in (active, of an active institution)."""

    id: str
    institution_id: str
    scopes: tuple[str, ...]

    def get_user_id(self) -> str:
        return self.id


@dataclass(frozen=True)
class Code(AuthorizationCodeMixin):
    code_hash: str
    client_id: str
    user_id: str
    redirect_uri: str | None
    scope: str
    code_challenge: str
    code_challenge_method: str
    expires_at: int
    consumed: bool
    token_jti: str | None
    token_expires_at: int | None

    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass(frozen=True)
class AccessToken(TokenMixin):
    """One of our own access tokens, signature and issuer verified."""

    claims: dict[str, Any]
    revoked: bool
    now: int

    @property
    def jti(self) -> str:
        return str(self.claims["jti"])

    @property
    def institution_id(self) -> str | None:
        return self.claims.get("institution_id")

    def check_client(self, client: Client) -> bool:
        return self.claims.get("client_id") == client.client_id or "admin" in client.scopes

    def get_scope(self) -> str:
        return str(self.claims.get("scope", ""))

    def get_expires_in(self) -> int:
        return int(self.claims["exp"]) - self.now

    def is_expired(self) -> bool:
        return int(self.claims["exp"]) <= self.now

    def is_revoked(self) -> bool:
        return self.revoked


@dataclass
class Snapshot:
    now: int
    clients: dict[str, Client] = field(default_factory=dict)
    used_assertions: set[tuple[str, str]] = field(default_factory=set)
    code: Code | None = None
    # The officer of ``code`` at the token endpoint; the one signing in at the authorization endpoint.
    officer: Officer | None = None
    signing_key: RSAKey | None = None
    verification_keys: KeySet | None = None
    revoked_jtis: set[str] = field(default_factory=set)


# --- what Authlib decided, written afterwards ----------------------------------------------------


@dataclass(frozen=True)
class IssuedCode:
    code_hash: str
    client_id: str
    user_id: str
    redirect_uri: str | None
    scope: str
    code_challenge: str
    code_challenge_method: str
    expires_at: int


@dataclass
class Effects:
    assertions: list[tuple[str, str, int]] = field(default_factory=list)  # client_id, jti, exp
    issued_codes: list[IssuedCode] = field(default_factory=list)
    issued_tokens: list[dict[str, Any]] = field(default_factory=list)  # claims
    redeemed_code: tuple[str, dict[str, Any]] | None = None  # code hash, claims of the token it bought
    replayed_code: Code | None = None
    revocations: list[dict[str, Any]] = field(default_factory=list)  # claims


@dataclass(frozen=True)
class ServerConfig:
    issuer: str
    audience: str
    token_lifetime: int
    code_lifetime: int
    assertion_max_lifetime: int
    # Where a private_key_jwt assertion may be addressed: the issuer and our endpoints (RFC 7523 §3).
    assertion_audiences: tuple[str, ...]


# --- Authlib's request over a parsed form --------------------------------------------------------


class _Payload(OAuth2Payload):
    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in items:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class FormRequest(OAuth2Request):
    """An OAuth request: method, public URL, headers and the query (GET) or form (POST) parameters."""

    def __init__(self, method: str, uri: str, headers: Any, items: list[tuple[str, str]]) -> None:
        super().__init__(method, uri, headers=headers)
        self.payload = _Payload(items)

    @property
    def args(self) -> dict[str, str]:
        return self.payload.data

    @property
    def form(self) -> dict[str, str]:
        return self.payload.data


# --- the pieces ---------------------------------------------------------------------------------


class PrivateKeyJWT(JWTBearerClientAssertion):
    """RFC 7523 client authentication with a key from the client's registered JWK Set."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, server: ComitasAuthorizationServer) -> None:
        super().__init__(validate_jti=True, leeway=30)
        self.server = server

    def get_audiences(self) -> list[str]:
        return list(self.server.config.assertion_audiences)

    def resolve_client_public_key(self, client: Client) -> KeySet:
        if not client.jwks:
            raise InvalidClientError(description="The client has no registered keys.")
        return KeySet.import_key_set(client.jwks)

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> dict[str, Any]:
        # As Authlib's, but only asymmetric algorithms: the key set is public.
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGORITHMS)
        except (JoseError, ValueError) as exc:
            raise InvalidClientError(description="The client assertion does not verify.") from exc
        self.verify_claims(token.claims)
        return token.claims

    def verify_claims(self, claims: jwt.Claims) -> None:
        exp = claims.get("exp")
        limit = self.server.snapshot.now + self.server.config.assertion_max_lifetime
        if isinstance(exp, (int, float)) and exp > limit:
            raise InvalidClientError(description="The client assertion expires too far in the future.")
        if len(str(claims.get("jti", ""))) > 255:
            raise InvalidClientError(description="The client assertion's jti is too long.")
        super().verify_claims(claims)

    def validate_jti(self, claims: dict[str, Any], jti: Any) -> bool:
        key = (str(claims["sub"]), str(jti))
        effects = self.server.effects
        if key in self.server.snapshot.used_assertions or any(a[:2] == key for a in effects.assertions):
            return False
        effects.assertions.append((*key, int(claims["exp"])))
        return True


class AccessTokenGenerator(JWTBearerTokenGenerator):
    """RFC 9068 access tokens, signed by the active key, with the platform's ``institution_id`` claim."""

    def __init__(self, server: ComitasAuthorizationServer) -> None:
        super().__init__(issuer=server.config.issuer, alg=ALGORITHM,
                         expires_generator=server.config.token_lifetime)
        self.server = server

    def access_token_generator(self, client: Client, grant_type: str, user: Officer | None,
                               scope: str) -> str:
        # Replaces Authlib's to read the clock once (iat = nbf), to name the key (kid) and to keep the
        # claims for the service (revocation of a replayed code's token needs its jti and exp).
        key = self.server.snapshot.signing_key
        if key is None:
            raise RuntimeError("no signing key loaded for this request")
        now = self.server.snapshot.now
        claims = {
            "iss": self.issuer,
            "sub": user.get_user_id() if user else client.client_id,
            "aud": self.server.config.audience,
            "exp": now + self.server.config.token_lifetime,
            "iat": now,
            "nbf": now,
            "jti": secrets.token_urlsafe(24),
            "client_id": client.client_id,
            "scope": scope,
            "institution_id": user.institution_id if user else client.institution_id,
        }
        self.server.effects.issued_tokens.append(claims)
        header = {"alg": self.alg, "typ": "at+jwt", "kid": key.kid}
        return jwt.encode(header, claims, key, algorithms=[self.alg])


class ClientCredentials(ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ENDPOINT_AUTH_METHODS

    def validate_token_request(self) -> None:
        super().validate_token_request()
        # Stricter than Authlib's default (which narrows): asking for a scope one was not granted is
        # an error the caller should see, not a silently smaller token.
        requested = set(scope_to_list(self.request.payload.scope) or [])
        if not requested <= set(self.client.scopes):
            missing = " ".join(sorted(requested - set(self.client.scopes)))
            raise InvalidScopeError(f"The client is not granted: {missing}")


class S256CodeChallenge(CodeChallenge):
    """PKCE is required of every client, with S256 only (RFC 9700 §2.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send a code_challenge")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCode(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [*ENDPOINT_AUTH_METHODS, "none"]

    @property
    def _server(self) -> ComitasAuthorizationServer:
        return self.server

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        officer: Officer = request.user
        client: Client = request.client
        # Requested ∩ client's (request.scope, from Client.get_allowed_scope) ∩ the officer's.
        scopes = sorted(set(scope_to_list(request.scope) or []) & set(officer.scopes))
        if not scopes:
            raise AccessDeniedError("None of the requested scopes is granted to this officer.",
                                    redirect_uri=request.payload.redirect_uri
                                    or client.get_default_redirect_uri())
        data = request.payload.data
        self._server.effects.issued_codes.append(IssuedCode(
            code_hash=hash_code(code), client_id=client.client_id, user_id=officer.id,
            redirect_uri=request.payload.redirect_uri, scope=" ".join(scopes),
            code_challenge=data["code_challenge"], code_challenge_method=data["code_challenge_method"],
            expires_at=self._server.snapshot.now + self._server.config.code_lifetime,
        ))

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        found = self._server.snapshot.code
        if found is None or found.code_hash != hash_code(code) or found.client_id != client.client_id:
            return None
        if found.consumed:
            self._server.effects.replayed_code = found
            return None
        if found.expires_at <= self._server.snapshot.now:
            return None
        return found

    def delete_authorization_code(self, authorization_code: Code) -> None:
        # Kept, marked used, with the token it bought (see models.AuthorizationCode).
        effects = self._server.effects
        effects.redeemed_code = (authorization_code.code_hash, effects.issued_tokens[-1])

    def authenticate_user(self, authorization_code: Code) -> Officer | None:
        officer = self._server.snapshot.officer
        return officer if officer is not None and officer.id == authorization_code.user_id else None


class _OwnTokens:
    """Introspection and revocation take only our own access tokens; unknown hints are ignored
    (RFC 7009 §2.1, RFC 7662 §2.1)."""

    CLIENT_AUTH_METHODS = ENDPOINT_AUTH_METHODS
    server: ComitasAuthorizationServer

    def check_params(self, request: OAuth2Request, client: Client) -> None:
        if not request.form.get("token"):
            raise InvalidRequestError("Missing 'token' parameter.")

    def query_token(self, token_string: str, token_type_hint: str | None) -> AccessToken | None:
        return self.server.read_token(token_string)


class Introspection(_OwnTokens, IntrospectionEndpoint):
    def check_permission(self, token: AccessToken, client: Client, request: OAuth2Request) -> bool:
        # A client sees the tokens issued to it and its institution's; the platform's admin sees all.
        return ("admin" in client.scopes or token.institution_id == client.institution_id
                or token.claims.get("client_id") == client.client_id)

    def introspect_token(self, token: AccessToken) -> dict[str, Any]:
        shown = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "nbf", "jti", "institution_id")
        claims = token.claims
        return {"active": True, "token_type": "Bearer", **{k: claims[k] for k in shown if k in claims}}


class Revocation(_OwnTokens, RevocationEndpoint):
    def authenticate_token(self, request: OAuth2Request, client: Client) -> AccessToken | None:
        self.check_params(request, client)
        token = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        # Another client's token is treated as unknown: 200 and nothing revoked, so that the answer
        # does not tell the caller the token is valid.
        if token is None or token.is_expired() or not token.check_client(client):
            return None
        return token

    def revoke_token(self, token: AccessToken, request: OAuth2Request) -> None:
        if not token.is_revoked():
            self.server.effects.revocations.append(token.claims)


class ComitasAuthorizationServer(AuthorizationServer):
    """One per request: it answers from ``snapshot`` and records its writes in ``effects``."""

    def __init__(self, config: ServerConfig, snapshot: Snapshot) -> None:
        super().__init__(scopes_supported=sorted(SCOPES))
        self.config = config
        self.snapshot = snapshot
        self.effects = Effects()
        self.register_client_auth_method("private_key_jwt", PrivateKeyJWT(self))
        self.register_token_generator("default", AccessTokenGenerator(self))
        self.register_grant(ClientCredentials)
        self.register_grant(AuthorizationCode, [S256CodeChallenge(required=True)])
        self.register_endpoint(Introspection(self))
        self.register_endpoint(Revocation(self))

    def query_client(self, client_id: str) -> Client | None:
        return self.snapshot.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """Access tokens are self-contained JWTs: nothing to store (their claims are in ``effects``)."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signal listeners."""

    def create_oauth2_request(self, request: FormRequest) -> FormRequest:
        return request

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> OAuthResponse:
        return status, body, headers

    def error_response(self, error: OAuth2Error) -> OAuthResponse:
        return self.handle_response(*error())

    def read_token(self, value: str) -> AccessToken | None:
        """Our access token if ``value`` is one (signature by a key still in the JWKS, typ, issuer)."""
        keys = self.snapshot.verification_keys
        if keys is None:
            return None
        try:
            decoded = jwt.decode(value, keys, algorithms=[ALGORITHM])
        except (JoseError, ValueError, TypeError):
            return None
        claims = decoded.claims
        if decoded.header.get("typ") != "at+jwt" or claims.get("iss") != self.config.issuer:
            return None
        if not all(isinstance(claims.get(name), str) for name in ("jti", "client_id")):
            return None
        if not isinstance(claims.get("exp"), int):
            return None
        return AccessToken(claims=dict(claims), revoked=claims["jti"] in self.snapshot.revoked_jtis,
                           now=self.snapshot.now)
