"""Only the sender, and once sent the recipient, see a referral. A test walks referral's OpenAPI document
and calls every operation on a referral as a third institution: each answers 404 and says nothing of it;
its lists are empty; the grant is not its to read at intake either. Before intake froze the disclosure,
the recipient is a stranger too."""

from __future__ import annotations

import re

import httpx
from referral_testkit import RECIPIENT_PROFILE, act, close_parties, complaint, consent, new_party, refer

# A valid body for every operation on a referral that takes one: what answers must be the tenancy rule,
# not the schema. A new operation fails the walk until it is here.
BODIES: dict[tuple[str, str], object] = {
    ("post", "/v1/referrals/{referral_id}/acknowledge"): {"note": "x"},
    ("post", "/v1/referrals/{referral_id}/information-requests"): {"question": "x"},
    ("post", "/v1/referrals/{referral_id}/accept"): {"note": "x"},
    ("post", "/v1/referrals/{referral_id}/decline"): {"reason": "other", "text": "x"},
    ("post", "/v1/referrals/{referral_id}/withdraw"): {"reason": "x"},
    ("post", "/v1/referrals/{referral_id}/close"): {"outcome": "resolved"},
    ("post", "/v1/referrals/{referral_id}/messages"): {"body": "x"},
}
READS = 4  # the referral, its transitions, its messages, its receipts


async def test_a_third_institution_gets_404_on_every_operation_on_a_referral(stack, referral):
    a = await new_party(stack, referral, "Sender", country="FR")
    b = await new_party(stack, referral, "Recipient", country="IT", profile=RECIPIENT_PROFILE)
    c = await new_party(stack, referral, "Third", country="IT", profile=RECIPIENT_PROFILE)
    try:
        complaint_id = await complaint(a)
        await consent(a, complaint_id, b.id, purposes=["investigate"], categories=["identity", "narrative"])
        sent = await refer(a, complaint_id, b, message="Over to you.")
        rid = sent["id"]
        await act(b, rid, "acknowledge")
        before = (await a.referral.get(f"/v1/referrals/{rid}")).json()

        spec = (await c.referral.get("/openapi.json")).json()
        walked = 0
        for path, operations in spec["paths"].items():
            names = re.findall(r"{(\w+)}", path)
            if not names:
                continue
            for method in operations:
                assert method == "get" or (method, path) in BODIES, f"add a valid body for {method.upper()} {path}"
                response = await c.referral.request(method.upper(), path.format(referral_id=rid),
                                                    json=BODIES.get((method, path)))
                assert response.status_code == 404, (method, path, response.status_code, response.text)
                assert response.headers["content-type"] == "application/problem+json"
                for secret in (complaint_id, sent["packet"]["grant_id"], a.id, b.id):
                    assert secret not in response.text, (method, path, secret)
                walked += 1
        assert walked == len(BODIES) + READS
        assert (await a.referral.get(f"/v1/referrals/{rid}")).json() == before, "the third changed nothing"
        for side in (None, "sender", "recipient"):
            listed = await c.referral.get("/v1/referrals", params={"side": side} if side else {})
            assert listed.json()["items"] == []
        assert (await c.intake.get(f"/v1/disclosures/{sent['packet']['grant_id']}",
                                   headers={"Comitas-Purpose": "curiosity"})).status_code == 404
        # The candidates of someone else's complaint: not found either.
        assert (await c.referral.get("/v1/referrals/candidates",
                                     params={"complaint_id": complaint_id})).status_code == 404
    finally:
        await close_parties(a, b, c)


async def test_the_walk_sees_every_operation_of_the_app(referral):
    routes = {(method.lower(), route.path) for route in referral.app.routes
              for method in getattr(route, "methods", set()) if method not in {"HEAD", "OPTIONS"}}
    async with httpx.AsyncClient(base_url=referral.served.url) as http:
        spec = (await http.get("/openapi.json")).json()
    documented = {(method, path) for path, ops in spec["paths"].items() for method in ops}
    hidden = {r for r in routes if r[1] not in {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}}
    assert hidden - documented == set()
    assert set(BODIES) <= documented
