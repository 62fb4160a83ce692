"""OAuth 2.0 Token Exchange (RFC 8693), the client side: a platform service called with an institution's
token asks identity for a token for another service, carrying that institution's authority only.

DESIGN §3: a service calling another on an institution's behalf never uses a platform-wide authority.
The service authenticates with its own client (``client_secret_basic``; the demo's ``svc_<service>``
clients), presents the caller's token as ``subject_token``, names the one service it calls
(``resource``, RFC 8707) and the scopes the call needs; identity answers a token for that audience,
narrowed to those scopes (the caller's token must hold them), with an ``act`` claim naming the service.

Exchanged tokens are cached per (caller's token, resource, scopes) until shortly before they expire,
so a burst of calls for one request asks identity once.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Iterable

import httpx

from .errors import InsufficientScope, Problem, ServiceUnavailable

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
_CACHE_SIZE = 512


class ExchangeRefused(Problem):
    status, slug, title = 403, "token-exchange-refused", "The caller's token cannot be exchanged for this call"


class TokenExchanger:
    """Exchanges the tokens a service is called with, with the service's own client at identity."""

    def __init__(self, http: httpx.AsyncClient, *, identity_url: str, client_id: str | None,
                 client_secret: str | None, timeout: float = 10.0) -> None:
        self.http = http
        self.token_url = f"{identity_url.rstrip('/')}/oauth/token"
        self.client_id = client_id
        self.client_secret = client_secret
        self.timeout = timeout
        self._cache: OrderedDict[tuple[str, str, str], tuple[str, float]] = OrderedDict()

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret)

    async def exchange(self, subject_token: str, *, resource: str, scopes: Iterable[str]) -> str:
        """A token for ``resource`` with ``scopes``, standing for the institution ``subject_token`` stands for.

        The caller's token lacking a scope is 403 ``insufficient_scope`` (the caller may not do this);
        identity refusing otherwise is 403 ``token-exchange-refused``; identity unreachable or this
        service without a client is 503."""
        wanted = " ".join(sorted(set(scopes)))
        key = (hashlib.sha256(subject_token.encode()).hexdigest(), resource, wanted)
        cached = self._cache.get(key)
        if cached is not None and time.monotonic() < cached[1]:
            self._cache.move_to_end(key)
            return cached[0]
        if not self.configured:
            raise ServiceUnavailable("this service has no client at identity to act on an institution's behalf "
                                     "(token exchange is not configured)")
        try:
            response = await self.http.post(self.token_url, auth=(str(self.client_id), str(self.client_secret)),
                                            timeout=self.timeout, data={
                                                "grant_type": GRANT_TYPE, "subject_token": subject_token,
                                                "subject_token_type": ACCESS_TOKEN_TYPE, "resource": resource,
                                                "scope": wanted})
        except httpx.HTTPError as exc:
            raise ServiceUnavailable("identity cannot be reached to exchange the caller's token") from exc
        if response.status_code >= 500:
            raise ServiceUnavailable(f"identity answered {response.status_code} to a token exchange")
        body = _json(response)
        if response.status_code != 200:
            error = str(body.get("error") or "")
            description = str(body.get("error_description") or error or response.status_code)
            if error == "invalid_scope" and "does not hold" in description:
                raise InsufficientScope(f"this call needs {wanted} on the caller's token: {description}",
                                        error="insufficient_scope", required_scopes=sorted(set(wanted.split())))
            if response.status_code == 401:
                raise ServiceUnavailable(f"identity refused this service's own client: {description}")
            raise ExchangeRefused(f"identity refused to exchange the caller's token: {description}")
        token = str(body["access_token"])
        lifetime = float(str(body.get("expires_in") or 60))
        # Kept until a little before it expires, so it is never presented stale.
        self._cache[key] = (token, time.monotonic() + max(0.0, min(lifetime - 30, lifetime * 0.8)))
        while len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return token


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        found = response.json()
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


class ClientTokenUnavailable(Exception):
    """identity could not be asked for this service's own token, or refused it."""


class ClientToken:
    """This service's own token at identity (grant ``client_credentials``), for one resource and scopes.

    Kept until a minute before it expires (or half its life, if shorter); ``forget`` after a 401 so the
    next call asks again."""

    def __init__(self, http: httpx.AsyncClient, *, identity_url: str, client_id: str | None,
                 client_secret: str | None, resource: str, scopes: str, timeout: float = 10.0) -> None:
        self.http = http
        self.token_url = f"{identity_url.rstrip('/')}/oauth/token"
        self.client_id = client_id
        self.client_secret = client_secret
        self.resource = resource
        self.scopes = scopes
        self.timeout = timeout
        self._token: str | None = None
        self._until = 0.0

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret)

    def forget(self) -> None:
        self._token = None

    async def bearer(self) -> str:
        if self._token is not None and time.monotonic() < self._until:
            return self._token
        if not self.configured:
            raise ClientTokenUnavailable("no identity client credentials are configured")
        try:
            response = await self.http.post(
                self.token_url, auth=(str(self.client_id), str(self.client_secret)), timeout=self.timeout,
                data={"grant_type": "client_credentials", "scope": self.scopes, "resource": self.resource})
        except httpx.HTTPError as exc:
            raise ClientTokenUnavailable(f"identity's token endpoint cannot be reached: {exc}") from exc
        if response.status_code != 200:
            raise ClientTokenUnavailable(f"identity's token endpoint answered {response.status_code}")
        body = response.json()
        self._token = str(body["access_token"])
        lifetime = float(body.get("expires_in", 300))
        self._until = time.monotonic() + max(lifetime / 2, lifetime - 60)
        return self._token
