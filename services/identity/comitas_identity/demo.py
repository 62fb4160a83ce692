"""Demo data for ``make run``: six institutions with their directory entries, each with an OAuth client,
one liaison officer, and (``services=True``) the platform services' own clients.

Idempotent. Client ids are fixed; secrets and the officer's password are generated on the first run and
returned only then (they are stored hashed, so they cannot be shown again). The caller keeps them:
``make run`` writes them to ``var/demo-credentials.json``. On a later run the same entries come back
with ``client_secret`` and ``password`` set to None. To get new ones, delete the identity database.
A demo institution created before directory entries existed (no languages) gets its entry filled in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from comitas_shared import randomness
from comitas_shared.auth import service_audience
from comitas_shared.clock import real_now
from comitas_shared.db import Database
from comitas_shared.scopes import SCOPES

from .admin import exchange_json
from .institutions import service as institutions
from .keys import service as keys
from .oauth import service as oauth
from .users import service as users

# Every scope but the platform's own: admin, and the notification service's reading of contacts.
DEMO_SCOPES = sorted(s for s in SCOPES if s not in {"admin", "directory:contacts"})
INTAKE, REFERRAL = service_audience("intake"), service_audience("referral")
# Member states of the Council of Europe (46, since March 2022): the demo regional commission's reach.
COUNCIL_OF_EUROPE = ["AD", "AL", "AM", "AT", "AZ", "BA", "BE", "BG", "CH", "CY", "CZ", "DE", "DK", "EE", "ES", "FI",
                     "FR", "GB", "GE", "GR", "HR", "HU", "IE", "IS", "IT", "LI", "LT", "LU", "LV", "MC", "MD", "ME",
                     "MK", "MT", "NL", "NO", "PL", "PT", "RO", "RS", "SE", "SI", "SK", "SM", "TR", "UA"]


@dataclass(frozen=True)
class DemoInstitution:
    institution_id: str
    client_id: str
    name: str
    kind: str
    country: str
    profile: dict[str, Any] = field(default_factory=dict)


DEMO_INSTITUTIONS = [
    DemoInstitution("inst_demo_ombudsperson", "demo-ombudsperson", "Demo Ombudsperson Office", "ombudsperson", "GR", {
        "time_zone": "Europe/Athens", "languages": ["el", "en"],
        "mandate": {"subject_areas": ["maladministration", "children", "migration", "equality"],
                    "investigates": ["public_authorities"], "countries": ["GR"]},
        "accepts_referrals": True, "referral_kinds": ["referral", "transfer"],
        "referral_purposes": ["investigate", "coordination", "for_information"],
        "acknowledgement_period": {"amount": 5, "unit": "working_days"},
        "response_period": {"amount": 20, "unit": "working_days"},
        "closures": [{"day": "2026-08-10", "until": "2026-08-14", "name": "Office move",
                      "source": "Decision of the Ombudsperson, 2026"}],
        "contact": {"emails": ["referrals@ombudsperson.example.org"], "language": "en"}}),
    DemoInstitution("inst_demo_nhri", "demo-nhri", "Demo National Human Rights Institution", "nhri", "DE", {
        "subdivision": "DE-BE", "time_zone": "Europe/Berlin", "languages": ["de", "en"],
        "mandate": {"subject_areas": ["general"], "investigates": ["public_authorities", "private_actors"],
                    "countries": ["DE"]},
        "accepts_referrals": True, "referral_kinds": ["referral"],
        "referral_purposes": ["investigate", "coordination", "for_information"],
        "acknowledgement_period": {"amount": 10, "unit": "working_days"},
        "response_period": {"amount": 30, "unit": "working_days"},
        "contact": {"emails": ["beschwerden@nhri.example.org"], "language": "de"}}),
    DemoInstitution("inst_demo_commission", "demo-commission", "Demo Regional Human Rights Commission",
                    "regional_commission", "FR", {
        "subdivision": "FR-6AE", "time_zone": "Europe/Paris", "languages": ["fr", "en"],
        "mandate": {"subject_areas": ["general"], "investigates": ["public_authorities"],
                    "countries": COUNCIL_OF_EUROPE},
        "accepts_referrals": True, "referral_kinds": ["referral"],
        "referral_purposes": ["file_with_mechanism", "interim_measures", "for_information"],
        "acknowledgement_period": {"amount": 15, "unit": "working_days"},
        "response_period": {"amount": 60, "unit": "calendar_days"},
        "closures": [{"day": "2026-12-24", "until": "2027-01-01", "name": "Winter closure of the registry",
                      "source": "Registry notice, 2026"}],
        "contact": {"emails": ["greffe@commission.example.org"], "language": "fr"}}),
    DemoInstitution("inst_demo_central_authority", "demo-central-authority",
                    "Demo Central Authority of France (Ministry of Justice)", "central_authority", "FR", {
        "time_zone": "Europe/Paris", "languages": ["fr", "en"],
        "mandate": {"subject_areas": ["criminal_mla", "civil_cooperation"], "investigates": [], "countries": ["FR"]},
        "acknowledgement_period": {"amount": 10, "unit": "working_days"},
        "contact": {"emails": ["entraide@central-authority-fr.example.org"], "language": "fr"}}),
    DemoInstitution("inst_demo_central_authority_br", "demo-central-authority-br",
                    "Demo Central Authority of Brazil (Ministry of Justice)", "central_authority", "BR", {
        "subdivision": "BR-DF", "time_zone": "America/Sao_Paulo", "languages": ["pt", "es", "en"],
        "mandate": {"subject_areas": ["criminal_mla", "civil_cooperation"], "investigates": [], "countries": ["BR"]},
        "acknowledgement_period": {"amount": 10, "unit": "working_days"},
        "contact": {"emails": ["cooperacao@central-authority-br.example.org"], "language": "pt"}}),
    DemoInstitution("inst_demo_legal_aid", "demo-legal-aid", "Demo Legal Aid Network", "legal_aid_ngo", "ES", {
        "subdivision": "ES-CT", "time_zone": "Europe/Madrid", "languages": ["es", "ca", "en"],
        "mandate": {"subject_areas": ["justice", "migration", "gender_based_violence", "trafficking"],
                    "investigates": [], "countries": ["ES"]},
        "accepts_referrals": True, "referral_kinds": ["referral", "transfer"],
        "referral_purposes": ["legal_aid", "file_with_mechanism", "for_information"],
        "acknowledgement_period": {"amount": 3, "unit": "working_days"},
        "response_period": {"amount": 10, "unit": "working_days"},
        "closures": [{"day": "2026-08-10", "until": "2026-08-21", "name": "Summer closure",
                      "source": "Network assembly decision"}],
        "contact": {"emails": ["casos@legalaid.example.org"], "language": "es"}}),
]
DEMO_OFFICER = {"institution_id": "inst_demo_ombudsperson", "name": "Demo Liaison Officer",
                "email": "liaison.officer@ombudsperson.example.org"}
# A second institution's officer, so that a referral can be followed from both sides in two browsers.
DEMO_OFFICERS = [DEMO_OFFICER, {"institution_id": "inst_demo_commission", "name": "Demo Commission Officer",
                                "email": "liaison.officer@commission.example.org"}]
# The web client's own confidential client (authorization code with PKCE): officers of every institution
# sign in through it, and the token carries the officer's institution, never the client's.
PORTAL_CLIENT_ID = "portal"


@dataclass(frozen=True)
class DemoService:
    """A platform service's own client: what its own tokens carry, and what it may exchange for."""

    service: str
    scopes: tuple[str, ...]
    exchange_resources: tuple[str, ...] = ()
    exchange_scopes: tuple[str, ...] = ()


# referral reads and freezes disclosures at intake for the sending institution, and creates the
# recipient's complaint on a transfer; mla reads evidence there; notifications reads contacts.
DEMO_SERVICES = [
    DemoService("referral", ("directory:read",), (INTAKE,),
                ("complaints:read", "complaints:manage", "complaints:pii", "complaints:submit",
                 "complaints:consent_override")),
    DemoService("mla", ("directory:read",), (INTAKE, REFERRAL), ("complaints:read", "complaints:pii", "referrals:read")),
    DemoService("notifications", ("directory:read", "directory:contacts")),
]
PLATFORM_COUNTRY = "FR"


async def seed_demo(database: Database, master_key: str, *, services: bool = False,
                    portal_redirect_uris: list[str] | None = None) -> list[dict[str, Any]]:
    """Creates what is missing, in one transaction, and makes sure a signing key exists. Returns, per
    institution: institution_id, name, kind, country, client_id, client_secret (None unless created
    now), scopes, token_exchange (None for institutions), and liaison_officer (for the one institution
    that has it: user_id, email, name, password — None unless created now). With ``services``, one entry
    more per platform service (kind ``platform_service``, no complaints scope; ``token_exchange``: the
    service's resource, and the resources and scopes it may exchange for). With ``portal_redirect_uris``,
    one entry more (``svc_portal``) for the web client's client, whose redirect URIs follow the portal's
    address (they are replaced when it moved). Two institutions have an officer: the ombudsperson and the
    regional commission."""
    now = real_now()
    await keys.ensure_active_key(database, master_key=master_key, now=now)
    seeded: list[dict[str, Any]] = []
    async with database.transaction() as session:
        for demo in DEMO_INSTITUTIONS:
            entry = await institutions.entry(session, demo.institution_id)
            if entry is None:
                await institutions.register(session, name=demo.name, kind=demo.kind, country=demo.country,
                                            institution_id=demo.institution_id, now=now, profile=demo.profile)
            elif not entry.languages:
                # Seeded before directory entries existed: the whole demo entry, as an administrator would.
                await institutions.apply_update(session, demo.institution_id, {
                    "name": demo.name, "kind": demo.kind, "country": demo.country, **demo.profile}, now=now)
            existing_scopes = await oauth.client_scopes(session, demo.client_id)
            if existing_scopes is None:
                _, secret, scopes = await oauth.register_client(
                    session, institution_id=demo.institution_id, name=f"{demo.name} (demo system)",
                    scopes=DEMO_SCOPES, auth_method="client_secret_basic", jwks=None, client_id=demo.client_id,
                    client_secret=None, redirect_uris=[], now=now)
            else:
                secret, scopes = None, existing_scopes
            seeded.append({"institution_id": demo.institution_id, "name": demo.name, "kind": demo.kind,
                           "country": demo.country, "client_id": demo.client_id, "client_secret": secret,
                           "scopes": scopes, "token_exchange": None, "liaison_officer": None})
        if services:
            seeded += [await _seed_service(session, service, now=now) for service in DEMO_SERVICES]

        if portal_redirect_uris:
            seeded.append(await _seed_portal(session, portal_redirect_uris, now=now))

        for demo_officer in DEMO_OFFICERS:
            officer = await users.by_email(session, demo_officer["email"])
            password: str | None = None
            if officer is None:
                password = randomness.token_urlsafe(12)
                user_id = await users.register(session, **demo_officer, password=password, scopes=DEMO_SCOPES,
                                               now=now)
            else:
                user_id = officer.id
            for item in seeded:
                if item["institution_id"] == demo_officer["institution_id"]:
                    item["liaison_officer"] = {"user_id": user_id, "email": demo_officer["email"],
                                               "name": demo_officer["name"], "password": password}
    return seeded


async def _seed_portal(session: Any, redirect_uris: list[str], *, now: Any) -> dict[str, Any]:
    institution_id = oauth.service_institution_id("portal")
    if not await institutions.exists(session, institution_id):
        await institutions.register(session, name="Comitas web client", kind="platform_service",
                                    country=PLATFORM_COUNTRY, institution_id=institution_id, now=now)
    existing_scopes = await oauth.client_scopes(session, PORTAL_CLIENT_ID)
    if existing_scopes is None:
        _, secret, scopes = await oauth.register_client(
            session, institution_id=institution_id, name="Comitas web client", scopes=DEMO_SCOPES,
            auth_method="client_secret_basic", jwks=None, client_id=PORTAL_CLIENT_ID, client_secret=None,
            redirect_uris=redirect_uris, now=now)
    else:
        secret, scopes = None, existing_scopes
        await oauth.set_redirect_uris(session, PORTAL_CLIENT_ID, redirect_uris)
    entry = await institutions.get(session, institution_id)
    return {"institution_id": institution_id, "name": entry.name, "kind": entry.kind, "country": entry.country,
            "client_id": PORTAL_CLIENT_ID, "client_secret": secret, "scopes": scopes, "token_exchange": None,
            "liaison_officer": None}


async def _seed_service(session: Any, demo: DemoService, *, now: Any) -> dict[str, Any]:
    institution_id = oauth.service_institution_id(demo.service)
    existing_scopes = await oauth.client_scopes(session, demo.service)
    if existing_scopes is None:
        created = await oauth.register_service(
            session, service=demo.service, country=PLATFORM_COUNTRY, scopes=list(demo.scopes),
            exchange_resources=list(demo.exchange_resources) or None,
            exchange_scopes=list(demo.exchange_scopes) or None, now=now)
        secret, scopes = created.client_secret, created.scopes
    else:
        secret, scopes = None, existing_scopes
    entry = await institutions.get(session, institution_id)
    return {"institution_id": institution_id, "name": entry.name, "kind": entry.kind, "country": entry.country,
            "client_id": demo.service, "client_secret": secret, "scopes": scopes,
            "token_exchange": exchange_json(await oauth.client_exchange_policy(session, demo.service)),
            "liaison_officer": None}
