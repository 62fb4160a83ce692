"""Chunked authenticated encryption of evidence files (AES-256-GCM in segments), and sealed file names.

Why segments: a file of hundreds of megabytes can then be encrypted as it arrives and decrypted as it
leaves with one segment in memory, and every segment is authenticated before its plaintext is used. A
single AES-GCM message over the whole file would have to be held (or released unauthenticated).

The object layout (version 1)::

    header  = b"CMEV" | 0x01 | segment_size:u32 | salt:32 | nonce_prefix:7 | commitment:32
              | binding_length:u16 | binding (UTF-8, the storage key)
    segment = AES-256-GCM(file_key, nonce, plaintext[<= segment_size], aad) (ciphertext | 16-byte tag)

- ``file_key`` and ``commitment`` are the two halves of HKDF-SHA256(data key, salt, info + binding): a
  key of its own per file, so no (key, nonce) pair can repeat across files even if two random nonce
  prefixes did, and a key commitment, so a wrong data key is told apart from tampering (AES-GCM alone
  is not key-committing).
- ``nonce`` = nonce_prefix | segment index:u32 | final flag:u8, and ``aad`` = SHA-256(header) | index:u32
  | final:u8. A segment moved to another place, dropped, repeated, or an object cut at a segment
  boundary (the last segment left was sealed as not final) fails authentication; every header field
  is authenticated through the AAD.
- ``binding`` is the object's storage key: an object copied or swapped onto another key (for
  instance two files of one complaint, which share the complaint's key) is refused.
- Only full segments are sealed as not final, and the final segment is sealed at the end of the
  stream: it holds 1..segment_size bytes (0 only for an empty file).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .. import randomness
from .errors import EvidenceIntegrityError, EvidenceKeyMismatch

MAGIC = b"CMEV"
VERSION = 1
DEFAULT_SEGMENT_SIZE = 64 * 1024
MIN_SEGMENT_SIZE = 4 * 1024
MAX_SEGMENT_SIZE = 16 * 1024 * 1024
TAG_BYTES = 16
SALT_BYTES = 32
NONCE_PREFIX_BYTES = 7
COMMITMENT_BYTES = 32
MAX_BINDING_BYTES = 512
MAX_SEGMENTS = 2**32 - 1
_FIXED = struct.Struct(f">4sBI{SALT_BYTES}s{NONCE_PREFIX_BYTES}s{COMMITMENT_BYTES}sH")
_INFO = b"comitas-evidence/v1/"
_NAME_INFO = b"comitas-evidence/name/v1"
_NAME_FORMAT = "v1"
_NAME_NONCE_BYTES = 12


@dataclass(frozen=True)
class DataKey:
    """A 256-bit data key and the name it is recorded under (``key_id``, ``version``).

    intake passes the complaint's own key, so destroying that key crypto-shreds the complaint's files;
    mla passes a key of its own. The store never keeps key material: only the id and version are
    recorded beside the object, and the object's header commits to the key.
    """

    key_id: str
    version: int
    material: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.material) != 32:
            raise ValueError("an evidence data key is 32 bytes (AES-256)")


def _derive(key: DataKey, salt: bytes, binding: bytes) -> tuple[bytes, bytes]:
    okm = HKDF(algorithm=hashes.SHA256(), length=64, salt=salt, info=_INFO + binding).derive(key.material)
    return okm[:32], okm[32:]


def _nonce(prefix: bytes, index: int, final: bool) -> bytes:
    return prefix + struct.pack(">IB", index, 1 if final else 0)


def _aad(header_digest: bytes, index: int, final: bool) -> bytes:
    return header_digest + struct.pack(">IB", index, 1 if final else 0)


def _binding_bytes(binding: str) -> bytes:
    raw = binding.encode()
    if not raw or len(raw) > MAX_BINDING_BYTES:
        raise ValueError(f"a binding is 1..{MAX_BINDING_BYTES} bytes")
    return raw


class SegmentEncryptor:
    """Turns a plaintext stream into the object's bytes: :attr:`header` first, then what
    :meth:`update` returns, then :meth:`finalize`. Synchronous and pure; the store drives it."""

    def __init__(self, key: DataKey, *, binding: str, segment_size: int = DEFAULT_SEGMENT_SIZE) -> None:
        if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
            raise ValueError(f"segment size must be {MIN_SEGMENT_SIZE}..{MAX_SEGMENT_SIZE} bytes")
        raw_binding = _binding_bytes(binding)
        salt = randomness.token_bytes(SALT_BYTES)
        self._prefix = randomness.token_bytes(NONCE_PREFIX_BYTES)
        file_key, commitment = _derive(key, salt, raw_binding)
        self._aead = AESGCM(file_key)
        self.header = _FIXED.pack(MAGIC, VERSION, segment_size, salt, self._prefix, commitment,
                                  len(raw_binding)) + raw_binding
        self._digest = hashlib.sha256(self.header).digest()
        self._segment_size = segment_size
        self._buffer = bytearray()
        self._index = 0
        self._finalized = False

    def _seal(self, plaintext: bytes, final: bool) -> bytes:
        if self._index > MAX_SEGMENTS:
            raise ValueError("too many segments for one object")
        sealed = self._aead.encrypt(_nonce(self._prefix, self._index, final), plaintext,
                                    _aad(self._digest, self._index, final))
        self._index += 1
        return sealed

    def update(self, data: bytes) -> list[bytes]:
        """Sealed segments completed by ``data``. A full segment is held back until more data shows it
        is not the last one, so the final flag is always set on the true last segment."""
        if self._finalized:
            raise ValueError("the encryptor is finalized")
        self._buffer += data
        out: list[bytes] = []
        size = self._segment_size
        while len(self._buffer) > size:
            out.append(self._seal(bytes(self._buffer[:size]), final=False))
            del self._buffer[:size]
        return out

    def finalize(self) -> bytes:
        """The final segment: what is left of the plaintext (possibly nothing, for an empty file)."""
        if self._finalized:
            raise ValueError("the encryptor is finalized")
        self._finalized = True
        last = bytes(self._buffer)
        self._buffer.clear()
        return self._seal(last, final=True)


class SegmentDecryptor:
    """Reads an object back: feed it the stored bytes in any pieces, get authenticated plaintext out.

    Every piece of plaintext it returns has been authenticated; :meth:`finalize` then proves the object
    was not cut short. Failures raise :class:`EvidenceIntegrityError` (or :class:`EvidenceKeyMismatch`)
    naming the segment; the caller decides whether plaintext already handed on must be withdrawn.
    """

    def __init__(self, key: DataKey, *, binding: str) -> None:
        self._key = key
        self._binding = _binding_bytes(binding)
        self._buffer = bytearray()
        self._aead: AESGCM | None = None
        self._prefix = b""
        self._digest = b""
        self._segment_size = 0
        self._index = 0
        self._finalized = False

    def _read_header(self) -> bool:
        if len(self._buffer) < _FIXED.size:
            return False
        magic, version, segment_size, salt, prefix, commitment, binding_length = _FIXED.unpack_from(
            self._buffer)
        if magic != MAGIC or version != VERSION:
            raise EvidenceIntegrityError("the stored object is not an evidence object of a known version")
        if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE or binding_length > MAX_BINDING_BYTES:
            raise EvidenceIntegrityError("the stored object's header is malformed")
        end = _FIXED.size + binding_length
        if len(self._buffer) < end:
            return False
        header = bytes(self._buffer[:end])
        binding = header[_FIXED.size:]
        if not hmac.compare_digest(binding, self._binding):
            raise EvidenceIntegrityError("the stored object belongs to another storage key (moved or swapped)")
        file_key, expected_commitment = _derive(self._key, salt, binding)
        if not hmac.compare_digest(commitment, expected_commitment):
            # Without a MAC over the header under the right key, an altered salt or commitment looks
            # the same as a wrong key; either way nothing is decrypted.
            raise EvidenceKeyMismatch(
                f"the object's key commitment does not match key {self._key.key_id!r} version "
                f"{self._key.version}: another key, or an altered header")
        self._aead = AESGCM(file_key)
        self._prefix = prefix
        self._digest = hashlib.sha256(header).digest()
        self._segment_size = segment_size
        del self._buffer[:end]
        return True

    def _open(self, sealed: bytes, final: bool) -> bytes:
        if self._aead is None:
            raise EvidenceIntegrityError("the stored object's header was not read")
        if self._index > MAX_SEGMENTS:
            raise EvidenceIntegrityError("the stored object has too many segments")
        try:
            plaintext = self._aead.decrypt(_nonce(self._prefix, self._index, final), sealed,
                                           _aad(self._digest, self._index, final))
        except InvalidTag as exc:
            where = "final segment" if final else "segment"
            raise EvidenceIntegrityError(
                f"{where} {self._index} does not authenticate: the object was altered, reordered, "
                "truncated or corrupted") from exc
        self._index += 1
        return plaintext

    def update(self, data: bytes) -> list[bytes]:
        if self._finalized:
            raise ValueError("the decryptor is finalized")
        self._buffer += data
        if self._aead is None and not self._read_header():
            return []
        out: list[bytes] = []
        sealed_size = self._segment_size + TAG_BYTES
        # A full sealed segment is opened as "not final" only once a byte after it is known to exist.
        while len(self._buffer) > sealed_size:
            out.append(self._open(bytes(self._buffer[:sealed_size]), final=False))
            del self._buffer[:sealed_size]
        return out

    def finalize(self) -> bytes:
        if self._finalized:
            raise ValueError("the decryptor is finalized")
        self._finalized = True
        if self._aead is None:
            raise EvidenceIntegrityError("the stored object is cut short inside its header")
        if len(self._buffer) < TAG_BYTES:
            raise EvidenceIntegrityError(f"the stored object is cut short after {self._index} segment(s)")
        last = self._open(bytes(self._buffer), final=True)
        self._buffer.clear()
        return last


def sealed_size(plaintext_size: int, *, binding: str, segment_size: int = DEFAULT_SEGMENT_SIZE) -> int:
    """The stored object's size for a plaintext of ``plaintext_size`` bytes (header + tags)."""
    segments = max(1, -(-plaintext_size // segment_size))
    return _FIXED.size + len(_binding_bytes(binding)) + plaintext_size + segments * TAG_BYTES


def _name_aead(key: DataKey) -> AESGCM:
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_NAME_INFO).derive(key.material))


def seal_filename(key: DataKey, filename: str, *, binding: str) -> str:
    """The file name as given, encrypted under the same data key as the file.

    A victim's file name often names someone ("passport_maria_lopez.jpg"), and DESIGN §6 wants no
    plaintext identity in a database dump; sealing it under the complaint key also shreds it with the
    complaint. ``binding`` (the evidence item's id) stops a sealed name being copied onto another row.
    """
    nonce = randomness.token_bytes(_NAME_NONCE_BYTES)
    sealed = _name_aead(key).encrypt(nonce, filename.encode(), binding.encode())
    return f"{_NAME_FORMAT}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def open_filename(key: DataKey, sealed: str, *, binding: str) -> str:
    version, _, payload = sealed.partition(".")
    if version != _NAME_FORMAT:
        raise EvidenceIntegrityError(f"unknown sealed file name format {version!r}")
    raw = base64.urlsafe_b64decode(payload)
    try:
        return _name_aead(key).decrypt(raw[:_NAME_NONCE_BYTES], raw[_NAME_NONCE_BYTES:],
                                       binding.encode()).decode()
    except InvalidTag as exc:
        raise EvidenceIntegrityError("the sealed file name does not open with this key and binding") from exc
