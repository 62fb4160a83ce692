from __future__ import annotations

from fastapi import APIRouter

from comitas_shared.auth import Scoped
from comitas_shared.db import Session

from ..deps import ProfileDefaultsDep
from . import service
from .schemas import NotificationProfile

router = APIRouter(prefix="/v1/notification-profile", tags=["subscriptions"])

Manager = Scoped("subscriptions:manage")


@router.get("", response_model=NotificationProfile,
            summary="The caller's addresses, language and time zone as its e-mails and digests use them")
async def get_profile(principal: Manager, session: Session, defaults: ProfileDefaultsDep) -> NotificationProfile:
    return await service.profile(session, institution_id=principal.institution_id, defaults=defaults)
