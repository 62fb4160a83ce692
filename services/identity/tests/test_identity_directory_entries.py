"""Directory entries: what routing and delivery need round-trips and filters; admin changes any entry,
an institution with directory:manage its own (not what it is); contacts stay private; every change is
one event, with the public entry and never the contact."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import nats
import pytest
from identity_testkit import Identity, Registered
from sqlalchemy import select

from comitas_identity import admin, cli
from comitas_identity.models import tables
from comitas_shared import migrations
from comitas_shared.testing import drop_database, fresh_database_url

PROFILE: dict[str, Any] = {
    "subdivision": "fr-idf",
    "time_zone": "Europe/Paris",
    "languages": ["fr", "en", "FR"],
    "mandate": {"subject_areas": ["children", "equality"], "investigates": ["public_authorities", "private_actors"],
                "countries": ["fr", "MC"]},
    "accepts_referrals": True,
    "referral_kinds": ["transfer", "referral"],
    "referral_purposes": ["investigate", "for_information"],
    "acknowledgement_period": {"amount": 10, "unit": "working_days"},
    "response_period": {"amount": 2, "unit": "calendar_days"},
    "closures": [{"day": "2026-12-24", "until": "2026-12-31", "name": "Winter closure", "source": "Décision 2026-1"},
                 {"day": "2026-08-14", "name": "Bridge day"}],
    "contact": {"emails": ["saisines@defenseur.example.org"], "language": "fr"},
}
PUBLIC = {
    "subdivision": "FR-IDF",
    "time_zone": "Europe/Paris",
    "languages": ["fr", "en"],
    "mandate": {"subject_areas": ["children", "equality"], "investigates": ["private_actors", "public_authorities"],
                "countries": ["FR", "MC"]},
    "state_institution": False,
    "accepts_referrals": True,
    "referral_kinds": ["referral", "transfer"],
    "referral_purposes": ["for_information", "investigate"],
    "acknowledgement_period": {"amount": 10, "unit": "working_days"},
    "response_period": {"amount": 2, "unit": "calendar_days"},
    "closures": [{"day": "2026-08-14", "until": None, "name": "Bridge day", "source": None},
                 {"day": "2026-12-24", "until": "2026-12-31", "name": "Winter closure", "source": "Décision 2026-1"}],
}
CONTACT = {"emails": ["saisines@defenseur.example.org"], "language": "fr"}


async def headers(identity: Identity, client: Registered) -> dict[str, str]:
    return {"Authorization": f"Bearer {await identity.token(client)}"}


async def registered(identity: Identity, **profile: Any) -> str:
    return await admin.register_institution(identity.database, name=f"Défenseur {uuid.uuid4().hex[:6]}",
                                            kind="ombudsperson", country="FR", profile=profile or PROFILE)


async def outbox(identity: Identity, institution_id: str) -> list[dict[str, Any]]:
    async with identity.database.transaction() as session:
        rows = (await session.execute(select(tables.outbox.c.envelope).where(
            tables.outbox.c.institution_id == institution_id).order_by(tables.outbox.c.occurred_at))).all()
    return [envelope for (envelope,) in rows if envelope["type"].startswith("comitas.institution.")]


@asynccontextmanager
async def directory_events(identity: Identity) -> AsyncIterator[asyncio.Queue]:
    connection = await nats.connect(identity.nats_url)
    received: asyncio.Queue = asyncio.Queue()

    async def collect(message: Any) -> None:
        await received.put(message)

    await connection.subscribe("events.institution.>", cb=collect)
    try:
        yield received
    finally:
        await connection.close()


async def next_for(received: asyncio.Queue, institution_id: str, *, skip_registered: bool = True) -> Any:
    """The next event about ``institution_id``. Its ``registered`` event is relayed from the outbox
    asynchronously, so it may still arrive after a test starts listening for the updates: skipped."""
    while True:
        message = await asyncio.wait_for(received.get(), timeout=10)
        if json.loads(message.data)["institution_id"] != institution_id:
            continue
        if skip_registered and message.headers.get("ce-type") == "comitas.institution.registered":
            continue
        return message


async def test_an_entry_round_trips_and_its_contact_is_shown_only_to_those_who_may_see_it(
        identity: Identity) -> None:
    institution_id = await registered(identity)
    url = f"{identity.url}/v1/institutions/{institution_id}"
    stranger = await identity.client(scopes=["directory:read"])
    own = await identity.client(scopes=["directory:read"], institution_id=institution_id)
    notifier = await identity.client(scopes=["directory:read", "directory:contacts"])

    seen = (await identity.http.get(url, headers=await headers(identity, stranger))).json()
    assert {k: seen[k] for k in PUBLIC} == PUBLIC
    assert seen["kind"] == "ombudsperson" and seen["version"] == 1 and seen["contact"] is None
    for reader in (own, notifier):
        assert (await identity.http.get(url, headers=await headers(identity, reader))).json()["contact"] == CONTACT
    listed = (await identity.http.get(f"{identity.url}/v1/institutions", headers=await headers(identity, stranger),
                                      params={"country": "FR", "kind": "ombudsperson", "limit": 100})).json()
    assert all(item["contact"] is None for item in listed["items"])
    assert (await admin.show_institution(identity.database, institution_id))["contact"] == CONTACT


async def test_the_list_filters_by_kind_country_and_referrals(identity: Identity) -> None:
    accepting = await admin.register_institution(
        identity.database, name="UN office", kind="un_field_office", country="MT",
        profile={"accepts_referrals": True, "referral_kinds": ["referral"], "referral_purposes": ["coordination"]})
    closed = await admin.register_institution(identity.database, name="UN office 2", kind="un_field_office",
                                              country="MT")
    elsewhere = await admin.register_institution(identity.database, name="UN office 3", kind="un_field_office",
                                                 country="CY")
    reader = await headers(identity, await identity.client(scopes=["directory:read"]))

    async def ids(**params: Any) -> list[str]:
        found: list[str] = []
        cursor = None
        while True:
            query = {"limit": 2, **params} | ({"cursor": cursor} if cursor else {})
            response = await identity.http.get(f"{identity.url}/v1/institutions", headers=reader, params=query)
            assert response.status_code == 200, response.text
            page = response.json()
            for item in page["items"]:
                for name, value in params.items():
                    expected = value.upper() if name == "country" else value
                    assert str(item[name]).lower() == str(expected).lower(), (name, item)
            found += [item["id"] for item in page["items"]]
            if not (cursor := page["next_cursor"]):
                return found

    assert {accepting, closed} <= set(await ids(kind="un_field_office", country="mt"))
    assert elsewhere not in await ids(kind="un_field_office", country="MT")
    mine = await ids(kind="un_field_office", country="MT", accepts_referrals="true")
    assert accepting in mine and closed not in mine
    assert closed in await ids(country="MT", accepts_referrals="false")
    assert (await identity.http.get(f"{identity.url}/v1/institutions", headers=reader,
                                    params={"kind": "club"})).status_code == 422


async def test_admin_changes_any_field_once_per_change_with_one_event(identity: Identity) -> None:
    institution_id = await registered(identity)
    url = f"{identity.url}/v1/institutions/{institution_id}"
    operator = await identity.client(scopes=["admin", "directory:read"])
    auth = await headers(identity, operator)

    async with directory_events(identity) as received:
        change = {"name": "Défenseur des droits", "languages": ["fr"], "mandate": {"subject_areas": ["general"]},
                  "contact": {"language": None}, "response_period": None, "active": True}
        response = await identity.http.patch(url, json=change, headers=auth)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["name"] == "Défenseur des droits" and body["languages"] == ["fr"]
        # mandate and contact change part by part
        assert body["mandate"] == {**PUBLIC["mandate"], "subject_areas": ["general"]}
        assert body["contact"] == {"emails": CONTACT["emails"], "language": None}
        assert body["response_period"] is None and body["version"] == 2
        assert body["updated_at"] > body["created_at"]

        message = await next_for(received, institution_id)
        assert message.headers["ce-type"] == "comitas.institution.updated"
        assert message.headers["ce-institutionid"] == institution_id
        assert message.headers["ce-subject"] == institution_id
        data = json.loads(message.data)
        assert data["changed"] == ["contact", "languages", "mandate", "name", "response_period"]
        assert data["version"] == 2 and data["name"] == "Défenseur des droits" and data["languages"] == ["fr"]
        assert "contact" not in data and "saisines" not in message.data.decode()

        # The same values again: nothing changes, no event, the version stays.
        again = await identity.http.patch(url, json=change, headers=auth)
        assert again.status_code == 200 and again.json()["version"] == 2

    events = await outbox(identity, institution_id)
    assert [e["type"] for e in events] == ["comitas.institution.registered", "comitas.institution.updated"]
    registered_data = events[0]["data"]
    assert registered_data["version"] == 1 and {k: registered_data[k] for k in PUBLIC} == PUBLIC
    assert "contact" not in registered_data and "saisines" not in json.dumps(registered_data)

    # A contact-only change is an event too (notifications re-reads the contact), still without it.
    assert (await identity.http.patch(url, json={"contact": {"emails": ["new@defenseur.example.org"]}},
                                      headers=auth)).json()["version"] == 3
    last = (await outbox(identity, institution_id))[-1]["data"]
    assert last["changed"] == ["contact"] and last["version"] == 3 and "new@" not in json.dumps(last)


async def test_an_institution_keeps_its_own_entry_but_not_what_it_is_nor_another_s(identity: Identity) -> None:
    institution_id = await registered(identity)
    other = await registered(identity)
    url = f"{identity.url}/v1/institutions/{institution_id}"
    manager = await headers(identity, await identity.client(scopes=["directory:manage"],
                                                            institution_id=institution_id))

    closures = [{"day": "2027-01-02", "name": "New year bridge"}]
    response = await identity.http.patch(url, json={"closures": closures, "accepts_referrals": False,
                                                    "contact": {"emails": ["a@x.example.org", "b@x.example.org"]}},
                                         headers=manager)
    assert response.status_code == 200, response.text
    assert response.json()["closures"] == [{"day": "2027-01-02", "until": None, "name": "New year bridge",
                                            "source": None}]
    assert response.json()["contact"]["emails"] == ["a@x.example.org", "b@x.example.org"]

    for reserved in ({"name": "Ministry"}, {"kind": "central_authority"}, {"country": "DE"},
                     {"state_institution": True}, {"active": False}):
        refused = await identity.http.patch(url, json=reserved, headers=manager)
        assert refused.status_code == 403, reserved
        assert refused.json()["type"] == "https://comitas.dev/problems/administrators-only"
    foreign = await identity.http.patch(f"{identity.url}/v1/institutions/{other}", json={"languages": ["en"]},
                                        headers=manager)
    assert foreign.status_code == 403 and foreign.json()["type"].endswith("/not-your-entry")
    reader = await headers(identity, await identity.client(scopes=["directory:read"], institution_id=institution_id))
    unscoped = await identity.http.patch(url, json={"languages": ["en"]}, headers=reader)
    assert unscoped.status_code == 403 and unscoped.json()["error"] == "insufficient_scope"
    assert (await identity.http.patch(url, json={"languages": ["en"]})).status_code == 401
    operator = await headers(identity, await identity.client(scopes=["admin"]))
    assert (await identity.http.patch(f"{identity.url}/v1/institutions/inst_nope", json={"languages": ["en"]},
                                      headers=operator)).status_code == 404
    assert [e["data"]["version"] for e in await outbox(identity, institution_id)] == [1, 2]


@pytest.mark.parametrize("change", [
    {"languages": ["xx"]},
    {"languages": ["fra"]},
    {"subdivision": "DE-BE"},
    {"subdivision": "FR-ZZZ"},
    {"time_zone": "Europe/Lutetia"},
    {"mandate": {"subject_areas": ["astrology"]}},
    {"mandate": {"investigates": ["everyone"]}},
    {"mandate": {"countries": ["UK"]}},
    {"acknowledgement_period": {"amount": 0, "unit": "working_days"}},
    {"acknowledgement_period": {"amount": 10, "unit": "fortnights"}},
    {"closures": [{"day": "2026-12-31", "until": "2026-12-24", "name": "Backwards"}]},
    {"closures": [{"day": "2026-12-31"}]},
    {"contact": {"emails": ["not an address"]}},
    {"contact": {"language": "de"}},
    {"referral_kinds": [], "accepts_referrals": True},
    {"referral_purposes": ["transfer"]},
    {"state_institution": True, "kind": "legal_aid_ngo"},
    {"kind": "central_authority", "state_institution": False},
    {"name": None},
    {"website": "https://example.org"},
])
async def test_invalid_changes_are_422_and_change_nothing(identity: Identity, change: dict[str, Any]) -> None:
    institution_id = await registered(identity)
    operator = await headers(identity, await identity.client(scopes=["admin"]))
    response = await identity.http.patch(f"{identity.url}/v1/institutions/{institution_id}", json=change,
                                         headers=operator)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert len(await outbox(identity, institution_id)) == 1


async def test_a_central_authority_is_a_state_institution_and_changing_kind_says_so(identity: Identity) -> None:
    authority = await admin.register_institution(identity.database, name="Ministry", kind="central_authority",
                                                 country="BR", profile={"time_zone": "America/Sao_Paulo"})
    operator = await headers(identity, await identity.client(scopes=["admin", "directory:read"]))
    url = f"{identity.url}/v1/institutions/{authority}"
    body = (await identity.http.get(url, headers=operator)).json()
    assert body["state_institution"] is True and body["time_zone"] == "America/Sao_Paulo"
    changed = await identity.http.patch(url, json={"kind": "ngo"}, headers=operator)
    assert changed.status_code == 200 and changed.json()["state_institution"] is False
    # Brazil has several zones: without one stated, it stays unknown rather than guessed.
    guessed = await admin.register_institution(identity.database, name="Other", kind="nhri", country="BR")
    assert (await identity.http.get(f"{identity.url}/v1/institutions/{guessed}", headers=operator)
            ).json()["time_zone"] is None


async def test_the_subject_areas_are_listed_with_their_sources(identity: Identity) -> None:
    reader = await headers(identity, await identity.client(scopes=["directory:read"]))
    response = await identity.http.get(f"{identity.url}/v1/vocabularies/subject-areas", headers=reader)
    assert response.status_code == 200
    body = response.json()
    codes = {area["code"]: area for area in body["items"]}
    assert {"general", "children", "detention", "criminal_mla", "maladministration"} <= codes.keys()
    assert codes["general"]["acts"] == ["*"] and codes["children"]["acts"] == ["31"]
    assert all(area["sources"] for area in body["items"])
    assert body["version"].startswith("2026-")


def test_the_cli_registers_and_updates_entries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = fresh_database_url("identity_cli_entries", tmp_path)
    migrations.upgrade("comitas_identity", url)
    try:
        profile = tmp_path / "profile.json"
        profile.write_text(json.dumps({"languages": ["es"], "time_zone": "Europe/Madrid"}))
        assert cli.main(["--database-url", url, "institution", "add", "--name", "Síndic", "--kind", "ombudsperson",
                         "--country", "ES", "--profile", str(profile)]) == 0
        institution_id = json.loads(capsys.readouterr().out)["institution_id"]
        profile.write_text(json.dumps({"subdivision": "ES-CT", "accepts_referrals": True,
                                       "referral_kinds": ["referral"], "referral_purposes": ["investigate"]}))
        assert cli.main(["--database-url", url, "institution", "update", institution_id,
                         "--profile", str(profile)]) == 0
        assert json.loads(capsys.readouterr().out)["changed"] == ["accepts_referrals", "referral_kinds",
                                                                  "referral_purposes", "subdivision"]
        assert cli.main(["--database-url", url, "institution", "show", institution_id]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert shown["subdivision"] == "ES-CT" and shown["languages"] == ["es"] and shown["version"] == 2
        profile.write_text(json.dumps({"languages": ["xx"]}))
        assert cli.main(["--database-url", url, "institution", "update", institution_id,
                         "--profile", str(profile)]) == 2
        assert "ISO 639-1" in capsys.readouterr().err
    finally:
        drop_database(url)
