"""What the public channel's tests share: an intake served with a receiving institution configured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from consent_evidence_kit import served_intake

from comitas_intake.public import domain
from comitas_shared.testing import ServedApp

SETTINGS: dict[str, Any] = {
    "trusted_proxies": ["127.0.0.1"], "public_pow_bits": 8, "public_form_min_seconds": 1.0,
    "public_submission_limit": "200/minute", "public_receipt_scrypt_log_n": 12,
}


async def public_intake(stack: Any, evidence_dir: Path, receiver: str, **settings: Any) -> ServedApp:
    return await served_intake(stack, evidence_dir, public_receiving_institution_id=receiver,
                               **(SETTINGS | settings))


def person(served: ServedApp, address: str) -> httpx.AsyncClient:
    """A member of the public at ``address`` (through the trusted proxy 127.0.0.1)."""
    return httpx.AsyncClient(base_url=served.url, headers={"X-Forwarded-For": address}, timeout=30)


async def proof(api: httpx.AsyncClient) -> dict[str, str]:
    found = (await api.get("/v1/public/challenge")).json()
    return {"challenge": found["challenge"], "nonce": domain.solve(found["challenge"], found["bits"])}


def receipt(code: str) -> dict[str, str]:
    return {"Authorization": f"Receipt {code}"}
