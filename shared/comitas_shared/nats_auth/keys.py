"""NATS nkeys: ed25519 key pairs whose public keys say their role by their first letter (O operator,
A account, U user). nats-io's ``nkeys`` library does the encoding; this module only chooses where the
32 seed bytes come from: ``comitas_shared.randomness`` for new keys, or HKDF over a secret for keys
that every replica must derive alike (an institution's account, see ADR 0033)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import nkeys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .. import randomness

Role = Literal["operator", "account", "user"]

_PREFIX: dict[Role, int] = {
    "operator": nkeys.PREFIX_BYTE_OPERATOR,
    "account": nkeys.PREFIX_BYTE_ACCOUNT,
    "user": nkeys.PREFIX_BYTE_USER,
}


@dataclass(frozen=True)
class KeyPair:
    """An nkey with its seed (``S…``, the secret) and public key (``O…``/``A…``/``U…``)."""

    seed: str
    public_key: str

    def sign(self, data: bytes) -> bytes:
        return bytes(nkeys.from_seed(self.seed.encode()).sign(data))


def from_raw(raw: bytes, role: Role) -> KeyPair:
    seed = nkeys.encode_seed(raw, _PREFIX[role])
    public = nkeys.from_seed(seed).public_key
    return KeyPair(seed=seed.decode(), public_key=public.decode())


def new_key(role: Role) -> KeyPair:
    return from_raw(randomness.token_bytes(32), role)


def from_seed(seed: str) -> KeyPair:
    pair = nkeys.from_seed(seed.strip().encode())
    return KeyPair(seed=seed.strip(), public_key=pair.public_key.decode())


def derived_key(secret: bytes, *, purpose: str, role: Role) -> KeyPair:
    """The same key pair for the same secret and purpose, on every replica and after every restart."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"comitas-nats-nkey", info=purpose.encode()).derive(secret)
    return from_raw(raw, role)
