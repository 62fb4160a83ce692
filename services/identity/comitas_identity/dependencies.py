"""Request dependencies of the identity service: its settings and its key ring, built in create_app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .keys.service import KeyRing
from .settings import IdentitySettings


def get_settings(request: Request) -> IdentitySettings:
    return request.app.state.settings


def get_keyring(request: Request) -> KeyRing:
    return request.app.state.keyring


SettingsDep = Annotated[IdentitySettings, Depends(get_settings)]
KeyRingDep = Annotated[KeyRing, Depends(get_keyring)]
