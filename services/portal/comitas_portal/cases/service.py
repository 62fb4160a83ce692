"""*Cases*: the institution's complaints from intake, and one case on one page: the facts, the victims
(masked until a purpose is stated, which intake audits), evidence with hashes and custody, consent, the
latest assessment with each mechanism's last day, referrals, MLA requests and deadlines, as one
timeline. Every read is a call to a service's public API with the officer's token."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ..i18n import N_
from ..mla import service as mla_service
from ..referrals import service as referral_service
from ..sessions.service import Officer
from ..upstream import Upstream, optional

STATUSES = ("received", "under_assessment", "active", "closed", "withdrawn", "transferred")
# The status actions the case page offers, and the statuses each is allowed from: intake's complaint
# lifecycle (services/intake/comitas_intake/complaints/domain.py, TRANSITIONS), kept in step by hand (the
# portal does not import another service, and intake's API does not say a complaint's next actions).
# Closing needs a reason, which this form does not ask: it is not offered here.
ALLOWED_FROM: dict[str, frozenset[str]] = {
    "start_assessment": frozenset({"received"}),
    "activate": frozenset({"under_assessment"}),
    "withdraw": frozenset({"received", "under_assessment", "active"}),
    "reopen": frozenset({"closed"}),
}
ACTIONS = tuple(ALLOWED_FROM)
ACTION_LABELS = {"start_assessment": N_("Start the assessment"), "activate": N_("Activate (complete)"),
                 "withdraw": N_("Withdraw"), "reopen": N_("Reopen")}
# What a person is told when intake refuses an action in the complaint's current status (409
# invalid-transition): the action by its own label, the status in words.
NOT_ALLOWED = N_("“%(action)s” is not possible while the case is %(status)s.")
SUMMARY_REQUIRED = N_("Write what happened: the complaint needs a summary of the facts.")
# The bodies whose forms intake checks a complaint against (GET /v1/complaints/{id}/completeness?forum=,
# its ``Forum`` enum: the files of services/intake/comitas_intake/complaints/data/forms/), kept in step by
# hand as ALLOWED_FROM is; a forum intake no longer knows is answered 422 and fails the page (a test reads them).
FORUMS = ("echr", "iachr", "special_procedures", "un_treaty_body")
# A part of the case the officer may not read (403) or that is not there (404, 410) is left out; any
# other refusal fails the page.
LEFT_OUT = (403, 404, 410)


def actions_for(status: str | None) -> tuple[str, ...]:
    """The status actions allowed from ``status``, in the lifecycle's order (none from a final status)."""
    return tuple(action for action, allowed in ALLOWED_FROM.items() if status in allowed)


async def complaints(upstream: Upstream, officer: Officer, *, search: str | None, status: str | None,
                     cursor: str | None) -> dict[str, Any]:
    """One page of the institution's complaints, filtered here by reference, state and respondent state
    (intake lists them without identities or free text, so that is what can be searched)."""
    params: dict[str, Any] = {"limit": 100}
    if cursor:
        params["cursor"] = cursor
    page = await upstream.get("intake", "/v1/complaints", token=officer.token, params=params)
    items = page["items"]
    if status:
        items = [item for item in items if item.get("status") == status]
    if search:
        needle = search.strip().lower()
        items = [item for item in items if needle in item.get("reference", "").lower()
                 or needle in item.get("id", "").lower()
                 or any(needle == state.lower() for state in item.get("respondent_states", []))]
    return {"items": items, "next_cursor": page.get("next_cursor")}


@dataclass
class Entry:
    at: str
    kind: str
    title: str
    detail: str = ""
    state: str = ""  # a code, shown in words


@dataclass
class Case:
    complaint: dict[str, Any]
    evidence: list[dict[str, Any]] = field(default_factory=list)
    custody: dict[str, dict[str, Any]] = field(default_factory=dict)
    consents: list[dict[str, Any]] = field(default_factory=list)
    assessment: dict[str, Any] | None = None
    tracks: list[dict[str, Any]] = field(default_factory=list)
    deadlines: list[dict[str, Any]] = field(default_factory=list)
    referrals: list[dict[str, Any]] = field(default_factory=list)
    mla: list[dict[str, Any]] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)
    # Institutions' names from identity's directory, by id (an id that cannot be read stands for itself).
    names: dict[str, str] = field(default_factory=dict)
    # For a draft: each body's form with what the complaint lacks for it (intake's CompletenessOut).
    completeness: list[dict[str, Any]] = field(default_factory=list)

    def name(self, institution_id: str) -> str:
        return self.names.get(institution_id, institution_id)

    def recipient(self, consent: dict[str, Any]) -> str:
        """Whom a consent names: an institution by its name, a kind or a mechanism by its code."""
        recipient = consent.get("recipient") or {}
        value = str(recipient.get("value") or "")
        return self.name(value) if recipient.get("type") == "institution" else value

    def institution_ids(self) -> set[str]:
        """The institutions the page names: consents' recipients, referrals' recipients."""
        return ({c["recipient"]["value"] for c in self.consents if (c.get("recipient") or {}).get("type") == "institution"}
                | {item["recipient_institution_id"] for item in self.referrals}
                | {item["target"] for item in self.tracks if item.get("kind") == "referral"})

    def timeline(self) -> list[Entry]:
        entries = [Entry(self.complaint.get("received_at") or self.complaint.get("created_at") or "", "complaint",
                         "received")]
        if self.complaint.get("status_changed_at"):
            entries.append(Entry(self.complaint["status_changed_at"], "complaint", "status",
                                 self.complaint.get("status", "")))
        entries += [Entry(item["created_at"], "evidence", "evidence", item["sha256"]) for item in self.evidence]
        entries += [Entry(item["at"], "consent", "consent", self.recipient(item), item.get("status", ""))
                    for item in self.consents]
        if self.assessment:
            entries.append(Entry(self.assessment["created_at"], "assessment", "assessment"))
        entries += [Entry(item["created_at"], item["kind"], item["kind"],
                          self.name(item["target"]) if item["kind"] == "referral" else item["target"], item["status"])
                    for item in self.tracks]
        entries += [Entry(item["created_at"], "referral", "referral", self.name(item["recipient_institution_id"]),
                          item["state"]) for item in self.referrals]
        entries += [Entry(item["due_at"], "deadline", "deadline", item["title"]) for item in self.deadlines]
        entries += [Entry(item["created_at"], "mla", "mla", item["reference"], item["state"]) for item in self.mla]
        return sorted(entries, key=lambda entry: entry.at)


async def case(upstream: Upstream, officer: Officer, complaint_id: str, *, purpose: str | None) -> Case:
    """The case page's data. The complaint is read first: another institution's answers 404 here, and
    then nothing else is asked."""
    headers = {"Comitas-Purpose": purpose} if purpose else None
    complaint = await upstream.get("intake", f"/v1/complaints/{complaint_id}", token=officer.token, headers=headers)
    found = Case(complaint=complaint)
    base = f"/v1/complaints/{complaint_id}"
    missing: list[str] = []

    def read(service: str, path: str, default: Any, **params: Any) -> Any:
        return optional(upstream.get(service, path, token=officer.token, params=params or None), default,
                        missing=missing, statuses=LEFT_OUT)

    async def lacking() -> list[Any]:
        """A draft's missing items, per body (a complete complaint is not asked)."""
        if not complaint.get("draft"):
            return []
        return list(await asyncio.gather(*[read("intake", f"{base}/completeness", None, forum=forum)
                                           for forum in FORUMS]))

    (evidence, consents, assessments, tracks, filings, deadlines, referrals, requests,
     completeness) = await asyncio.gather(
        read("intake", f"{base}/evidence", {"items": []}, limit=100),
        read("intake", f"{base}/consents", {"items": []}, limit=100),
        read("intake", f"{base}/assessments", []),
        read("intake", f"{base}/referrals", []),
        read("intake", f"{base}/filings", []),
        read("notifications", "/v1/deadlines", {"items": []}, case_ref=complaint_id, limit=100),
        referral_service.of_complaint(upstream, officer, complaint_id),
        mla_service.of_complaint(upstream, officer, complaint_id),
        lacking(),
    )
    found.completeness = [form for form in completeness if form and not form.get("complete")]
    found.evidence = _items(evidence)
    found.consents = _items(consents)
    found.assessment = (assessments or [None])[0]
    found.tracks = _items(tracks) + _items(filings)
    found.deadlines = _items(deadlines)
    found.referrals = list(referrals)
    found.mla = list(requests)
    custody = await asyncio.gather(*[read("intake", f"{base}/evidence/{item['id']}/custody", None)
                                     for item in found.evidence])
    found.custody = {item["id"]: chain for item, chain in zip(found.evidence, custody, strict=True) if chain}
    found.unavailable = sorted(set(missing))
    found.names = await upstream.institution_names(found.institution_ids(), token=officer.token)
    return found


def _items(answer: Any) -> list[dict[str, Any]]:
    if isinstance(answer, dict):
        return list(answer.get("items") or [])
    return list(answer or [])


def mechanisms(assessment: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Each mechanism of the latest assessment with its verdict and the limit that governs (last day)."""
    if not assessment:
        return []
    rows = []
    for finding in assessment.get("result", {}).get("findings", []):
        limit = finding.get("time_limit") or {}
        rows.append({"mechanism": finding.get("mechanism"), "name": finding.get("name"),
                     "verdict": finding.get("verdict"), "status": limit.get("status"),
                     "last_day": limit.get("last_day"), "days_remaining": limit.get("days_remaining"),
                     "time_zone": limit.get("time_zone"), "explanation": limit.get("explanation")})
    return rows


def complaint_body(form: dict[str, str]) -> dict[str, Any]:
    """The new-complaint form as intake's ComplaintCreate: empty fields are absent, so intake's own
    validation speaks for what is wrong (its problem's pointers name these fields)."""
    body: dict[str, Any] = {}
    if summary := form.get("summary", "").strip():
        body["summary"] = summary
    states = [s.strip().upper() for s in form.get("respondent_states", "").replace(";", ",").split(",") if s.strip()]
    if states:
        body["respondent_states"] = states
    rights = [s.strip() for s in form.get("rights_invoked", "").split("\n") if s.strip()]
    if rights:
        body["rights_invoked"] = rights
    if events_date := form.get("events_date", "").strip():
        body["events_date"] = events_date
    if victim := form.get("victim_name", "").strip():
        body["victims"] = [{"name": victim}]
    if form.get("detention") == "yes":
        body["urgency"] = {"detention": True}
    # intake's Languages: ``submission`` the language the complaint is written in, ``spoken`` the
    # victim's; ISO 639-1 or 639-3 codes in lower case (intake checks them against its vocabulary).
    languages: dict[str, Any] = {}
    if submission := form.get("language", "").strip().lower():
        languages["submission"] = submission
    spoken = [s.strip().lower() for s in form.get("spoken_languages", "").replace(";", ",").split(",") if s.strip()]
    if spoken:
        languages["spoken"] = spoken
    if languages:
        body["languages"] = languages
    return body


async def submit(upstream: Upstream, officer: Officer, form: dict[str, str], *, idempotency_key: str) -> dict[str, Any]:
    created: dict[str, Any] = await upstream.post("intake", "/v1/complaints", token=officer.token,
                                                  json=complaint_body(form),
                                                  headers={"Idempotency-Key": idempotency_key})
    return created


async def change_status(upstream: Upstream, officer: Officer, complaint_id: str, action: str) -> dict[str, Any]:
    changed: dict[str, Any] = await upstream.post("intake", f"/v1/complaints/{complaint_id}/status",
                                                  token=officer.token, json={"action": action})
    return changed


async def assess(upstream: Upstream, officer: Officer, complaint_id: str) -> dict[str, Any]:
    made: dict[str, Any] = await upstream.post("intake", f"/v1/complaints/{complaint_id}/assessments",
                                               token=officer.token)
    return made
