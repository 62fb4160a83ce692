from __future__ import annotations

from fastapi import APIRouter

from comitas_shared.app import Now
from comitas_shared.auth import Scoped
from comitas_shared.db import Session

from . import service
from .schemas import StatisticsOut

router = APIRouter(prefix="/v1/statistics", tags=["statistics"])


@router.get("", response_model=StatisticsOut,
            summary="Your institution's complaints and victims by respondent state, type of act, month and status, "
                    "small cells suppressed (a fixed set of tables: no filters)")
async def get_statistics(session: Session, principal: Scoped("complaints:read"), now: Now) -> StatisticsOut:
    return await service.published_statistics(session, institution_id=principal.institution_id, now=now)
