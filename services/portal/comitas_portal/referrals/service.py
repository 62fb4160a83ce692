"""Referrals through the referral service's API with the officer's token: choose among the ranked
candidates, pick the data to share against what the victim's consent allows (intake's records), send;
on the other side acknowledge, accept, decline, ask for information; both sides write in the thread."""

from __future__ import annotations

import asyncio
from typing import Any

from ..i18n import N_
from ..sessions.service import Officer
from ..upstream import Unreachable, Upstream, UpstreamProblem, optional

PURPOSES = ("investigate", "legal_aid", "file_with_mechanism", "for_information")
CATEGORIES = ("identity", "contact", "health", "narrative", "evidence")
KINDS = ("referral", "transfer")
DECLINE_REASONS = ("outside_mandate", "outside_territory", "already_handled", "pending_elsewhere",
                   "insufficient_information", "time_barred", "no_capacity", "consent_missing", "other")
CONSENT_CHANNELS = ("in_person", "phone", "video_call", "written", "electronic", "through_representative",
                    "through_partner")
RECIPIENT_ACTIONS = ("acknowledge", "accept", "decline", "information-requests")
SENDER_ACTIONS = ("withdraw",)
# A history row's step in words: the referral service's actions (services/referral/comitas_referral/
# referrals/domain.py, Action), each a transition it records; some keep the state (request_information,
# provide_information, close), so the row says what was done and shows the states only when they change.
# An action not listed is shown as its code (post_message is never a step: the thread shows it).
STEP_LABELS = {
    "send": N_("Referral sent"), "fail": N_("Sending failed"), "acknowledge": N_("Receipt acknowledged"),
    "request_information": N_("Information requested"), "provide_information": N_("Information provided"),
    "accept": N_("Accepted"), "decline": N_("Declined"), "withdraw": N_("Withdrawn"), "close": N_("Side closed"),
}


# The kinds of institution a consent may name (intake's consent schemas, InstitutionKind: identity's
# directory kinds but its platform services), in the order the form offers them.
RECIPIENT_KINDS = ("ombudsperson", "nhri", "equality_body", "regional_commission", "treaty_body", "un_field_office",
                   "legal_aid_ngo", "ngo", "central_authority")
RECIPIENT_TYPES = ("institution", "institution_kind", "mechanism")
# The directory is read a page at a time; the form lists at most this many pages of it.
DIRECTORY_PAGES = 5


async def directory(upstream: Upstream, officer: Officer) -> list[dict[str, Any]]:
    """The directory's active institutions a victim's consent may name, by name (identity's API, with the
    officer's directory:read): not the officer's own, not the platform's services."""
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"active": "true", "limit": 100}
    for _ in range(DIRECTORY_PAGES):
        page = await upstream.get("identity", "/v1/institutions", token=officer.token, params=params)
        found += [item for item in page["items"]
                  if item["id"] != officer.institution_id and item.get("kind") != "platform_service"]
        if not page.get("next_cursor"):
            break
        params = {**params, "cursor": page["next_cursor"]}
    return sorted(found, key=lambda item: (str(item.get("name") or "").casefold(), item["id"]))


async def mechanisms(upstream: Upstream, officer: Officer) -> list[dict[str, Any]]:
    """The international mechanisms intake knows (code and name)."""
    catalogue = await upstream.get("intake", "/v1/mechanisms", token=officer.token)
    return [{"code": m["code"], "name": m.get("name") or m["code"]} for m in catalogue.get("mechanisms") or []]


async def refer_form(upstream: Upstream, officer: Officer, complaint_id: str) -> dict[str, Any]:
    """The ranked candidates and the consent records, for the refer page, with what a new consent may
    name (the directory's institutions, kinds, mechanisms). The complaint is read first (another
    institution's: 404)."""
    complaint = await upstream.get("intake", f"/v1/complaints/{complaint_id}", token=officer.token)
    candidates, consents, institutions, known_mechanisms = await asyncio.gather(
        upstream.get("referral", "/v1/referrals/candidates", token=officer.token,
                     params={"complaint_id": complaint_id}),
        upstream.get("intake", f"/v1/complaints/{complaint_id}/consents", token=officer.token,
                     params={"limit": 100}),
        optional(directory(upstream, officer), []),
        optional(mechanisms(upstream, officer), []))
    given = [c for c in consents["items"] if c["status"] == "given"]
    named = {c["recipient"]["value"] for c in given if c["recipient"]["type"] == "institution"}
    names = {item["id"]: item["name"] for item in institutions if item["id"] in named}
    names.update(await upstream.institution_names(named - set(names), token=officer.token))
    return {"complaint": complaint, "candidates": candidates["items"], "consents": given, "names": names,
            "institutions": institutions, "recipient_kinds": RECIPIENT_KINDS, "mechanisms": known_mechanisms}


def referral_body(complaint_id: str, form: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"complaint_id": complaint_id,
                            "recipient_institution_id": str(form.get("recipient") or ""),
                            "kind": str(form.get("kind") or "referral"), "purpose": str(form.get("purpose") or ""),
                            "categories": [c for c in form.get("categories", []) if c in CATEGORIES]}
    if message := str(form.get("message") or "").strip():
        body["message"] = message
    return body


async def send(upstream: Upstream, officer: Officer, complaint_id: str, form: dict[str, Any], *,
               idempotency_key: str) -> dict[str, Any]:
    created: dict[str, Any] = await upstream.post("referral", "/v1/referrals", token=officer.token,
                                                  json=referral_body(complaint_id, form),
                                                  headers={"Idempotency-Key": idempotency_key})
    return created


async def referral(upstream: Upstream, officer: Officer, referral_id: str) -> dict[str, Any]:
    found, transitions, thread = await asyncio.gather(
        upstream.get("referral", f"/v1/referrals/{referral_id}", token=officer.token),
        upstream.get("referral", f"/v1/referrals/{referral_id}/transitions", token=officer.token,
                     params={"limit": 100}),
        upstream.get("referral", f"/v1/referrals/{referral_id}/messages", token=officer.token,
                     params={"limit": 100}))
    names = await upstream.institution_names([found["sender_institution_id"], found["recipient_institution_id"]],
                                             token=officer.token)
    return {"referral": found, "transitions": transitions["items"], "messages": thread["items"], "names": names}


async def act(upstream: Upstream, officer: Officer, referral_id: str, action: str,
              form: dict[str, Any]) -> dict[str, Any]:
    """One of the recipient's or the sender's actions, with what its form says."""
    body: dict[str, Any] | None = None
    if action == "decline":
        body = {"reason": str(form.get("reason") or "")}
        if text := str(form.get("text") or "").strip():
            body["text"] = text
    elif action == "information-requests":
        body = {"question": str(form.get("question") or "").strip()}
    elif action in ("acknowledge", "accept") and (note := str(form.get("note") or "").strip()):
        body = {"note": note}
    done: dict[str, Any] = await upstream.post("referral", f"/v1/referrals/{referral_id}/{action}",
                                               token=officer.token, json=body)
    return done


async def write(upstream: Upstream, officer: Officer, referral_id: str, body: str,
                answers: str | None) -> dict[str, Any]:
    message: dict[str, Any] = {"body": body.strip()}
    if answers:
        message["answers"] = answers
    posted: dict[str, Any] = await upstream.post("referral", f"/v1/referrals/{referral_id}/messages",
                                                 token=officer.token, json=message)
    return posted


async def of_complaint(upstream: Upstream, officer: Officer, complaint_id: str) -> list[dict[str, Any]]:
    """The referrals the institution sent of one complaint (the list does not name complaints, so each
    recent one is read; the case page shows them in its timeline)."""
    try:
        page = await upstream.get("referral", "/v1/referrals", token=officer.token,
                                  params={"side": "sender", "limit": 50})
        found = await asyncio.gather(*[upstream.get("referral", f"/v1/referrals/{item['id']}", token=officer.token)
                                       for item in page["items"]])
    except (Unreachable, UpstreamProblem):
        return []
    return [item for item in found if item.get("complaint_id") == complaint_id]


def consent_recipient(form: dict[str, Any]) -> tuple[str, str]:
    """Whom the consent names: the form's choice (``type:value``, an institution of the directory, a kind,
    a mechanism), or a type and a value given apart (as a partner's script may post them)."""
    choice = str(form.get("consent_recipient") or "")
    kind, _, value = choice.partition(":")
    if kind in RECIPIENT_TYPES and value.strip():
        return kind, value.strip()
    return str(form.get("recipient_type") or "institution"), str(form.get("recipient_value") or "").strip()


async def record_consent(upstream: Upstream, officer: Officer, complaint_id: str,
                         form: dict[str, Any]) -> dict[str, Any]:
    """A victim's consent as the officer recorded it (intake keeps it; referral asks intake)."""
    kind, value = consent_recipient(form)
    body = {"status": "given", "purposes": list(form.get("purposes", [])),
            "recipient": {"type": kind, "value": value},
            "categories": list(form.get("categories", [])), "channel": str(form.get("channel") or "in_person")}
    created: dict[str, Any] = await upstream.post("intake", f"/v1/complaints/{complaint_id}/consents",
                                                  token=officer.token, json=body)
    return created


async def read_packet(upstream: Upstream, officer: Officer, referral_id: str, purpose: str) -> dict[str, Any]:
    """The recipient reads what was disclosed to it, from intake by grant id, for a stated purpose (intake
    checks the scope and writes the read to the sender's audit log); the referral is read first, so
    another institution's referral is not found."""
    found = await upstream.get("referral", f"/v1/referrals/{referral_id}", token=officer.token)
    grant = (found.get("packet") or {}).get("grant_id")
    if found.get("side") != "recipient" or not grant:
        raise UpstreamProblem("referral", 409, {"detail": "there is no packet for you to read"})
    packet: dict[str, Any] = await upstream.get("intake", f"/v1/disclosures/{grant}", token=officer.token,
                                                headers={"Comitas-Purpose": purpose})
    return packet
