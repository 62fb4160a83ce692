"""The web client on the test stack (identity, intake, mla, notifications from the root conftest; referral
served beside it when it starts): its own OAuth client at identity, two institutions with an officer
each (B takes referrals about France), and the portal served by uvicorn on a real port, with its own
migrated database. Nothing here imports another service: the root conftest's Stack does that."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from portal_kit import Officer, Portal

from comitas_shared import migrations
from comitas_shared.scopes import SCOPES
from comitas_shared.testing import ServedApp, drop_database, fresh_database_url

OFFICER_SCOPES = sorted(s for s in SCOPES if s not in {"admin", "directory:contacts"})
REFERRAL_EXCHANGE_SCOPES = ["complaints:read", "complaints:manage", "complaints:submit"]
SENDER_PROFILE: dict[str, Any] = {"time_zone": "Europe/Paris", "languages": ["fr", "en"]}
RECIPIENT_PROFILE: dict[str, Any] = {
    "time_zone": "Europe/Paris", "languages": ["fr", "en"],
    "mandate": {"subject_areas": ["general"], "investigates": ["public_authorities"], "countries": ["FR"]},
    "accepts_referrals": True, "referral_kinds": ["referral", "transfer"],
    "referral_purposes": ["investigate", "legal_aid", "for_information"],
    "acknowledgement_period": {"amount": 5, "unit": "working_days"},
    "response_period": {"amount": 20, "unit": "working_days"},
}


@pytest.fixture(scope="module")
async def portal(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Portal]:
    from comitas_portal.main import create_app
    from comitas_portal.settings import PortalSettings

    tmp = tmp_path_factory.mktemp("portal")
    served = ServedApp(None)
    wanted = []
    # A refers to B; C (France's central authority) asks D (Brazil's) for assistance.
    for label, kind, country, profile in (
            ("A", "ombudsperson", "FR", SENDER_PROFILE), ("B", "regional_commission", "FR", RECIPIENT_PROFILE),
            ("C", "central_authority", "FR", SENDER_PROFILE),
            ("D", "central_authority", "BR", {"time_zone": "America/Sao_Paulo", "languages": ["pt", "es", "en"]})):
        wanted.append({"institution": f"Portal institution {label} {uuid.uuid4().hex[:4]}", "kind": kind,
                       "country": country, "profile": profile, "name": f"Officer {label}",
                       "password": f"pw-{uuid.uuid4().hex}",
                       "email": f"officer.{label.lower()}.{uuid.uuid4().hex[:6]}@example.org"})
    client, ids = await stack.new_officers_and_web_client([f"{served.url}/auth/callback"], wanted, OFFICER_SCOPES)
    officers = [Officer(institution_id=institution_id, email=item["email"], password=item["password"],
                        name=item["name"], institution=item["institution"])
                for institution_id, item in zip(ids, wanted, strict=True)]
    referral = await stack.serve_referral(tmp, REFERRAL_EXCHANGE_SCOPES)
    url = fresh_database_url("portal", tmp)
    migrations.upgrade("comitas_portal", url)
    settings = PortalSettings(
        environment="test", database_url=url, nats_url=stack.nats.url, issuer=stack.issuer, public_url=served.url,
        identity_url=stack.identity.url, intake_url=stack.intake.url, mla_url=stack.mla.url,
        notifications_url=stack.notifications.url,
        referral_url=referral.url,
        identity_client_id=client.client_id, identity_client_secret=client.client_secret,
        live_poll_seconds=0.5, live_stream_seconds=60, outbox_poll_seconds=0.2)
    served.app = create_app(settings)
    await served.start()
    try:
        yield Portal(served=served, stack=stack, officers=officers, database_url=url, settings=settings,
                     referral=referral)
    finally:
        await served.stop()
        await referral.stop()
        drop_database(url)
