"""What referral's routers take from the app beyond the platform: built once in ``create_app``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from comitas_shared.app import PlatformDep

from .directory.reader import DirectoryReader
from .intake import Intake
from .receipts.service import ReceiptSigner
from .referrals.service import Ctx
from .settings import ReferralSettings


def get_settings(request: Request) -> ReferralSettings:
    return request.app.state.settings


def get_intake(request: Request) -> Intake:
    return request.app.state.intake


def get_directory_reader(request: Request) -> DirectoryReader:
    return request.app.state.directory_reader


def get_receipt_signer(request: Request) -> ReceiptSigner:
    return request.app.state.receipt_signer


SettingsDep = Annotated[ReferralSettings, Depends(get_settings)]
IntakeDep = Annotated[Intake, Depends(get_intake)]
DirectoryReaderDep = Annotated[DirectoryReader, Depends(get_directory_reader)]
ReceiptSignerDep = Annotated[ReceiptSigner, Depends(get_receipt_signer)]


def get_ctx(platform: PlatformDep, signer: ReceiptSignerDep) -> Ctx:
    """What every referral transition needs (the referrals and thread routers both act on referrals)."""
    return Ctx(platform=platform, signer=signer)


CtxDep = Annotated[Ctx, Depends(get_ctx)]
