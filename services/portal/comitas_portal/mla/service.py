"""Mutual legal assistance through mla's API with the officer's token: draft a request to another state's
central authority, check it against its legal basis (completeness), issue it; on the requested side
acknowledge, ask for clarification, recognise, execute or refuse."""

from __future__ import annotations

import asyncio
from typing import Any

from ..sessions.service import Officer
from ..upstream import Unreachable, Upstream, UpstreamProblem, optional

ASSISTANCE_TYPES = ("taking_evidence", "hearing_witness", "hearing_by_video_conference", "search_and_seizure",
                    "bank_records", "service_of_documents", "preservation_of_stored_data",
                    "disclosure_of_stored_data", "freezing_of_assets", "temporary_transfer_of_detained_person",
                    "joint_investigation_team", "spontaneous_exchange_of_information")
NATURES = ("investigation", "prosecution", "judicial_proceedings", "enforcement")
# What each side may do, by the request's state (mla refuses anything else with 409).
REQUESTING_ACTIONS = {"draft": ("issue",), "clarification_requested": ("clarifications",),
                      "issued": ("withdraw",), "acknowledged": ("withdraw",)}
REQUESTED_ACTIONS = {"issued": ("acknowledge", "clarification-requests", "refuse"),
                     "acknowledged": ("clarification-requests", "recognise", "refuse"),
                     "clarified": ("recognise", "refuse"), "recognised": ("execute", "refuse"),
                     "in_execution": ("execute",)}
ACTIONS = {"issue", "withdraw", "clarifications", "acknowledge", "clarification-requests", "recognise", "execute",
           "refuse"}


async def overview(upstream: Upstream, officer: Officer) -> dict[str, Any]:
    """The institution's requests (sent and received), the central authorities it may ask, the bases."""
    requests, authorities, catalogue = await asyncio.gather(
        upstream.get("mla", "/v1/requests", token=officer.token, params={"limit": 100}),
        optional(upstream.get("identity", "/v1/institutions", token=officer.token,
                              params={"kind": "central_authority", "limit": 100}), {}),
        optional(upstream.get("mla", "/v1/legal-bases/catalogue", token=officer.token), {}))
    return {"requests": requests["items"],
            "authorities": [a for a in authorities.get("items", []) if a.get("id") != officer.institution_id],
            "bases": sorted(b["code"] for b in catalogue.get("bases", []))}


def draft_body(form: dict[str, str]) -> dict[str, Any]:
    """The draft form as mla's RequestCreate; empty fields are left out so that mla's completeness check,
    not the form, says what the basis requires."""
    text = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
    body: dict[str, Any] = {"requested_institution_id": text.get("requested", ""), "basis": text.get("basis", ""),
                            "language": text.get("language") or "en"}
    if text.get("conducting_authority"):
        body["conducting_authority"] = {"name": text["conducting_authority"],
                                        **({"functions": text["conducting_functions"]}
                                           if text.get("conducting_functions") else {})}
    if text.get("proceedings_subject"):
        body["proceedings"] = {"nature": text.get("proceedings_nature") or "investigation",
                               "subject": text["proceedings_subject"]}
    if text.get("complaint_id"):
        body["case"] = {"complaint_id": text["complaint_id"]}
    if text.get("offence"):
        body["offences"] = [{"name": text["offence"]}]
    for name in ("summary_of_facts", "purpose"):
        if text.get(name):
            body[name] = text[name]
    if text.get("assistance_description"):
        body["assistance"] = [{"type": text.get("assistance_type") or "taking_evidence",
                               "description": text["assistance_description"]}]
    return body


async def draft(upstream: Upstream, officer: Officer, form: dict[str, str], *, idempotency_key: str) -> dict[str, Any]:
    created: dict[str, Any] = await upstream.post("mla", "/v1/requests", token=officer.token, json=draft_body(form),
                                                  headers={"Idempotency-Key": idempotency_key})
    return created


async def request(upstream: Upstream, officer: Officer, request_id: str) -> dict[str, Any]:
    found = await upstream.get("mla", f"/v1/requests/{request_id}", token=officer.token)
    completeness, transitions = await asyncio.gather(
        optional(upstream.get("mla", f"/v1/requests/{request_id}/completeness", token=officer.token), {}),
        upstream.get("mla", f"/v1/requests/{request_id}/transitions", token=officer.token, params={"limit": 100}))
    table = REQUESTING_ACTIONS if found["role"] == "requesting" else REQUESTED_ACTIONS
    return {"request": found, "completeness": completeness, "transitions": transitions["items"],
            "actions": table.get(found["state"], ())}


async def act(upstream: Upstream, officer: Officer, request_id: str, action: str, form: dict[str, str]) -> None:
    text = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
    body: dict[str, Any] | None = None
    if action == "withdraw":
        body = {"reason": text.get("reason", "")}
    elif action == "clarifications":
        body = {"answer": text.get("answer", "")}
    elif action == "clarification-requests":
        body = {"questions": text.get("questions", "")}
    elif action == "refuse":
        body = {"grounds": [{"code": text.get("ground", ""), "text": text.get("reasons", "")}]}
    elif action in ("acknowledge", "recognise", "execute") and text.get("note"):
        body = {"note": text["note"]}
    await upstream.post("mla", f"/v1/requests/{request_id}/{action}", token=officer.token, json=body)


async def of_complaint(upstream: Upstream, officer: Officer, complaint_id: str) -> list[dict[str, Any]]:
    """The MLA requests that serve one complaint (the list does not name cases, so each recent request the
    institution sent is read; the case page shows them in its timeline)."""
    try:
        page = await upstream.get("mla", "/v1/requests", token=officer.token, params={"role": "requesting", "limit": 50})
        found = await asyncio.gather(*[upstream.get("mla", f"/v1/requests/{item['id']}", token=officer.token)
                                       for item in page["items"]])
    except (Unreachable, UpstreamProblem):
        return []
    return [item for item in found if ((item.get("content") or {}).get("case") or {}).get("complaint_id") == complaint_id]
