"""Another institution gets 404 on every route about one of intake's records, whatever the route.

The test walks intake's own OpenAPI document, so a route added later cannot escape it: every operation
whose path names a record is called, with a valid request, as a second institution holding every scope,
on records the first institution really has. A new path parameter without a maker below, or a body
the minimal generator cannot build, fails the test by name: add a maker (or a body) here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

Maker = Callable[[httpx.AsyncClient, dict[str, str], Any], Awaitable[str]]


async def _complaint(api: httpx.AsyncClient, ids: dict[str, str], other: Any) -> str:
    response = await api.post("/v1/complaints", json={
        "summary": "Taken from home by police.", "respondent_states": ["FR"],
        "victims": [{"name": f"Tenancy {uuid.uuid4().hex[:8]}", "birth_date": "1990-01-01"}],
        "incidents": [{"start": "2026-10-01", "country": "FR", "place": "Lyon", "act_types": ["030101"]}],
        "rights": [{"instrument": "ECHR", "article": "5"}],
        "domestic_remedies": [{"description": "appeal", "exhausted": True, "final_decision_date": "2026-10-20"}]})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _filing(api: httpx.AsyncClient, ids: dict[str, str], other: Any) -> str:
    response = await api.post(f"/v1/complaints/{ids['complaint_id']}/filings", json={"mechanism": "echr"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _referral(api: httpx.AsyncClient, ids: dict[str, str], other: Any) -> str:
    response = await api.post(f"/v1/complaints/{ids['complaint_id']}/referrals",
                              json={"to_institution_id": other.institution_id})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _assessment(api: httpx.AsyncClient, ids: dict[str, str], other: Any) -> str:
    response = await api.post(f"/v1/complaints/{ids['complaint_id']}/assessments")
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _consent(api: httpx.AsyncClient, ids: dict[str, str], other: Any) -> str:
    response = await api.post(f"/v1/complaints/{ids['complaint_id']}/consents", json={
        "status": "given", "purposes": ["investigate"], "recipient": {"type": "institution_kind", "value": "nhri"},
        "categories": ["identity", "narrative"], "channel": "written"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _grant(api: httpx.AsyncClient, ids: dict[str, str], other: Any) -> str:
    response = await api.post(f"/v1/complaints/{ids['complaint_id']}/disclosures", json={
        # A third institution: the recipient of a grant may read it (GET /v1/disclosures/{grant_id}).
        "recipient_institution_id": f"inst_{uuid.uuid4().hex[:16]}", "recipient_kind": "nhri", "purpose": "investigate",
        "categories": ["identity"]})
    assert response.status_code == 201, response.text
    return str(response.json()["grant_id"])


async def _evidence(api: httpx.AsyncClient, ids: dict[str, str], other: Any) -> str:
    response = await api.post(f"/v1/complaints/{ids['complaint_id']}/evidence", params={"filename": "note.txt"},
                              content=b"a witness statement, typed", headers={"content-type": "text/plain"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _filing_record(api: httpx.AsyncClient, ids: dict[str, str], other: Any) -> str:
    """A filing (issue 15) taken to its decision, so its measures exist too: a complaint of its own with
    everything the Human Rights Committee's form asks, and consent for it."""
    complaint = await api.post("/v1/complaints", json={
        "summary": "Held without charge.", "respondent_states": ["FR"],
        "victims": [{"name": f"Tenancy {uuid.uuid4().hex[:8]}", "birth_date": "1990-01-01", "nationalities": ["FR"],
                     "contacts": [{"kind": "email", "value": "t@example.org"}]}],
        "incidents": [{"start": "2026-10-01", "country": "FR", "act_types": ["030102"]}],
        "rights": [{"instrument": "ICCPR", "article": "9"}], "no_other_procedures": True,
        "domestic_remedies": [{"description": "appeal", "exhausted": True, "final_decision_date": "2026-10-20"}],
        "relief": {"sought": ["compensation"]}, "disclosure": {"respondent_state": "allowed"}})
    assert complaint.status_code == 201, complaint.text
    complaint_id = complaint.json()["id"]
    consent = await api.post(f"/v1/complaints/{complaint_id}/consents", json={
        "status": "given", "purposes": ["file_with_mechanism"], "recipient": {"type": "mechanism", "value": "ccpr"},
        "categories": ["identity", "contact", "narrative"], "channel": "written"})
    assert consent.status_code == 201, consent.text
    response = await api.post("/v1/filings", json={"complaint_id": complaint_id, "body": "ccpr", "language": "en"})
    assert response.status_code == 201, response.text
    filing_id = str(response.json()["id"])
    for change in ({"action": "mark_ready"}, {"action": "file", "on": "2026-11-01", "channel": "email"},
                   {"action": "register", "reference": "1/2026"}, {"action": "decide"}):
        moved = await api.post(f"/v1/filings/{filing_id}/status", json=change)
        assert moved.status_code == 200, moved.text
    return filing_id


async def _measure(api: httpx.AsyncClient, ids: dict[str, str], other: Any) -> str:
    response = await api.post(f"/v1/filings/{ids['filing_record_id']}/decision", json={
        "respondent_state": "FR", "decided_on": "2026-11-20", "measures": [{"kind": "individual", "type": "release"}]})
    assert response.status_code == 201, response.text
    return str(response.json()[0]["id"])


async def _subscription(api: httpx.AsyncClient, ids: dict[str, str], other: Any) -> str:
    response = await api.post("/v1/pattern-subscriptions", json={"states": ["FR"]})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


# The public channel's routes (/v1/public/...) take no token: a receipt code opens one complaint. They name
# no record in their path, so the walk below does not call them; it checks that none ever does, and
# test_public_channel.py checks that none shows a complaint without its code.
PUBLIC_PREFIX = "/v1/public/"

# In the order they must be made (a consent before the disclosure it covers).
MAKERS: dict[str, Maker] = {
    "complaint_id": _complaint, "filing_id": _filing, "referral_id": _referral, "assessment_id": _assessment,
    "consent_id": _consent, "grant_id": _grant, "evidence_id": _evidence, "filing_record_id": _filing_record,
    "measure_id": _measure, "subscription_id": _subscription,
}
# Operations that need more than the generator gives (a header, a body it cannot build).
HEADERS = {"Comitas-Purpose": "tenancy check", "Idempotency-Key": "tenancy-walk"}
BODIES: dict[tuple[str, str], Any] = {
    ("post", "/v1/complaints/{complaint_id}/evidence"): b"bytes",
}


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def minimal(spec: dict[str, Any], schema: dict[str, Any]) -> Any:
    """The smallest value that validates against ``schema``: required properties only."""
    schema = _resolve(spec, schema)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if _resolve(spec, s).get("type") != "null"]
            return minimal(spec, options[0])
    if "allOf" in schema:
        return minimal(spec, schema["allOf"][0])
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {name: minimal(spec, schema["properties"][name]) for name in schema.get("required", [])}
    if kind == "array":
        return [minimal(spec, schema["items"]) for _ in range(schema.get("minItems", 0))]
    if kind == "integer":
        return max(schema.get("minimum", 1), 1)
    if kind == "number":
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    if kind == "string":
        if schema.get("format") == "date":
            return "2026-01-01"
        if schema.get("format") == "date-time":
            return "2026-01-01T00:00:00Z"
        length = max(schema.get("minLength", 1), 3)
        pattern = schema.get("pattern")
        if not pattern:
            return "x" * length
        for candidate in ("x" * length, "FR", "fr", "abc", "a1b2c3", "020101", "2026-01-01"):
            if re.fullmatch(pattern, candidate):
                return candidate
        raise AssertionError(f"no minimal value for the pattern {pattern!r}: add a body to BODIES")
    return None


def request_for(spec: dict[str, Any], method: str, path: str, operation: dict[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {"headers": dict(HEADERS), "params": {}}
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "query" and parameter.get("required"):
            request["params"][parameter["name"]] = minimal(spec, parameter["schema"])
    body = operation.get("requestBody")
    if (method, path) in BODIES:
        value = BODIES[(method, path)]
        request["content" if isinstance(value, bytes) else "json"] = value
    elif body is not None:
        content = body["content"]
        assert "application/json" in content, f"{method.upper()} {path}: add its body to BODIES"
        request["json"] = minimal(spec, content["application/json"]["schema"])
    return request


async def test_another_institution_gets_404_on_every_operation_about_a_record(stack):
    owner, other = await stack.new_institution(), await stack.new_institution()
    async with httpx.AsyncClient(base_url=stack.intake.url) as http:
        spec = (await http.get("/openapi.json")).json()
    operations = [(path, method, operation) for path, item in spec["paths"].items()
                  for method, operation in item.items() if method in ("get", "post", "put", "patch", "delete")]
    assert not [p for p, _, _ in operations if p.startswith(PUBLIC_PREFIX) and "{" in p], \
        "a public route must not name a record in its path: the receipt code says which complaint"
    needed = {name for path, _, _ in operations for name in re.findall(r"{(\w+)}", path)}
    assert not needed - MAKERS.keys(), f"add a maker for the path parameters {sorted(needed - MAKERS.keys())}"

    ids: dict[str, str] = {}
    async with await stack.client_for("intake", owner) as api:
        for name, make in MAKERS.items():
            if name in needed:
                ids[name] = await make(api, ids, other)

    called, leaks = 0, []
    async with await stack.client_for("intake", other) as api:
        for path, method, operation in operations:
            if not re.search(r"{\w+}", path):
                continue
            url = path.format(**ids)
            response = await api.request(method.upper(), url, **request_for(spec, method, path, operation))
            called += 1
            if response.status_code != 404 or any(v in response.text for v in ids.values() if v not in url):
                leaks.append(f"{method.upper()} {path}: {response.status_code} {response.text[:200]}")
            elif response.headers["content-type"] != "application/problem+json":
                leaks.append(f"{method.upper()} {path}: 404 without problem+json")
    assert not leaks, "\n".join(leaks)
    assert called >= 20  # every record route of intake (complaints, children, evidence, consent...)


async def test_lists_of_another_institution_show_none_of_the_owners_records(stack):
    owner, other = await stack.new_institution(), await stack.new_institution()
    async with await stack.client_for("intake", owner) as api:
        complaint_id = await _complaint(api, {}, other)
    async with await stack.client_for("intake", other) as api:
        for path in ("/v1/complaints", "/v1/audit", "/v1/statistics"):
            response = await api.get(path)
            assert response.status_code == 200, (path, response.text)
            assert complaint_id not in response.text, path
