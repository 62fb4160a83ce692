"""Token exchange (RFC 8693) across real services: a platform service called with an institution's token
for itself exchanges it at identity for a token for intake, narrowed to what the call needs; intake takes
it as that institution's, and refuses the original (not addressed to it) and anything beyond the scope."""

from __future__ import annotations

import uuid

import httpx

from comitas_identity import admin
from comitas_shared.db import Database

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
INTAKE, REFERRAL = "urn:comitas:intake", "urn:comitas:referral"
COMPLAINT = {"summary": "Returned across the border without a hearing.", "respondent_states": ["IT"]}


async def token(stack, client_id: str, secret: str, **form: str) -> httpx.Response:
    return await stack.http.post(f"{stack.identity.url}/oauth/token", data=form, auth=(client_id, secret))


async def test_a_service_acts_at_intake_with_the_institution_s_authority_only(stack):
    institution, stranger = await stack.new_institution(), await stack.new_institution()
    database = Database(stack.identity_db_url)
    try:
        service = await admin.register_service(
            database, service=f"referral-{uuid.uuid4().hex[:6]}", country="FR", service_resource=REFERRAL,
            exchange_resources=[INTAKE], exchange_scopes=["complaints:submit", "complaints:read"])
    finally:
        await database.dispose()
    # The institution calls the service: its token names the service, not intake.
    called_with = (await token(stack, institution.client_id, institution.client_secret,
                               grant_type="client_credentials", resource=REFERRAL,
                               scope="complaints:submit complaints:read referrals:write")).json()["access_token"]
    exchanged = await token(stack, service.client_id, service.client_secret or "", grant_type=EXCHANGE,
                            subject_token=called_with, subject_token_type=ACCESS_TOKEN, resource=INTAKE,
                            scope="complaints:submit")
    assert exchanged.status_code == 200, exchanged.text
    as_institution = {"Authorization": f"Bearer {exchanged.json()['access_token']}"}

    async with httpx.AsyncClient(base_url=stack.intake.url, timeout=10) as intake:
        created = await intake.post("/v1/complaints", json=COMPLAINT, headers=as_institution)
        assert created.status_code == 201, created.text
        complaint_id = created.json()["id"]
        # Narrowed: the exchanged token submits, it does not read.
        narrowed = await intake.get(f"/v1/complaints/{complaint_id}", headers=as_institution)
        assert narrowed.status_code == 403 and narrowed.json()["error"] == "insufficient_scope"
        # The token the service was called with is not intake's.
        original = await intake.get("/v1/complaints", headers={"Authorization": f"Bearer {called_with}"})
        assert original.status_code == 401 and 'error_description="aud"' in original.headers["www-authenticate"]

        # The complaint is the institution's own, and nobody else's.
        for owner, expected in ((institution, 200), (stranger, 404)):
            own = (await token(stack, owner.client_id, owner.client_secret, grant_type="client_credentials",
                               resource=INTAKE, scope="complaints:read")).json()["access_token"]
            read = await intake.get(f"/v1/complaints/{complaint_id}", headers={"Authorization": f"Bearer {own}"})
            assert read.status_code == expected, read.text
