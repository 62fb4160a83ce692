from __future__ import annotations

from fastapi import APIRouter

from comitas_shared.auth import Scoped
from comitas_shared.db import Session
from comitas_shared.pagination import Page, PageQuery

from . import service
from .schemas import AuditEntryOut

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("", response_model=Page[AuditEntryOut],
            summary="The caller's audit log, newest first: every read of identifying data, export, consent "
                    "change and erasure, each entry chained to the one before")
async def list_audit(session: Session, principal: Scoped("complaints:manage"), page: PageQuery) -> Page[AuditEntryOut]:
    return await service.audit_page(session, institution_id=principal.institution_id, page=page)
