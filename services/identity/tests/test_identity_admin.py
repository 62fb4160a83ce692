"""The admin functions (used by the CLI, seeding and the root test stack) and demo seeding."""

from __future__ import annotations

import pytest
from identity_testkit import ALL_SCOPES, Identity, Registered
from joserfc.jwk import RSAKey
from sqlalchemy import select

from comitas_identity import admin
from comitas_identity.demo import DEMO_INSTITUTIONS, seed_demo
from comitas_identity.oauth.models import OAuthClient
from comitas_identity.users.models import UserAccount


async def test_secrets_are_generated_long_and_stored_hashed(identity: Identity) -> None:
    created = await identity.client(scopes=["complaints:submit"])
    assert created.client_secret and len(created.client_secret) >= 40
    assert created.scopes == ["complaints:submit"]
    async with identity.database.transaction() as session:
        row = await session.get(OAuthClient, created.client_id)
    assert row is not None and row.secret_hash and row.secret_hash.startswith("sha256$")
    assert created.client_secret not in row.secret_hash


async def test_a_given_client_id_and_secret_are_kept(identity: Identity) -> None:
    institution_id = await identity.institution()
    secret = "s" * 48
    created = await admin.register_client(
        identity.database,
        institution_id=institution_id,
        name="given",
        scopes=["deadlines:read"],
        client_id="given-client-id",
        client_secret=secret,
    )
    assert (created.client_id, created.client_secret) == ("given-client-id", secret)
    await identity.token(Registered(institution_id, created.client_id, secret, created.scopes))
    with pytest.raises(ValueError, match="already exists"):
        await admin.register_client(
            identity.database,
            institution_id=institution_id,
            name="again",
            scopes=["deadlines:read"],
            client_id="given-client-id",
        )


@pytest.mark.parametrize(
    "options",
    [
        {"scopes": ["complaints:read", "complaints:everything"]},
        {"auth_method": "carrier_pigeon"},
        {"client_secret": "too-short"},
        {"auth_method": "private_key_jwt"},
        {
            "auth_method": "private_key_jwt",
            "jwks": {"keys": [RSAKey.generate_key(2048).as_dict(private=True)]},
        },
        {"auth_method": "none"},
        {"redirect_uris": ["http://portal.example.org/cb"]},
        {"redirect_uris": ["https://portal.example.org/cb#fragment"]},
        {"client_id": "has spaces"},
        {"institution_id": "inst_does_not_exist"},
    ],
)
async def test_invalid_clients_are_refused(identity: Identity, options: dict) -> None:
    arguments = {
        "institution_id": await identity.institution(),
        "name": "bad",
        "scopes": ALL_SCOPES,
        **options,
    }
    with pytest.raises(ValueError):
        await admin.register_client(identity.database, **arguments)


@pytest.mark.parametrize(
    "options",
    [
        {"kind": "club"},
        {"country": "XX"},
        {"country": "FRA"},
        {"name": " "},
        {"institution_id": "inst.with.dots"},
    ],
)
async def test_invalid_institutions_are_refused(identity: Identity, options: dict) -> None:
    with pytest.raises(ValueError):
        await admin.register_institution(
            identity.database, **{"name": "N", "kind": "ngo", "country": "BE", **options}
        )


async def test_users_passwords_are_hashed_and_scopes_checked(identity: Identity) -> None:
    institution_id = await identity.institution()
    user_id = await admin.register_user(
        identity.database,
        institution_id=institution_id,
        email="Ana@Example.org",
        name="Ana",
        password="a long enough password",
        scopes=["complaints:read"],
    )
    async with identity.database.transaction() as session:
        row = await session.get(UserAccount, user_id)
    assert row is not None and row.email == "ana@example.org"
    assert row.password_hash.startswith("scrypt$") and "a long enough password" not in row.password_hash
    with pytest.raises(ValueError, match="already exists"):
        await admin.register_user(
            identity.database,
            institution_id=institution_id,
            email="ana@example.org",
            name="Ana",
            password="a long enough password",
            scopes=[],
        )
    with pytest.raises(ValueError, match="unknown scopes"):
        await admin.register_user(
            identity.database,
            institution_id=institution_id,
            email="bo@example.org",
            name="Bo",
            password="a long enough password",
            scopes=["root"],
        )
    with pytest.raises(ValueError, match="password"):
        await admin.register_user(
            identity.database,
            institution_id=institution_id,
            email="cy@example.org",
            name="Cy",
            password="short",
            scopes=[],
        )


async def test_seed_demo_is_idempotent_and_its_clients_work(identity: Identity) -> None:
    first = await seed_demo(identity.database, identity.master_key)
    second = await seed_demo(identity.database, identity.master_key)

    assert (
        [e["client_id"] for e in first]
        == [e["client_id"] for e in second]
        == [i.client_id for i in DEMO_INSTITUTIONS]
    )
    assert {e["kind"] for e in first} == {
        "ombudsperson",
        "nhri",
        "regional_commission",
        "central_authority",
        "legal_aid_ngo",
    }
    assert {e["country"] for e in first if e["kind"] == "central_authority"} == {"FR", "BR"}
    assert all(e["client_secret"] for e in first)
    assert all(e["client_secret"] is None for e in second)
    officers = [e["liaison_officer"] for e in first if e["liaison_officer"]]
    # Two institutions have an officer (the web client's journey follows a referral from both sides).
    assert len(officers) == 2 and all(o["password"] for o in officers)
    assert [e["liaison_officer"]["password"] for e in second if e["liaison_officer"]] == [None, None]

    for entry in first:
        client = Registered(
            entry["institution_id"], entry["client_id"], entry["client_secret"], entry["scopes"]
        )
        token_scopes = (await identity.introspect(client, await identity.token(client)))["scope"].split()
        assert token_scopes == entry["scopes"] and "admin" not in token_scopes
    async with identity.database.transaction() as session:
        demo_users = (
            (await session.execute(select(UserAccount).where(UserAccount.email == officers[0]["email"])))
            .scalars()
            .all()
        )
    assert len(demo_users) == 1
