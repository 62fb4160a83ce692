"""Webhook signing secrets (shared by subscriptions, which make them, and deliveries, which sign with
them): made here, shown once, kept only as AES-GCM ciphertext.

The secret follows Standard Webhooks (``whsec_`` + base64 of random bytes). The encryption key is
derived from the service's master key with HKDF, so rotating the master key (with a re-encryption
step, not written yet) is the only key management there is. The ciphertext is bound to its
subscription (AES-GCM associated data), so a ciphertext copied onto another row does not decrypt.
"""

from __future__ import annotations

import base64

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from comitas_shared import randomness

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
_FORMAT = "v1"
_NONCE_BYTES = 12


def new_signing_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(randomness.token_bytes(SECRET_BYTES)).decode()


def signing_key(secret: str) -> bytes:
    """The HMAC key is the secret's decoded bytes, not its text (Standard Webhooks)."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)


class SecretBox:
    def __init__(self, master_key: str) -> None:
        self._aead = AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=b"comitas-notifications",
                                 info=b"webhook-signing-secret/v1").derive(master_key.encode()))

    def seal(self, secret: str, *, binding: str) -> str:
        nonce = randomness.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, secret.encode(), binding.encode())
        return f"{_FORMAT}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, ciphertext: str, *, binding: str) -> str:
        version, _, payload = ciphertext.partition(".")
        if version != _FORMAT:
            raise ValueError(f"unknown secret format {version!r}")
        raw = base64.urlsafe_b64decode(payload)
        try:
            return self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], binding.encode()).decode()
        except InvalidTag as exc:
            raise ValueError("the signing secret does not decrypt with this master key") from exc


def binding_for(institution_id: str, subscription_id: str) -> str:
    return f"subscription/{institution_id}/{subscription_id}"
