"""The identity service's app: ``uvicorn --factory comitas_identity.main:create_app --port 8000``."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from fastapi import FastAPI

from comitas_shared.app import Platform, create_service_app

from .institutions.router import router as institutions_router
from .keys import service as keys
from .keys.router import router as keys_router
from .keys.service import KeyRing
from .models import tables
from .oauth import service as oauth
from .oauth.router import router as oauth_router
from .settings import IdentitySettings

log = logging.getLogger(__name__)

DESCRIPTION = """The Comitas institutions directory and OAuth 2.0 authorization server.

Partner institutions' systems get access tokens with the client credentials grant
(`client_secret_basic`, `client_secret_post` or `private_key_jwt`); liaison officers sign in to the web
client through the authorization-code flow with PKCE. Access tokens are RFC 9068 JWTs, verified by
every service against `/.well-known/jwks.json`. Metadata: `/.well-known/oauth-authorization-server`.
"""


def create_app(settings: IdentitySettings | None = None) -> FastAPI:
    settings = settings or IdentitySettings()
    keyring = KeyRing(settings.master_key.get_secret_value())

    async def prepare_keys(platform: Platform, app: FastAPI) -> None:
        await keys.ensure_active_key(platform.database, master_key=settings.master_key.get_secret_value())
        # Fail at start-up, not at the first token, when the master key does not open the active key.
        async with platform.database.transaction() as session:
            await keyring.signing_key(session)

    async def start_housekeeping(platform: Platform, app: FastAPI) -> None:
        platform.background.append(asyncio.create_task(
            _housekeeping(platform, settings.housekeeping_interval_seconds), name="identity-housekeeping"))

    app = create_service_app(
        settings=settings,
        tables=tables,
        title="Comitas identity",
        description=DESCRIPTION,
        routers=[oauth_router, keys_router, institutions_router],
        on_startup=[prepare_keys, start_housekeeping],
    )
    app.state.keyring = keyring
    return app


async def _housekeeping(platform: Platform, interval: float) -> None:
    """Purges expired codes, assertion ids and revocations. Every replica may run it: deletes commute."""
    while True:
        await asyncio.sleep(interval)
        try:
            async with platform.database.transaction() as session:
                await oauth.purge_expired(session, now=datetime.now(UTC))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("identity: housekeeping failed")
