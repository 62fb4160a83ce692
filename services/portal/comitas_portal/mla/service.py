"""Mutual legal assistance through mla's API with the officer's token: draft a request to another state's
central authority, check it against its legal basis (completeness), issue it; on the requested side
acknowledge, ask for clarification, recognise, execute or refuse."""

from __future__ import annotations

import asyncio
from typing import Any

from ..i18n import N_
from ..problems import Refusal, allowed_param, state_param
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

# Where mla's JSON pointers (RequestCreate, the actions' bodies) land on the portal's forms.
DRAFT_FIELDS = {
    "/requested_institution_id": "requested", "/basis": "basis", "/language": "language",
    "/conducting_authority": "conducting_authority", "/conducting_authority/functions": "conducting_functions",
    "/proceedings": "proceedings_subject", "/proceedings/nature": "proceedings_nature",
    "/offences": "offence", "/summary_of_facts": "summary_of_facts", "/purpose": "purpose",
    "/assistance": "assistance_description", "/assistance/0/type": "assistance_type",
}
ACTION_FIELDS = {
    "withdraw": {"/reason": "reason"}, "clarifications": {"/answer": "answer"},
    "clarification-requests": {"/questions": "questions"},
    "refuse": {"/grounds": "ground", "/grounds/0/code": "ground", "/grounds/0/text": "reasons"},
}
# What a person is told, by field and kind of error ("*": any kind), where the generic words say too little.
FIELD_MESSAGES = {
    ("language", "*"): N_("Use a two-letter language code, such as fr."),
    ("requested", "missing"): N_("Choose the central authority you are asking."),
    ("basis", "missing"): N_("Choose the legal basis of the request."),
    ("ground", "missing"): N_("Give the code of the ground for refusal, as the legal basis lists it."),
    ("reasons", "missing"): N_("Give the reasons for the refusal."),
    ("reason", "missing"): N_("Say why the request is withdrawn."),
    ("answer", "missing"): N_("Write the answer to the questions."),
    ("questions", "missing"): N_("Write what needs clarifying."),
}
# mla's own refusals (the problem's type), on the field they concern.
REFUSALS = {
    # An unknown basis as well as one that does not bind the two states.
    "basis-not-available": Refusal("basis", N_("This legal basis cannot be used between the two states: choose "
                                               "another one from the list.")),
    "requested-not-a-central-authority": Refusal(
        "requested", N_("This is not an active central authority: choose one from the list.")),
    "same-state": Refusal("requested", N_("This authority is of your own state: legal assistance is asked of "
                                          "another state's central authority.")),
    "not-a-central-authority": Refusal("", N_("Only a central authority may draft a request.")),
    "refusal-ground-not-in-basis": Refusal(
        "ground", N_("This is not a ground for refusal under the request's legal basis. Its grounds are: "
                     "%(allowed)s."), allowed_param),
    "refusal-ground-required": Refusal("ground", N_("Cite at least one ground for refusal.")),
    "invalid-transition": Refusal("", N_("This action is not possible while the request is %(state)s."),
                                  state_param),
    "not-this-partys-action": Refusal("", N_("This action is for the other side of the request.")),
}


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
