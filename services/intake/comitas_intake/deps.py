"""What intake's routers take from the app beyond the platform: built once in ``create_app``; and the
``Comitas-Purpose`` header its reads of identifying data require."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from comitas_shared.errors import Unprocessable
from comitas_shared.evidence import EvidenceStore

from .assessments.rules_provider import Rules
from .protection.crypto import KeyRing
from .public.service import PublicChannel


def get_rules(request: Request) -> Rules:
    return request.app.state.rules


def get_keyring(request: Request) -> KeyRing:
    return request.app.state.keyring


def get_evidence_store(request: Request) -> EvidenceStore:
    return request.app.state.evidence_store


def get_public_channel(request: Request) -> PublicChannel:
    return request.app.state.public_channel


KeyRingDep = Annotated[KeyRing, Depends(get_keyring)]
RulesDep = Annotated[Rules, Depends(get_rules)]
EvidenceStoreDep = Annotated[EvidenceStore, Depends(get_evidence_store)]
PublicChannelDep = Annotated[PublicChannel, Depends(get_public_channel)]

StatedPurpose = Annotated[str | None, Header(alias="Comitas-Purpose", max_length=500)]


def required_purpose(purpose: str | None) -> str:
    """The stated purpose, trimmed; 422 without one."""
    if purpose is None or not purpose.strip():
        raise Unprocessable("reading identifying data needs a stated purpose (the Comitas-Purpose header)",
                            slug="purpose-required", title="Purpose required")
    return purpose.strip()
