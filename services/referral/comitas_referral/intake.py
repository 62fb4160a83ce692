"""intake, asked on the calling institution's behalf: every call carries a token exchanged (RFC 8693) from
the caller's own, for intake's audience and the scopes that call needs, with ``act`` naming referral
(DESIGN §3). referral never asks intake with an authority of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from comitas_shared.auth import service_audience
from comitas_shared.errors import InvalidInput, ServiceUnavailable
from comitas_shared.token_exchange import TokenExchanger

INTAKE = service_audience("intake")
READ, MANAGE, OVERRIDE = "complaints:read", "complaints:manage", "complaints:consent_override"
TRANSFER_SCOPES = ("complaints:submit",)


class IntakeUnreachable(ServiceUnavailable):
    """intake could not be asked, or failed (5xx): what it did is not known."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


class Intake:
    def __init__(self, http: httpx.AsyncClient, intake_url: str, exchanger: TokenExchanger) -> None:
        self.http = http
        self.base = intake_url.rstrip("/")
        self.exchanger = exchanger

    async def _call(self, method: str, path: str, *, token: str, scopes: tuple[str, ...],
                    json: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
                    params: dict[str, Any] | None = None) -> Answer:
        exchanged = await self.exchanger.exchange(token, resource=INTAKE, scopes=scopes)
        try:
            response = await self.http.request(method, f"{self.base}{path}", json=json, params=params, timeout=15,
                                               headers={"Authorization": f"Bearer {exchanged}", **(headers or {})})
        except httpx.HTTPError as exc:
            raise IntakeUnreachable("intake cannot be reached") from exc
        if response.status_code >= 500:
            raise IntakeUnreachable(f"intake answered {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 409 and str(body.get("type", "")).endswith("/idempotency-key-in-use"):
            # An earlier attempt with the same key (one whose answer we lost) is still running at intake:
            # its outcome is not known yet, which is not a refusal.
            raise IntakeUnreachable("intake is still processing an earlier attempt of this call")
        return Answer(response.status_code, body if isinstance(body, dict) else {"items": body})

    async def complaint(self, token: str, complaint_id: str) -> dict[str, Any] | None:
        """The caller's complaint with identities withheld (None: not the caller's, or no such complaint)."""
        _check_id(complaint_id)
        answer = await self._call("GET", f"/v1/complaints/{complaint_id}", token=token, scopes=(READ,))
        if answer.status == 404:
            return None
        _expect(answer, 200, "reading the complaint")
        return answer.body

    async def filing_deadlines(self, token: str, complaint_id: str) -> list[dict[str, Any]]:
        """The filing deadlines of the complaint's latest assessment (mechanism, last day, zone): dates only."""
        answer = await self._call("GET", f"/v1/complaints/{complaint_id}/assessments", token=token, scopes=(READ,))
        if answer.status != 200:
            return []
        items = answer.body.get("items") or []
        if not items:
            return []
        result = items[0].get("result") or {}
        found = []
        for deadline in result.get("deadlines") or []:
            if isinstance(deadline, dict) and deadline.get("last_day") and deadline.get("mechanism"):
                found.append({"mechanism": str(deadline["mechanism"])[:64], "last_day": str(deadline["last_day"]),
                              "time_zone": str(deadline.get("time_zone") or "")[:64] or None})
        return found

    async def possible_duplicates_held_by(self, token: str, complaint_id: str, institution_id: str) -> bool:
        """Whether intake's blind index finds a possible duplicate of the complaint among the cases of
        ``institution_id`` (intake tells the sender that much already; referral tells only the recipient)."""
        answer = await self._call("GET", f"/v1/complaints/{complaint_id}/possible-duplicates", token=token,
                                  scopes=(READ,), params={"limit": 100})
        if answer.status != 200:
            return False
        return any(item.get("coordinate_with") == institution_id for item in answer.body.get("items") or []
                   if isinstance(item, dict))

    async def disclose(self, token: str, complaint_id: str, *, body: dict[str, Any], key: str) -> Answer:
        """``POST /v1/complaints/{id}/disclosures`` with ``Idempotency-Key`` = the referral id, so a retried
        send answers the same grant. 201, or 409 (consent does not cover it) or another 4xx as intake says."""
        scopes = (MANAGE, OVERRIDE) if body.get("override_reason") else (MANAGE,)
        return await self._call("POST", f"/v1/complaints/{complaint_id}/disclosures", token=token, scopes=scopes,
                                json=body, headers={"Idempotency-Key": key})

    async def transfer(self, token: str, *, grant_id: str, referral_id: str) -> Answer:
        """``POST /v1/transfers`` with the RECIPIENT's token: intake creates its complaint from the grant."""
        return await self._call("POST", "/v1/transfers", token=token, scopes=TRANSFER_SCOPES,
                                json={"grant_id": grant_id, "referral_id": referral_id},
                                headers={"Idempotency-Key": referral_id})


def _check_id(value: str) -> None:
    if not value or len(value) > 64 or not all(c.isalnum() or c in "-_" for c in value):
        raise InvalidInput(f"{value!r} is not a complaint id", slug="invalid-complaint-id")


def _expect(answer: Answer, status: int, doing: str) -> None:
    if answer.status != status:
        raise ServiceUnavailable(f"{doing}: intake answered {answer.status}", intake=answer.body)


