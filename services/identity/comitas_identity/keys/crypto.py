"""Signing keys at rest: RSA 2048 private keys encrypted with AES-256-GCM under a key derived (HKDF) from
the service's master key. The key id is the RFC 7638 thumbprint of the public key, and is bound to the
ciphertext as associated data so that a row's key cannot be swapped for another's."""

from __future__ import annotations

import base64

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc.jwk import RSAKey

from comitas_shared.randomness import token_bytes

ALGORITHM = "RS256"
KEY_SIZE = 2048
_FORMAT = "v1"


class KeyDecryptionError(RuntimeError):
    """The stored private key does not decrypt with this master key."""


def new_signing_key() -> RSAKey:
    key = RSAKey.generate_key(KEY_SIZE, parameters={"alg": ALGORITHM, "use": "sig"}, private=True)
    key.ensure_kid()
    return key


def public_jwk(key: RSAKey) -> dict[str, str]:
    jwk = dict(key.as_dict(private=False))
    jwk.update({"kid": key.kid, "alg": ALGORITHM, "use": "sig"})
    return jwk


def _wrapping_key(master_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"comitas-identity",
                info=b"signing-key-encryption").derive(master_key.encode())


def encrypt_private_key(master_key: str, key: RSAKey) -> str:
    nonce = token_bytes(12)
    sealed = AESGCM(_wrapping_key(master_key)).encrypt(nonce, key.as_pem(private=True), key.kid.encode())
    return f"{_FORMAT}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def decrypt_private_key(master_key: str, kid: str, stored: str) -> RSAKey:
    version, _, payload = stored.partition(":")
    if version != _FORMAT:
        raise KeyDecryptionError(f"signing key {kid}: unknown storage format {version!r}")
    raw = base64.urlsafe_b64decode(payload.encode())
    try:
        pem = AESGCM(_wrapping_key(master_key)).decrypt(raw[:12], raw[12:], kid.encode())
    except InvalidTag:
        raise KeyDecryptionError(f"signing key {kid}: does not decrypt with this master key") from None
    return RSAKey.import_key(pem, parameters={"kid": kid, "alg": ALGORITHM, "use": "sig"})
