"""Demo cases for a new local stack, so an officer who signs in sees something waiting on *Today*.

Seeded once (``var/demo-cases.json`` remembers it), through the services' public APIs with the demo
institutions' own clients, exactly as a partner would: the regional commission records a complaint
against Greece with the victim's consent to share it with the ombudsperson, assesses it and refers it;
the ombudsperson records one of its own and assesses it. The ombudsperson's officer then finds a
referral waiting for an answer, with its acknowledgement deadline. A failure is reported and the stack
keeps running: demo cases are a convenience, never a condition of ``make run``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import httpx

from comitas_shared.auth import service_audience

from .stack import Layout, _write_private

COMMISSION = "inst_demo_commission"
OMBUDSPERSON = "inst_demo_ombudsperson"
# The referral service learns the directory from identity after it starts: a recipient it does not
# know yet is retried for this long.
DIRECTORY_PATIENCE = 60.0

REFERRED = {
    "summary": "A family was returned across the land border at night without being heard.",
    "respondent_states": ["GR"],
    "victims": [{"name": "Demo Victim", "birth_date": "1991-05-14"}],
    "incidents": [{"start": "2026-09-20", "country": "GR", "place": "Evros border area",
                   "narrative": "Stopped at night, held for some hours, then driven back across the river."}],
    "rights_invoked": ["prohibition of collective expulsion", "liberty and security"],
    "urgency": {"level": "normal"},
}
OWN = {
    "summary": "Detained for nine days without being brought before a judge.",
    "respondent_states": ["GR"],
    "victims": [{"name": "Second Demo Victim"}],
    "events_date": "2026-10-02",
    "rights_invoked": ["liberty and security"],
    "urgency": {"level": "normal"},
}


class DemoCaseError(Exception):
    pass


def seed_cases(layout: Layout, credentials: Mapping[str, Any]) -> str | None:
    """Seeds the demo cases on the first run. Returns a line saying what was seeded (None when it was
    already done), or why it was not."""
    marker = layout.var / "demo-cases.json"
    if marker.exists():
        return None
    clients = {entry["id"]: entry for entry in credentials.get("institutions", [])}
    if not all(clients.get(i, {}).get("client_secret") for i in (COMMISSION, OMBUDSPERSON)):
        return "Demo cases: not seeded (the demo institutions' client secrets are not in demo-credentials.json)."
    try:
        with httpx.Client(timeout=30) as http:
            seeded = _seed(http, layout, clients)
    except (DemoCaseError, httpx.HTTPError) as error:
        return f"Demo cases: not seeded ({error}); the stack runs without them."
    _write_private(marker, json.dumps(seeded, indent=2) + "\n")
    return (f"Demo cases: a referral from the regional commission waits for the ombudsperson's answer "
            f"({seeded['referral_id']}); each has a complaint with its assessment.")


def _seed(http: httpx.Client, layout: Layout, clients: Mapping[str, Any]) -> dict[str, str]:
    commission_intake = _api(http, layout, clients[COMMISSION], "intake")
    commission_referral = _api(http, layout, clients[COMMISSION], "referral")
    ombudsperson_intake = _api(http, layout, clients[OMBUDSPERSON], "intake")

    referred = _call(http.post(f"{layout.url('intake')}/v1/complaints", json=REFERRED, headers=commission_intake))
    _call(http.post(f"{layout.url('intake')}/v1/complaints/{referred['id']}/assessments", headers=commission_intake))
    _call(http.post(f"{layout.url('intake')}/v1/complaints/{referred['id']}/consents", headers=commission_intake,
                    json={"status": "given", "purposes": ["investigate"], "channel": "in_person",
                          "recipient": {"type": "institution", "value": OMBUDSPERSON},
                          "categories": ["identity", "narrative"]}))
    body = {"complaint_id": referred["id"], "recipient_institution_id": OMBUDSPERSON, "purpose": "investigate",
            "categories": ["identity", "narrative"],
            "message": "The ombudsperson's office can investigate the border police's practice; we keep the case "
                       "before the Court."}
    headers = {**commission_referral, "Idempotency-Key": f"demo-referral-{referred['id']}"}
    deadline = time.monotonic() + DIRECTORY_PATIENCE
    while True:
        answer = http.post(f"{layout.url('referral')}/v1/referrals", json=body, headers=headers)
        if answer.status_code < 400 or time.monotonic() > deadline or answer.status_code not in (404, 409, 422):
            break
        time.sleep(1.0)  # the recipient is not in referral's directory yet
    referral = _call(answer)

    own = _call(http.post(f"{layout.url('intake')}/v1/complaints", json=OWN, headers=ombudsperson_intake))
    _call(http.post(f"{layout.url('intake')}/v1/complaints/{own['id']}/assessments", headers=ombudsperson_intake))
    return {"referred_complaint_id": referred["id"], "referral_id": referral["id"], "own_complaint_id": own["id"]}


def _api(http: httpx.Client, layout: Layout, client: Mapping[str, Any], service: str) -> dict[str, str]:
    answer = http.post(f"{layout.url('identity')}/oauth/token",
                       data={"grant_type": "client_credentials", "resource": service_audience(service)},
                       auth=(client["client_id"], client["client_secret"]))
    token = _call(answer)["access_token"]
    return {"Authorization": f"Bearer {token}"}


def _call(answer: httpx.Response) -> dict[str, Any]:
    if answer.status_code >= 400:
        raise DemoCaseError(f"{answer.request.method} {answer.request.url.path}: {answer.status_code} "
                            f"{answer.text[:300]}")
    return dict(answer.json())
