"""What mla's routers take from the app beyond the platform: built once in ``create_app``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from comitas_shared.app import PlatformDep
from comitas_shared.evidence import EvidenceStore

from .directory import Directory
from .legal_bases.catalogue import LegalBases
from .requests.service import Ctx
from .settings import MlaSettings


def get_settings(request: Request) -> MlaSettings:
    return request.app.state.settings


def get_legal_bases(request: Request) -> LegalBases:
    return request.app.state.legal_bases


def get_directory(request: Request) -> Directory:
    return request.app.state.directory


def get_evidence(request: Request) -> EvidenceStore:
    return request.app.state.evidence


SettingsDep = Annotated[MlaSettings, Depends(get_settings)]
LegalBasesDep = Annotated[LegalBases, Depends(get_legal_bases)]
DirectoryDep = Annotated[Directory, Depends(get_directory)]
EvidenceDep = Annotated[EvidenceStore, Depends(get_evidence)]


def get_ctx(platform: PlatformDep, bases: LegalBasesDep, settings: SettingsDep) -> Ctx:
    """What every request action needs (the requests and results routers both act on requests)."""
    return Ctx(platform=platform, bases=bases, settings=settings)


CtxDep = Annotated[Ctx, Depends(get_ctx)]
