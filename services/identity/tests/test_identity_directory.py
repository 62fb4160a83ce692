"""The institutions directory: /v1/institutions with directory:read, cursor pages, problem+json."""

from __future__ import annotations

from identity_testkit import Identity

from comitas_identity import admin


async def bearer(identity: Identity, scopes: list[str]) -> dict[str, str]:
    client = await identity.client(scopes=scopes)
    return {"Authorization": f"Bearer {await identity.token(client)}"}


async def test_without_a_token_it_is_401_problem_json(identity: Identity) -> None:
    response = await identity.http.get(f"{identity.url}/v1/institutions")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["type"] == "https://comitas.dev/problems/invalid-token"


async def test_a_bad_token_is_401(identity: Identity) -> None:
    response = await identity.http.get(
        f"{identity.url}/v1/institutions", headers={"Authorization": "Bearer x.y.z"}
    )
    assert response.status_code == 401


async def test_without_directory_read_it_is_403_insufficient_scope(identity: Identity) -> None:
    headers = await bearer(identity, ["complaints:read"])
    response = await identity.http.get(f"{identity.url}/v1/institutions", headers=headers)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


async def test_one_institution_and_an_unknown_one(identity: Identity) -> None:
    institution_id = await admin.register_institution(
        identity.database, name="Défenseur des droits", kind="ombudsperson", country="fr"
    )
    headers = await bearer(identity, ["directory:read"])
    response = await identity.http.get(f"{identity.url}/v1/institutions/{institution_id}", headers=headers)
    assert response.status_code == 200
    body = response.json()
    # Registered with name, kind and country only: the rest of the entry has its defaults, and another
    # institution does not see the contact.
    assert body == {
        "id": institution_id,
        "name": "Défenseur des droits",
        "kind": "ombudsperson",
        "country": "FR",
        "subdivision": None,
        "time_zone": "Europe/Paris",
        "languages": [],
        "mandate": {"subject_areas": [], "investigates": [], "countries": ["FR"]},
        "state_institution": False,
        "accepts_referrals": False,
        "referral_kinds": [],
        "referral_purposes": [],
        "acknowledgement_period": None,
        "response_period": None,
        "closures": [],
        "contact": None,
        "active": True,
        "version": 1,
        "created_at": body["created_at"],
        "updated_at": body["created_at"],
    }
    assert body["created_at"].endswith("Z") or body["created_at"].endswith("+00:00")

    missing = await identity.http.get(f"{identity.url}/v1/institutions/inst_nope", headers=headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


async def test_cursor_pages_walk_every_institution_once_in_order(identity: Identity) -> None:
    mine = [await identity.institution(kind="treaty_body", country="CH") for _ in range(5)]
    headers = await bearer(identity, ["directory:read"])
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "2", "kind": "treaty_body"} | ({"cursor": cursor} if cursor else {})
        response = await identity.http.get(f"{identity.url}/v1/institutions", headers=headers, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        assert all(item["kind"] == "treaty_body" for item in page["items"])
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert [i for i in seen if i in mine] == mine


async def test_page_size_is_bounded_and_cursors_are_checked(identity: Identity) -> None:
    headers = await bearer(identity, ["directory:read"])
    too_big = await identity.http.get(
        f"{identity.url}/v1/institutions", headers=headers, params={"limit": "1000"}
    )
    assert too_big.status_code == 422
    assert too_big.headers["content-type"] == "application/problem+json"
    forged = await identity.http.get(
        f"{identity.url}/v1/institutions", headers=headers, params={"cursor": "!!"}
    )
    assert forged.status_code == 422
    assert forged.json()["type"] == "https://comitas.dev/problems/invalid-cursor"
