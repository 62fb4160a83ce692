"""The identity service's app: ``uvicorn --factory comitas_identity.main:create_app --port 8000``."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI

from comitas_shared.app import Platform, create_service_app
from comitas_shared.clock import Clock, real_now

from .institutions.router import router as institutions_router
from .keys import service as keys
from .keys.router import router as keys_router
from .keys.service import KeyRing
from .models import load_all_models, tables
from .oauth import service as oauth
from .oauth.router import router as oauth_router
from .oauth.throttles import build_throttles
from .settings import IdentitySettings

log = logging.getLogger(__name__)

DESCRIPTION = """The Comitas institutions directory, OAuth 2.0 authorization server and OpenID Provider.

Partner institutions' systems get access tokens with the client credentials grant
(`client_secret_basic`, `client_secret_post` or `private_key_jwt`), naming the services they call with
RFC 8707 `resource` indicators; liaison officers sign in to the web client through the
authorization-code flow with PKCE and OpenID Connect. Access tokens are RFC 9068 JWTs, verified by every
service against `/.well-known/jwks.json`. Metadata: `/.well-known/oauth-authorization-server` and
`/.well-known/openid-configuration`.
"""


def create_app(settings: IdentitySettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """``clock`` is the business clock (throttle windows, housekeeping); tests pin it. Token times
    always follow the wall clock."""
    settings = settings or IdentitySettings()
    clock = clock or real_now
    load_all_models()
    keyring = KeyRing(settings.master_key.get_secret_value())

    async def prepare_keys(platform: Platform, app: FastAPI) -> None:
        await keys.ensure_active_key(platform.database, master_key=settings.master_key.get_secret_value(),
                                     now=clock())
        # Fail at start-up, not at the first token, when the master key does not open the active key.
        async with platform.database.transaction() as session:
            await keyring.signing_key(session)

    async def start_housekeeping(platform: Platform, app: FastAPI) -> None:
        platform.background.append(asyncio.create_task(
            _housekeeping(platform, settings.housekeeping_interval_seconds, clock), name="identity-housekeeping"))

    app = create_service_app(
        settings=settings,
        tables=tables,
        title="Comitas identity",
        description=DESCRIPTION,
        routers=[oauth_router, keys_router, institutions_router],
        on_startup=[prepare_keys, start_housekeeping],
        clock=clock,
    )
    platform: Platform = app.state.platform
    app.state.keyring = keyring
    app.state.oauth_context = oauth.Context(settings=settings, keyring=keyring, tables=platform.tables)
    app.state.throttles = build_throttles(settings, platform.database, tables, clock)
    return app


async def _housekeeping(platform: Platform, interval: float, clock: Clock) -> None:
    """Purges expired codes, assertion ids, refresh tokens and revocations (throttle hits go with the
    platform's own housekeeping). Every replica may run it: deletes commute."""
    while True:
        await asyncio.sleep(interval)
        try:
            async with platform.database.transaction() as session:
                await oauth.purge_expired(session, now=clock())
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("identity: housekeeping failed")
