"""Fixtures of referral's tests (helpers are in referral_testkit.py): referral served beside the session's
stack (identity, intake, notifications, NATS), with a platform-service client of its own at identity that
may exchange the tokens it is called with for intake's audience."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from referral_testkit import INTAKE, REFERRAL, Receiver, Referral

from comitas_shared import migrations
from comitas_shared.testing import ServedApp, drop_database, free_port, fresh_database_url

EXCHANGE_SCOPES = ["complaints:read", "complaints:manage", "complaints:submit", "complaints:consent_override"]


@pytest.fixture(scope="session")
async def referral(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Referral]:
    from comitas_referral.main import create_app
    from comitas_referral.settings import ReferralSettings

    service = await stack.new_service(f"referral-{uuid.uuid4().hex[:6]}", service_resource=REFERRAL,
                                      exchange_resources=[INTAKE], exchange_scopes=EXCHANGE_SCOPES)
    url = fresh_database_url("referral", tmp_path_factory.mktemp("referral"))
    migrations.upgrade("comitas_referral", url)
    port = free_port()
    settings = ReferralSettings(
        environment="test", database_url=url, nats_url=stack.nats.url, issuer=stack.issuer,
        outbox_poll_seconds=0.2, public_url=f"http://127.0.0.1:{port}", identity_url=stack.issuer,
        intake_url=stack.intake.url, identity_client_id=service.client_id,
        identity_client_secret=service.client_secret, directory_refresh_seconds=600)
    served = await ServedApp(create_app(settings), port=port).start()
    yield Referral(served, url, service)
    await served.stop()
    drop_database(url)


@pytest.fixture
async def receivers() -> AsyncIterator[tuple[Receiver, Receiver, Receiver]]:
    found = (Receiver(), Receiver(), Receiver())
    for receiver in found:
        await receiver.served.start()
    yield found
    for receiver in found:
        await receiver.served.stop()
