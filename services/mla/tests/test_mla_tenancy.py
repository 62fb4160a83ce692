"""Only the requesting and the requested authority see a request. A test walks mla's OpenAPI document and
calls every operation on a request as a third institution: each answers 404 and says nothing of the
request; lists show it nothing. A confidential request's webhooks carry its id and state, nothing else."""

from __future__ import annotations

import json
import re

import httpx
from mla_testkit import EIO_REQUEST, act, body, create, subscribe

from comitas_shared.testing import eventually

# A valid body for every operation that takes one: the third institution's calls must pass validation so
# that what answers is the tenancy rule, not the schema. A new operation fails the walk until it is here.
BODIES: dict[tuple[str, str], object] = {
    ("post", "/v1/requests"): None,  # creating is not an operation on someone else's request
    ("patch", "/v1/requests/{request_id}"): {"purpose": "Tampering attempt"},
    ("post", "/v1/requests/{request_id}/translations"): {"language": "it", "status": "attached"},
    ("post", "/v1/requests/{request_id}/issue"): None,
    ("post", "/v1/requests/{request_id}/clarifications"): {"answer": "x"},
    ("post", "/v1/requests/{request_id}/withdraw"): {"reason": "x"},
    ("post", "/v1/requests/{request_id}/status-requests"): {"message": "x"},
    ("post", "/v1/requests/{request_id}/acknowledge"): {"note": "x"},
    ("post", "/v1/requests/{request_id}/clarification-requests"): {"questions": "x"},
    ("post", "/v1/requests/{request_id}/recognise"): {"note": "x"},
    ("post", "/v1/requests/{request_id}/execute"): {"note": "x"},
    ("post", "/v1/requests/{request_id}/refuse"): {"grounds": [{"code": "ne_bis_in_idem", "text": "x"}]},
    ("post", "/v1/requests/{request_id}/postpone"): {"reason": "x", "until": "2099-01-01"},
    ("post", "/v1/requests/{request_id}/resume"): None,
    ("post", "/v1/requests/{request_id}/recognition-extensions"): {"days": 5, "reason": "x"},
    ("post", "/v1/requests/{request_id}/execution-consultations"): {"reason": "x", "estimated_date": "2099-01-01"},
    ("post", "/v1/requests/{request_id}/status-requests/{status_request_id}/answer"): {"answer": "x"},
    ("post", "/v1/requests/{request_id}/results"): b"a file a third institution tries to slip in",
}
# Reference data, the same for every holder of a token: no institution's record is behind these.
REFERENCE = re.compile(r"^/v1/legal-bases")


async def test_a_third_authority_gets_404_on_every_operation_on_a_request(stack, authorities) -> None:
    fr, de, it = await authorities.new("FR"), await authorities.new("DE"), await authorities.new("IT")
    request = await create(fr.api, body(EIO_REQUEST, de))
    rid = request["id"]
    await act(fr.api, rid, "issue")
    await act(de.api, rid, "acknowledge")
    await act(de.api, rid, "recognise")
    result = await de.api.post(f"/v1/requests/{rid}/results", content=b"statement;1\n", params={"filename": "s.csv"})
    assert result.status_code == 201, result.text
    status = (await fr.api.post(f"/v1/requests/{rid}/status-requests", json={})).json()
    ids = {"request_id": rid, "result_id": result.json()["id"], "status_request_id": status["id"]}
    before = (await fr.api.get(f"/v1/requests/{rid}")).json()

    spec = (await it.api.get("/openapi.json")).json()
    walked = 0
    secrets = [rid, request["reference"], EIO_REQUEST["summary_of_facts"], "Weiß", fr.institution_id,
               de.institution_id]
    for path, operations in spec["paths"].items():
        for method in operations:
            if method not in {"get", "post", "patch", "put", "delete"} or path in {"/healthz", "/readyz"}:
                continue
            names = re.findall(r"{(\w+)}", path)
            if REFERENCE.match(path):
                continue
            if not names:
                continue
            assert method == "get" or (method, path) in BODIES, f"add a valid body for {method.upper()} {path}"
            url = path.format(**{name: ids[name] for name in names})
            payload = BODIES.get((method, path))
            kwargs: dict = {"content": payload} if isinstance(payload, bytes) else (
                {"json": payload} if payload is not None else {})
            response = await it.api.request(method.upper(), url, **kwargs)
            assert response.status_code == 404, (method, path, response.status_code, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            for secret in secrets[1:]:
                assert secret not in response.text, (method, path, secret)
            walked += 1
    # Every operation with an id was walked: the writes listed above and the reads (request, completeness,
    # document, transitions, results, one result, its content).
    assert walked == len([k for k in BODIES if "{" in k[1]]) + 7
    assert (await fr.api.get(f"/v1/requests/{rid}")).json() == before, "the third institution changed nothing"

    # Lists: the third institution's are empty; each party sees the request, with its own role.
    for role in (None, "requesting", "requested"):
        listed = (await it.api.get("/v1/requests", params={"role": role} if role else {})).json()
        assert listed["items"] == []
    assert [r["role"] for r in (await fr.api.get("/v1/requests")).json()["items"]] == ["requesting"]
    assert [r["role"] for r in (await de.api.get("/v1/requests")).json()["items"]] == ["requested"]
    # Reference data is the same for everyone and names no request.
    catalogue = await it.api.get("/v1/legal-bases/catalogue")
    assert catalogue.status_code == 200 and all(s not in catalogue.text for s in secrets)


async def test_the_walk_sees_every_operation_of_the_app(stack) -> None:
    """The walk above relies on the OpenAPI document listing every route: no route is hidden from it."""
    routes = {(method.lower(), route.path) for route in stack.mla.app.routes
              for method in getattr(route, "methods", set()) if method not in {"HEAD", "OPTIONS"}}
    async with httpx.AsyncClient(base_url=stack.mla.url) as http:
        spec = (await http.get("/openapi.json")).json()
    documented = {(method, path) for path, ops in spec["paths"].items() for method in ops}
    hidden = {r for r in routes if r[1] not in {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}} - documented
    assert hidden == set()
    assert {k for k in BODIES} <= documented


async def test_a_confidential_request_reaches_webhooks_as_its_id_and_state_only(stack, authorities,
                                                                             receivers) -> None:
    fr, de, it = await authorities.new("FR"), await authorities.new("DE"), await authorities.new("IT")
    fr_hook, de_hook, it_hook = receivers
    for side, hook in ((fr, fr_hook), (de, de_hook), (it, it_hook)):
        await subscribe(stack, side, hook, event_types=("comitas.mla.*",))
    secret = await create(fr.api, body(EIO_REQUEST, de, confidentiality_reasons="A covert operation is running.")
                          | {"confidential": True})
    plain = await create(fr.api, body(EIO_REQUEST, de))
    for request in (secret, plain):
        await act(fr.api, request["id"], "issue")
        await act(de.api, request["id"], "acknowledge")
        await act(de.api, request["id"], "refuse", {"grounds": [{"code": "double_criminality",
                                                                  "text": "Not an offence in Germany."}]})
    for hook, event in ((de_hook, "comitas.mla.issued"), (fr_hook, "comitas.mla.refused")):
        await eventually(lambda h=hook, e=event: e in h.types(secret["id"]) and e in h.types(plain["id"]), timeout=10)
    for hook in (fr_hook, de_hook):
        for event in hook.events(secret["id"]):
            assert set(event["data"]) == {"request_id", "state"}, event
            raw = json.dumps(event)
            for leak in (EIO_REQUEST["summary_of_facts"], "Weiß", secret["reference"], "bank_records", "eio",
                         "double_criminality", fr.institution_id, de.institution_id):
                assert leak not in raw.replace('"source": "/comitas/mla"', ""), (leak, event)
        # The plain request's events say more (its reference and basis), and still no facts or persons.
        plain_events = hook.events(plain["id"])
        assert plain_events and all(e["data"]["reference"] == plain["reference"] for e in plain_events)
        assert all(EIO_REQUEST["summary_of_facts"] not in json.dumps(e) and "Weiß" not in json.dumps(e)
                   for e in plain_events)
    # The third institution received nothing about either.
    assert it_hook.events(secret["id"]) == [] and it_hook.events(plain["id"]) == []
