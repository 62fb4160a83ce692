"""The authorization server's throttles: failed token requests per client and address, failed sign-ins
per account and address. Counted in the database, so replicas share them (comitas_shared.throttle)."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from comitas_shared.clock import Clock
from comitas_shared.db import Database
from comitas_shared.platform_tables import PlatformTables
from comitas_shared.throttle import DatabaseStorage, Network, Throttle, parse_networks

from ..settings import IdentitySettings


@dataclass(frozen=True)
class OAuthThrottles:
    token: Throttle
    sign_in: Throttle
    trusted_proxies: list[Network]


def build_throttles(settings: IdentitySettings, database: Database, tables: PlatformTables,
                    clock: Clock) -> OAuthThrottles:
    storage = DatabaseStorage(database, tables.throttle, clock=clock)
    pepper = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"comitas-identity",
                  info=b"throttle-keys").derive(settings.master_key.get_secret_value().encode())
    return OAuthThrottles(
        token=Throttle(storage, settings.token_failure_limit, name="oauth-token", pepper=pepper),
        sign_in=Throttle(storage, settings.sign_in_failure_limit, name="sign-in", pepper=pepper),
        trusted_proxies=parse_networks(settings.trusted_proxies),
    )
