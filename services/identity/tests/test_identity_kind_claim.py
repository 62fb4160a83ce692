"""Access tokens say what kind of institution the caller is, so a service can treat a state authority as
one without a directory round trip (intake never tells a state that a person complained)."""

from __future__ import annotations

import base64
import json
from typing import Any


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def test_client_credentials_tokens_carry_the_institution_kind(stack):
    authority = await stack.new_institution(kind="central_authority")
    ngo = await stack.new_institution(kind="ngo")
    assert claims(await stack.token(authority))["institution_kind"] == "central_authority"
    assert claims(await stack.token(ngo))["institution_kind"] == "ngo"
