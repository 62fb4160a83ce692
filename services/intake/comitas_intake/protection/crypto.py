"""The cryptography of victims' data, with no I/O: keys in, ciphertext and digests out.

- Each complaint has its own 256-bit data key. Identifying fields, narratives and evidence are sealed
  with it (AES-256-GCM); the key itself is stored only wrapped by a master key from configuration.
  Destroying the wrapped key makes every ciphertext of that complaint unreadable at once, wherever it
  sits (crypto-shredding), without rewriting a case row.
- Every sealed value is bound (associated data) to its complaint and to the field it belongs to, so a
  ciphertext copied onto another complaint or into another field does not open.
- Master keys have ids (a fingerprint), so a rotation can re-wrap complaint keys while values sealed
  before it stay readable: their data keys do not change.
- Blind indexes are keyed HMACs over normalised values, for finding possible duplicates without
  storing what was compared.
- Audit checkpoints are signed with an Ed25519 key derived from the master key, verifiable offline.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import unicodedata
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from comitas_shared import randomness

FORMAT = "v1"
NONCE_BYTES = 12
KEY_BYTES = 32


class UnreadableCiphertext(ValueError):
    """The value does not open with this key and binding: wrong complaint, wrong field, or tampered."""


def _derive(secret: str, info: bytes, length: int = KEY_BYTES) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=b"comitas-intake", info=info).derive(secret.encode())


@dataclass(frozen=True)
class MasterKey:
    """A key-encryption key from configuration; ``key_id`` names it in every wrapped key."""

    key_id: str
    _kek: bytes

    @classmethod
    def from_secret(cls, secret: str) -> MasterKey:
        kek = _derive(secret, b"complaint-key-wrapping/v1")
        return cls(key_id=hashlib.sha256(kek).hexdigest()[:16], _kek=kek)

    def wrap(self, data_key: bytes, *, complaint_id: str) -> str:
        nonce = randomness.token_bytes(NONCE_BYTES)
        sealed = AESGCM(self._kek).encrypt(nonce, data_key, f"complaint-key/{complaint_id}".encode())
        return _encode(nonce + sealed)

    def unwrap(self, wrapped: str, *, complaint_id: str) -> bytes:
        raw = _decode(wrapped)
        try:
            return AESGCM(self._kek).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], f"complaint-key/{complaint_id}".encode())
        except InvalidTag as exc:
            raise UnreadableCiphertext("the complaint key does not unwrap with this master key") from exc


class KeyRing:
    """The current master key (wraps new keys, signs audit checkpoints) and earlier ones (still unwrap
    and still verify their checkpoints until everything is re-wrapped), and the blind-index key.

    The blind-index key is its own secret, not derived from a master key: rotating the master key must
    not make every earlier index entry unmatchable."""

    def __init__(self, current: str, previous: list[str] | tuple[str, ...] = (), *, blind_index_secret: str) -> None:
        self.current = MasterKey.from_secret(current)
        self._by_id = {self.current.key_id: self.current}
        self._signing = {self.current.key_id: _signing_key(current)}
        for secret in previous:
            key = MasterKey.from_secret(secret)
            self._by_id.setdefault(key.key_id, key)
            self._signing.setdefault(key.key_id, _signing_key(secret))
        self.blind_key = _derive(blind_index_secret, b"blind-index/v1")

    def get(self, key_id: str) -> MasterKey:
        try:
            return self._by_id[key_id]
        except KeyError as exc:
            raise UnreadableCiphertext(f"master key {key_id} is not configured") from exc

    def sign(self, payload: dict[str, Any]) -> tuple[str, str]:
        """The signature of ``payload`` with the current key, and that key's id."""
        return _encode(self._signing[self.current.key_id].sign(canonical(payload))), self.current.key_id

    def verify(self, payload: dict[str, Any], signature: str, key_id: str) -> bool:
        signer = self._signing.get(key_id)
        if signer is None:
            return False
        return _signature_valid(signer.public_key(), payload, signature)


def _signing_key(secret: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_derive(secret, b"audit-checkpoint-signing/v1"))


def new_data_key() -> bytes:
    return randomness.token_bytes(KEY_BYTES)


class ComplaintCipher:
    """Seals and opens values of one complaint with its data key."""

    def __init__(self, complaint_id: str, data_key: bytes) -> None:
        self.complaint_id = complaint_id
        self._aead = AESGCM(data_key)
        self.data_key = data_key

    def _aad(self, field: str) -> bytes:
        return f"{self.complaint_id}/{field}".encode()

    def seal(self, value: Any, *, field: str) -> str:
        """Any JSON value, sealed for ``field`` of this complaint."""
        plaintext = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode()
        nonce = randomness.token_bytes(NONCE_BYTES)
        return f"{FORMAT}.{_encode(nonce + self._aead.encrypt(nonce, plaintext, self._aad(field)))}"

    def open(self, sealed: str, *, field: str) -> Any:
        version, _, payload = sealed.partition(".")
        if version != FORMAT:
            raise UnreadableCiphertext(f"unknown format {version!r}")
        raw = _decode(payload)
        try:
            plaintext = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], self._aad(field))
        except InvalidTag as exc:
            raise UnreadableCiphertext(f"{field} does not open for complaint {self.complaint_id}") from exc
        return json.loads(plaintext)


def normalise_for_index(value: str) -> str:
    """Case, accents, punctuation and spacing do not make two names different."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    letters = "".join(c for c in decomposed if c.isalnum() or c.isspace())
    return " ".join(letters.split())


def blind_index(key: bytes, *parts: str, purpose: str) -> str:
    """A keyed digest of normalised ``parts`` for ``purpose`` (e.g. "person", "incident")."""
    message = "\x1f".join([purpose, *(normalise_for_index(p) for p in parts)]).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def entry_hash(entry: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(entry)).hexdigest()


def _signature_valid(public_key: Ed25519PublicKey, checkpoint: dict[str, Any], signature: str) -> bool:
    try:
        public_key.verify(_decode(signature), canonical(checkpoint))
    except Exception:  # noqa: BLE001 - any failure is "not valid"
        return False
    return True


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
