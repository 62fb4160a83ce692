"""What intake's routers take from the app beyond the platform: built once in ``create_app``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from comitas_shared.evidence import EvidenceStore

from .assessments.rules_provider import Rules
from .protection.crypto import KeyRing
from .public.service import PublicChannel
from .settings import IntakeSettings


def get_settings(request: Request) -> IntakeSettings:
    return request.app.state.settings


def get_rules(request: Request) -> Rules:
    return request.app.state.rules


def get_keyring(request: Request) -> KeyRing:
    return request.app.state.keyring


def get_evidence_store(request: Request) -> EvidenceStore:
    return request.app.state.evidence_store


def get_public_channel(request: Request) -> PublicChannel:
    return request.app.state.public_channel


SettingsDep = Annotated[IntakeSettings, Depends(get_settings)]
KeyRingDep = Annotated[KeyRing, Depends(get_keyring)]
RulesDep = Annotated[Rules, Depends(get_rules)]
EvidenceStoreDep = Annotated[EvidenceStore, Depends(get_evidence_store)]
PublicChannelDep = Annotated[PublicChannel, Depends(get_public_channel)]
