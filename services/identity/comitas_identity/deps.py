"""What hangs on the identity app's state, as Annotated request dependencies (built in create_app)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .keys.service import KeyRing
from .oauth.throttles import OAuthThrottles
from .settings import IdentitySettings


def get_settings(request: Request) -> IdentitySettings:
    return request.app.state.settings


def get_keyring(request: Request) -> KeyRing:
    return request.app.state.keyring


def get_throttles(request: Request) -> OAuthThrottles:
    return request.app.state.throttles


SettingsDep = Annotated[IdentitySettings, Depends(get_settings)]
KeyRingDep = Annotated[KeyRing, Depends(get_keyring)]
ThrottlesDep = Annotated[OAuthThrottles, Depends(get_throttles)]
