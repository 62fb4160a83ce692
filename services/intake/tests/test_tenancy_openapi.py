"""Another institution gets 404 on every route about one of intake's records, whatever the route.

The tests walk intake's own OpenAPI document, so a route added later cannot escape them: every operation
whose path names a record, and every operation whose request body names one (a property ending in
``_id`` or ``_ids``, such as ``POST /v1/filings``'s ``complaint_id`` or ``POST /v1/transfers``'s
``grant_id`` and ``referral_id``), is called with a valid request, as a second institution holding every
scope, on records the first institution really has. A new path parameter or body field without a maker
below, or a body the minimal generator cannot build, fails the test by name: add a maker (or a body) here.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from comitas_shared.db import Database

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
# Request-body properties that name an institution of the directory (a referral's or a disclosure's
# recipient), not a record of one: they are not tried with the first institution's ids.
INSTITUTION_FIELD = re.compile(r"(^|_)institution_ids?$")
# A request-body property that names a record under another name than the path parameter above.
BODY_ALIASES: dict[str, str] = {}
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


def names_a_record(name: str) -> bool:
    return name.endswith(("_id", "_ids")) and not INSTITUTION_FIELD.search(name)


def record_id(name: str, ids: dict[str, str]) -> str | list[str]:
    """The first institution's id for a body property naming a record (a list of one for ``*_ids``)."""
    key = name[:-1] if name.endswith("_ids") else name
    key = BODY_ALIASES.get(key, key)
    assert key in ids, f"the request-body property {name!r} names a record: add a maker (or an alias) for it"
    return [ids[key]] if name.endswith("_ids") else ids[key]


def record_fields(spec: dict[str, Any], schema: dict[str, Any], at: str = "") -> list[str]:
    """Where ``schema`` names a record, as JSON pointers (``-`` for any item of an array): every property
    ending in ``_id`` or ``_ids``, however deep, through arrays, unions and references."""
    schema = _resolve(spec, schema)
    found: list[str] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            found += [f for f in record_fields(spec, option, at) if f not in found]
    for name, value in (schema.get("properties") or {}).items():
        if names_a_record(name):
            found.append(f"{at}/{name}")
        found += record_fields(spec, value, f"{at}/{name}")
    if "items" in schema:
        found += record_fields(spec, schema["items"], f"{at}/-")
    return found


def _at(value: Any, pointer: str) -> list[Any]:
    """The values at ``pointer`` in ``value`` (every item for ``-``); [] where nothing is there."""
    values = [value]
    for part in pointer.strip("/").split("/"):
        if part == "-":
            values = [item for v in values if isinstance(v, list) for item in v]
        else:
            values = [v[part] for v in values if isinstance(v, dict) and part in v]
    return values


def minimal(spec: dict[str, Any], schema: dict[str, Any], ids: dict[str, str] | None = None) -> Any:
    """The smallest value that validates against ``schema``: required properties only, and, given the
    first institution's ``ids``, every property naming a record, set to the first institution's id."""
    schema = _resolve(spec, schema)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if _resolve(spec, s).get("type") != "null"]
            return minimal(spec, options[0], ids)
    if "allOf" in schema:
        return minimal(spec, schema["allOf"][0], ids)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties") or {}
        names = [n for n in properties
                 if n in schema.get("required", []) or (ids is not None and names_a_record(n))]
        return {name: record_id(name, ids) if ids is not None and names_a_record(name)
                else minimal(spec, properties[name], ids) for name in names}
    if kind == "array":
        return [minimal(spec, schema["items"], ids) for _ in range(schema.get("minItems", 0))]
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


def body_record_fields(spec: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    """Where an operation's request body names a record (JSON pointers); [] without a JSON body."""
    content = (operation.get("requestBody") or {}).get("content") or {}
    schema = (content.get("application/json") or {}).get("schema")
    return record_fields(spec, schema) if schema else []


def request_for(spec: dict[str, Any], method: str, path: str, operation: dict[str, Any],
                ids: dict[str, str]) -> dict[str, Any]:
    """A valid request for the operation, naming the first institution's records (``ids``) wherever its
    request body names one; a body property naming a record that the request leaves out fails by name."""
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
        request["json"] = minimal(spec, content["application/json"]["schema"], ids)
    for pointer in body_record_fields(spec, operation):
        values = _at(request.get("json"), pointer)
        assert values and all(v == record_id(pointer.rsplit("/", 1)[-1], ids) for v in values), \
            f"{method.upper()} {path}: its body names a record at {pointer}: add a body with the id to BODIES"
    return request


def operations_of(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, operation) for path, item in spec["paths"].items()
            for method, operation in item.items() if method in ("get", "post", "put", "patch", "delete")]


@pytest.fixture(scope="module")
async def records(stack) -> tuple[Any, Any, dict[str, Any], dict[str, str]]:
    """Two institutions, intake's OpenAPI document, and a record of the first for every path parameter
    and every request-body property that names a record."""
    owner, other = await stack.new_institution(), await stack.new_institution()
    async with httpx.AsyncClient(base_url=stack.intake.url) as http:
        spec = (await http.get("/openapi.json")).json()
    operations = operations_of(spec)
    needed = {name for path, _, _ in operations for name in re.findall(r"{(\w+)}", path)}
    assert not needed - MAKERS.keys(), f"add a maker for the path parameters {sorted(needed - MAKERS.keys())}"
    fields = {p.rsplit("/", 1)[-1].removesuffix("s") for _, _, o in operations for p in body_record_fields(spec, o)}
    named = {BODY_ALIASES.get(name, name) for name in fields}
    assert not named - MAKERS.keys(), f"add a maker for the body properties {sorted(named - MAKERS.keys())}"
    ids: dict[str, str] = {}
    async with await stack.client_for("intake", owner) as api:
        for name, make in MAKERS.items():
            if name in needed | named:
                ids[name] = await make(api, ids, other)
    return owner, other, spec, ids


# Columns the outbox relay writes after the fact (publishing what was staged): not a write of the call.
RELAY_COLUMNS = frozenset({"published_at", "attempts", "last_error"})
# Written by a background task on its own clock (every 5 minutes), whatever the calls do.
BACKGROUND_TABLES = frozenset({"audit_checkpoint"})


async def rows_of(stack: Any, institution_id: str) -> dict[str, list[str]]:
    """Every row intake holds for ``institution_id``, table by table (every table with an institution_id
    column), as text, less the columns the outbox relay fills in later."""
    from comitas_intake.models import load_all_models, metadata

    load_all_models()
    database = Database(stack.database_urls["intake"])
    rows: dict[str, list[str]] = {}
    try:
        async with database.transaction() as session:
            for table in metadata.sorted_tables:
                if "institution_id" not in table.c or table.name in BACKGROUND_TABLES:
                    continue
                columns = [c for c in table.c if c.name not in RELAY_COLUMNS]
                query = select(*columns).where(table.c.institution_id == institution_id)
                found = (await session.execute(query)).all()
                rows[table.name] = sorted(repr(tuple(row)) for row in found)
    finally:
        await database.dispose()
    return rows


async def settled_rows_of(stack: Any, institution_id: str, deadline: float = 10.0) -> dict[str, list[str]]:
    """``rows_of`` once intake's consumers are done with the institution's records (indexing a submitted
    complaint happens after its request): two reads in a row that agree."""
    loop = asyncio.get_running_loop()
    end, previous = loop.time() + deadline, await rows_of(stack, institution_id)
    while True:
        await asyncio.sleep(0.3)
        current = await rows_of(stack, institution_id)
        if current == previous:
            return current
        assert loop.time() < end, "intake's rows for the institution kept changing"
        previous = current


async def rows_before(stack: Any, *institutions: Any) -> dict[str, dict[str, list[str]]]:
    return {who.institution_id: await settled_rows_of(stack, who.institution_id) for who in institutions}


async def nothing_written(stack: Any, before: dict[str, dict[str, list[str]]]) -> None:
    """Not one row of these institutions was written or changed since ``before``."""
    for institution_id, rows in before.items():
        now = await rows_of(stack, institution_id)
        changed = {t: f"{len(rows[t])} rows before, {len(now[t])} after" for t in rows if rows[t] != now[t]}
        assert not changed, f"rows of {institution_id} written or changed by the other's calls: {changed}"


async def test_another_institution_gets_404_on_every_operation_about_a_record(stack, records):
    owner, other, spec, ids = records
    operations = operations_of(spec)
    assert not [p for p, _, _ in operations if p.startswith(PUBLIC_PREFIX) and "{" in p], \
        "a public route must not name a record in its path: the receipt code says which complaint"

    before = await rows_before(stack, owner, other)
    called, leaks = 0, []
    async with await stack.client_for("intake", other) as api:
        for path, method, operation in operations:
            if not re.search(r"{\w+}", path):
                continue
            url = path.format(**ids)
            response = await api.request(method.upper(), url, **request_for(spec, method, path, operation, ids))
            called += 1
            if response.status_code != 404 or any(v in response.text for v in ids.values() if v not in url):
                leaks.append(f"{method.upper()} {path}: {response.status_code} {response.text[:200]}")
            elif response.headers["content-type"] != "application/problem+json":
                leaks.append(f"{method.upper()} {path}: 404 without problem+json")
    assert not leaks, "\n".join(leaks)
    assert called >= 20  # every record route of intake (complaints, children, evidence, consent...)
    await nothing_written(stack, before)


async def test_another_institution_naming_a_record_in_a_request_body_gets_404_and_writes_nothing(stack, records):
    """``POST /v1/filings`` with another institution's ``complaint_id``, ``POST /v1/transfers`` with its
    ``grant_id`` and ``referral_id``, and any operation added later whose request body names a record
    (found in the OpenAPI document, not listed here): 404 problem+json, no other id of the owner in the
    answer, and not one row written or changed, neither for the caller nor for the owner; the owner's
    complaint still lists no filing."""
    owner, other, spec, ids = records
    operations = operations_of(spec)
    naming = [(path, method, operation) for path, method, operation in operations
              if body_record_fields(spec, operation)]
    assert not [p for p, _, _ in naming if p.startswith(PUBLIC_PREFIX)], \
        "a public route must not name a record in its body: the receipt code says which complaint"
    # The walk finds what it must: the two operations that name a record in their body today.
    found = {(method, path): body_record_fields(spec, operation) for path, method, operation in naming}
    assert found[("post", "/v1/filings")] == ["/complaint_id"]
    assert found[("post", "/v1/transfers")] == ["/grant_id", "/referral_id"]

    before = await rows_before(stack, owner, other)
    leaks = []
    async with await stack.client_for("intake", other) as api:
        for path, method, operation in naming:
            request = request_for(spec, method, path, operation, ids)
            url = path.format(**ids)
            response = await api.request(method.upper(), url, **request)
            sent = url + repr(request.get("json"))
            if response.status_code != 404 or any(v in response.text for v in ids.values() if v not in sent):
                leaks.append(f"{method.upper()} {path} {request.get('json')}: {response.status_code} "
                             f"{response.text[:300]}")
            elif response.headers["content-type"] != "application/problem+json":
                leaks.append(f"{method.upper()} {path}: 404 without problem+json")
        listed = await api.get("/v1/complaints")
        assert listed.status_code == 200 and listed.json()["items"] == [], listed.text
    assert not leaks, "\n".join(leaks)

    await nothing_written(stack, before)
    async with await stack.client_for("intake", owner) as api:
        filings = await api.get(f"/v1/complaints/{ids['complaint_id']}/filing-records")
        assert filings.status_code == 200 and filings.json()["items"] == [], filings.text


async def test_lists_of_another_institution_show_none_of_the_owners_records(stack):
    owner, other = await stack.new_institution(), await stack.new_institution()
    async with await stack.client_for("intake", owner) as api:
        complaint_id = await _complaint(api, {}, other)
    async with await stack.client_for("intake", other) as api:
        for path in ("/v1/complaints", "/v1/audit", "/v1/statistics"):
            response = await api.get(path)
            assert response.status_code == 200, (path, response.text)
            assert complaint_id not in response.text, path
