"""Receipt signing keys at rest: ES256 (P-256) private keys sealed with AES-256-GCM under a key derived
(HKDF) from the service's master key. The key id is the RFC 7638 thumbprint of the public key, bound to
the ciphertext as associated data, so a row's private key cannot be swapped for another row's. The sealed
form names the master key (a fingerprint), so a key sealed under an earlier master key is told apart
from a damaged one."""

from __future__ import annotations

import base64
import hashlib

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc.jwk import ECKey

from comitas_shared.randomness import token_bytes

from .domain import ALGORITHM, CURVE

_FORMAT = "v1"
_NONCE_BYTES = 12


class KeyUnsealingError(RuntimeError):
    """The stored private key does not open with this master key."""


def new_signing_key() -> ECKey:
    key = ECKey.generate_key(CURVE, parameters={"alg": ALGORITHM, "use": "sig"}, private=True)
    key.ensure_kid()
    return key


def public_jwk(key: ECKey) -> dict[str, str]:
    jwk = {name: str(value) for name, value in key.as_dict(private=False).items()}
    jwk.update({"kid": key.kid or "", "alg": ALGORITHM, "use": "sig"})
    return jwk


def _wrapping_key(master_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"comitas-referral",
                info=b"receipt-signing-key/v1").derive(master_key.encode())


def master_key_id(master_key: str) -> str:
    return hashlib.sha256(_wrapping_key(master_key)).hexdigest()[:16]


def seal(master_key: str, key: ECKey) -> str:
    nonce = token_bytes(_NONCE_BYTES)
    sealed = AESGCM(_wrapping_key(master_key)).encrypt(nonce, key.as_pem(private=True), (key.kid or "").encode())
    return f"{_FORMAT}:{master_key_id(master_key)}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def unseal(master_key: str, kid: str, stored: str) -> ECKey:
    version, _, rest = stored.partition(":")
    sealed_by, _, payload = rest.partition(":")
    if version != _FORMAT:
        raise KeyUnsealingError(f"receipt key {kid}: unknown storage format {version!r}")
    if sealed_by != master_key_id(master_key):
        raise KeyUnsealingError(f"receipt key {kid}: sealed under master key {sealed_by}, not the configured one")
    raw = base64.urlsafe_b64decode(payload.encode())
    try:
        pem = AESGCM(_wrapping_key(master_key)).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], kid.encode())
    except InvalidTag:
        raise KeyUnsealingError(f"receipt key {kid}: does not open with this master key") from None
    return ECKey.import_key(pem, parameters={"kid": kid, "alg": ALGORITHM, "use": "sig"})
