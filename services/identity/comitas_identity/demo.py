"""Demo data for ``make run``: five institutions, each with an OAuth client, and one liaison officer.

Idempotent. Client ids are fixed; secrets and the officer's password are generated on the first run and
returned only then (they are stored hashed, so they cannot be shown again). The caller keeps them:
``make run`` writes them to ``var/demo-credentials.json``. On a later run the same entries come back
with ``client_secret`` and ``password`` set to None. To get new ones, delete the identity database.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from comitas_shared.db import Database
from comitas_shared.scopes import SCOPES

from .institutions import repository as institutions_repository
from .institutions import service as institutions
from .keys import service as keys
from .models import OAuthClient
from .oauth import service as oauth
from .users import repository as users_repository
from .users import service as users

DEMO_SCOPES = sorted(s for s in SCOPES if s != "admin")

# (institution id, name, kind, country, client id)
DEMO_INSTITUTIONS = [
    ("inst_demo_ombudsperson", "Demo Ombudsperson Office", "ombudsperson", "GR", "demo-ombudsperson"),
    ("inst_demo_nhri", "Demo National Human Rights Institution", "nhri", "DE", "demo-nhri"),
    ("inst_demo_commission", "Demo Regional Human Rights Commission", "regional_commission", "FR",
     "demo-commission"),
    ("inst_demo_central_authority", "Demo Central Authority (Ministry of Justice)", "central_authority", "IT",
     "demo-central-authority"),
    ("inst_demo_legal_aid", "Demo Legal Aid Network", "ngo", "ES", "demo-legal-aid"),
]
DEMO_OFFICER = {"institution_id": "inst_demo_ombudsperson", "name": "Demo Liaison Officer",
                "email": "liaison.officer@ombudsperson.example.org"}


async def seed_demo(database: Database, master_key: str) -> list[dict[str, Any]]:
    """Creates what is missing, in one transaction, and makes sure a signing key exists. Returns, per
    institution: institution_id, name, kind, country, client_id, client_secret (None unless created
    now), scopes, and liaison_officer (for the one institution that has it: user_id, email, name,
    password — None unless created now)."""
    await keys.ensure_active_key(database, master_key=master_key)
    now = datetime.now(UTC)
    seeded: list[dict[str, Any]] = []
    async with database.transaction() as session:
        for institution_id, name, kind, country, client_id in DEMO_INSTITUTIONS:
            if await institutions_repository.get(session, institution_id) is None:
                await institutions.register(session, name=name, kind=kind, country=country,
                                            institution_id=institution_id, now=now)
            client = await session.get(OAuthClient, client_id)
            if client is None:
                _, secret, scopes = await oauth.register_client(
                    session, institution_id=institution_id, name=f"{name} (demo system)", scopes=DEMO_SCOPES,
                    auth_method="client_secret_basic", jwks=None, client_id=client_id, client_secret=None,
                    redirect_uris=[], now=now)
            else:
                secret, scopes = None, list(client.scopes)
            seeded.append({"institution_id": institution_id, "name": name, "kind": kind, "country": country,
                           "client_id": client_id, "client_secret": secret, "scopes": scopes,
                           "liaison_officer": None})

        officer = await users_repository.by_email(session, DEMO_OFFICER["email"])
        password: str | None = None
        if officer is None:
            password = secrets.token_urlsafe(12)
            user_id = await users.register(session, **DEMO_OFFICER, password=password, scopes=DEMO_SCOPES,
                                           now=now)
        else:
            user_id = officer.id
        for entry in seeded:
            if entry["institution_id"] == DEMO_OFFICER["institution_id"]:
                entry["liaison_officer"] = {"user_id": user_id, "email": DEMO_OFFICER["email"],
                                            "name": DEMO_OFFICER["name"], "password": password}
    return seeded
