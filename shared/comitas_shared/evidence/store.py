"""The evidence store a service uses: receive a stream, read it back verified, make a stripped copy,
delete. One instance per service (built in ``create_app``, reached through the service's ``deps.py``).

Nothing here touches the database: the caller records :class:`StoredEvidence` in its
``evidence_item`` table and a custody entry in the same transaction as its own change. If that
transaction fails after :meth:`EvidenceStore.receive` stored the object, the caller deletes it (or
leaves an orphan, ciphertext under a key its owner holds, for a sweep to remove).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import tempfile
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from urllib.parse import quote

from .crypto import DEFAULT_SEGMENT_SIZE, DataKey, SegmentDecryptor, SegmentEncryptor
from .detect import DEFAULT_POLICY, SNIFF_BYTES, EvidencePolicy, detect_type
from .errors import EvidenceIntegrityError, EvidenceKeyMismatch, EvidenceStripRefused, EvidenceTooLarge
from .storage import READ_CHUNK, EvidenceStorage, new_storage_key
from .strip import MAX_PIXELS, can_strip, strip_metadata

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
DEFAULT_MAX_STRIP_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class StoredEvidence:
    """What the caller records about a stored file. ``size`` and ``sha256`` are the plaintext's (what the
    uploader sent, what a reader gets back); ``detected_type`` is told from the content."""

    storage_key: str
    size: int
    sha256: str
    detected_type: str
    declared_type: str | None = None
    filename: str | None = None
    key_id: str | None = None
    key_version: int | None = None

    def custody_details(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "size": self.size, "detected_type": self.detected_type}


@dataclass(frozen=True)
class StrippedCopy:
    """A copy made for sharing outside the institution, stored as an object of its own."""

    stored: StoredEvidence
    original_sha256: str
    stripped: bool
    removed: tuple[str, ...] = ()
    note: str | None = None

    @property
    def sha256(self) -> str:
        return self.stored.sha256

    def custody_details(self) -> dict[str, Any]:
        details: dict[str, Any] = {
            "original_sha256": self.original_sha256, "copy_sha256": self.stored.sha256,
            "copy_size": self.stored.size, "copy_storage_key": self.stored.storage_key,
            "stripped": self.stripped, "removed": list(self.removed),
        }
        if self.note:
            details["note"] = self.note
        return details


class EvidenceReader:
    """The plaintext of one stored file as an async iterator of bytes: hand it to Starlette's
    ``StreamingResponse``. Close it (``async with`` or :meth:`aclose`) when not read to the end."""

    def __init__(self, chunks: AsyncGenerator[bytes, None], stored: StoredEvidence, *, verified: bool) -> None:
        self._chunks = chunks
        self.stored = stored
        self.verified = verified
        """True when the whole object was verified before the first byte (:meth:`EvidenceStore.open`)."""

    @property
    def size(self) -> int:
        return self.stored.size

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks

    async def read(self) -> bytes:
        """Everything, in memory: for small files and the stripping of images and PDFs only."""
        parts = [chunk async for chunk in self._chunks]
        return b"".join(parts)

    async def aclose(self) -> None:
        await self._chunks.aclose()

    async def __aenter__(self) -> EvidenceReader:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()


def download_headers(stored: StoredEvidence, *, filename: str | None = None) -> dict[str, str]:
    """Response headers for serving evidence: always an attachment, never sniffed or rendered by the
    browser (an uploaded HTML or SVG file must not run in the service's origin)."""
    name = filename or f"evidence-{stored.sha256[:12]}"
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in name)
    return {
        "Content-Type": "application/octet-stream",
        "Content-Length": str(stored.size),
        "Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "no-store",
        # RFC 9530: the client can check what it received against the hash recorded at intake.
        "Repr-Digest": f"sha-256=:{base64.b64encode(bytes.fromhex(stored.sha256)).decode()}:",
    }


class _Meter:
    """Counts and hashes the plaintext as it passes, and enforces the size limit."""

    def __init__(self, max_bytes: int | None) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._hash = hashlib.sha256()

    def take(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.max_bytes is not None and self.size > self.max_bytes:
            raise EvidenceTooLarge(self.max_bytes)
        self._hash.update(chunk)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


class _Check:
    """The plaintext read back must be the plaintext recorded: same size, same SHA-256."""

    def __init__(self, stored: StoredEvidence) -> None:
        self.stored = stored
        self.size = 0
        self._hash = hashlib.sha256()

    def take(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.stored.size:
            raise EvidenceIntegrityError(f"object {self.stored.storage_key} is longer than recorded")
        self._hash.update(chunk)

    def finish(self) -> None:
        if self.size != self.stored.size or self._hash.hexdigest() != self.stored.sha256:
            raise EvidenceIntegrityError(
                f"object {self.stored.storage_key} does not match its recorded SHA-256: the stored file is "
                "not the file received (tampering or corruption)")


async def _metered(meter: _Meter, counted: list[bytes], rest: AsyncIterator[bytes] | None) -> AsyncIterator[bytes]:
    """``counted`` (the head, already taken by ``meter``) then ``rest``, counted and hashed as it passes."""
    for chunk in counted:
        if chunk:
            yield chunk
    if rest is not None:
        async for chunk in rest:
            meter.take(chunk)
            yield chunk


async def _close_quietly(iterator: AsyncIterator[bytes]) -> None:
    close = getattr(iterator, "aclose", None)
    if close is not None:
        with contextlib.suppress(Exception):
            await close()


class EvidenceStore:
    """Receive, read back, strip and delete evidence files, encrypted under the caller's data key.

    ``max_bytes`` is the hard limit of one file. ``spool_dir`` is where :meth:`open` keeps the
    ciphertext it has verified while the response streams (an unnamed file, gone when closed); point it
    at a disk, not a memory-backed ``/tmp``, for large files.
    """

    def __init__(self, storage: EvidenceStorage, policy: EvidencePolicy = DEFAULT_POLICY,
                 max_bytes: int = DEFAULT_MAX_BYTES, *, segment_size: int = DEFAULT_SEGMENT_SIZE,
                 spool_dir: Path | str | None = None, max_strip_bytes: int = DEFAULT_MAX_STRIP_BYTES,
                 max_strip_pixels: int = MAX_PIXELS) -> None:
        self.storage = storage
        self.policy = policy
        self.max_bytes = max_bytes
        self.segment_size = segment_size
        self.spool_dir = Path(spool_dir) if spool_dir is not None else None
        self.max_strip_bytes = max_strip_bytes
        self.max_strip_pixels = max_strip_pixels

    # -- writing --------------------------------------------------------------------------------------

    async def receive(self, stream: AsyncIterable[bytes], *, key: DataKey, filename: str | None,
                      declared_type: str | None) -> StoredEvidence:
        """Store one uploaded file from ``stream`` (``request.stream()``), never holding it whole.

        The head is read first and its type checked against the policy before anything is written; the
        rest is hashed, counted and encrypted as it arrives. Over ``max_bytes`` reading stops and
        :class:`EvidenceTooLarge` (413) is raised; a refused type raises :class:`EvidenceTypeRefused`
        (422). Either way nothing is left in storage.
        """
        source = aiter(stream)
        meter = _Meter(self.max_bytes)
        try:
            head: list[bytes] = []
            head_size = 0
            ended = False
            while head_size < SNIFF_BYTES:
                chunk = await anext(source, None)
                if chunk is None:
                    ended = True
                    break
                meter.take(chunk)
                head.append(chunk)
                head_size += len(chunk)
            first = b"".join(head)
            detected = detect_type(first[:SNIFF_BYTES])
            self.policy.check(detected, filename=filename, size=head_size if ended else None)
            storage_key = await self._seal_and_put(_metered(meter, [first], None if ended else source), key)
        except BaseException:
            await _close_quietly(source)
            raise
        return StoredEvidence(storage_key=storage_key, size=meter.size, sha256=meter.sha256, detected_type=detected,
                              declared_type=declared_type, filename=filename, key_id=key.key_id,
                              key_version=key.version)

    async def _seal_and_put(self, plaintext: AsyncIterator[bytes], key: DataKey) -> str:
        storage_key = new_storage_key()
        encryptor = SegmentEncryptor(key, binding=storage_key, segment_size=self.segment_size)

        async def sealed() -> AsyncIterator[bytes]:
            yield encryptor.header
            async for chunk in plaintext:
                out = encryptor.update(chunk)
                if out:
                    yield b"".join(out)
            yield encryptor.finalize()

        try:
            await self.storage.put(storage_key, sealed())
        except BaseException:
            # put() leaves nothing when the stream fails; this covers a failure after the object landed
            # (a directory fsync, say). Shielded so that a cancelled request still cleans up.
            cleanup = asyncio.ensure_future(self.storage.delete(storage_key))
            with contextlib.suppress(Exception):
                await asyncio.shield(cleanup)
            raise
        return storage_key

    async def _store_plaintext(self, plaintext: AsyncIterator[bytes], key: DataKey, *, detected_type: str,
                               like: StoredEvidence) -> StoredEvidence:
        meter = _Meter(None)
        storage_key = await self._seal_and_put(_metered(meter, [], plaintext), key)
        return StoredEvidence(storage_key=storage_key, size=meter.size, sha256=meter.sha256,
                              detected_type=detected_type,
                              declared_type=like.declared_type, filename=like.filename, key_id=key.key_id,
                              key_version=key.version)

    # -- reading --------------------------------------------------------------------------------------

    @staticmethod
    def _check_key(stored: StoredEvidence, key: DataKey) -> None:
        if stored.key_id is not None and (stored.key_id, stored.key_version) != (key.key_id, key.version):
            raise EvidenceKeyMismatch(
                f"object {stored.storage_key} is recorded under key {stored.key_id!r} version "
                f"{stored.key_version}, not {key.key_id!r} version {key.version}")

    async def open(self, stored: StoredEvidence, *, key: DataKey) -> EvidenceReader:
        """Read a file back, verified before the first byte: the one to serve downloads with."""
        return await self.open_verified(stored, key=key)

    async def open_verified(self, stored: StoredEvidence, *, key: DataKey) -> EvidenceReader:
        """Verify the whole object (every segment, the size and the SHA-256 of the plaintext) and only
        then return a reader; a failure raises :class:`EvidenceIntegrityError` before any byte is out.

        The ciphertext read during verification is kept in an unnamed temporary file and the answer is
        decrypted from that copy, so what is served is what was verified even if the stored object
        changes meanwhile. No plaintext ever touches the disk.
        """
        self._check_key(stored, key)
        spool: IO[bytes] = await asyncio.to_thread(tempfile.TemporaryFile, "w+b", dir=self.spool_dir)
        sealed = self.storage.get(stored.storage_key)
        try:
            decryptor = SegmentDecryptor(key, binding=stored.storage_key)
            check = _Check(stored)
            async for chunk in sealed:
                await asyncio.to_thread(spool.write, chunk)
                for plain in decryptor.update(chunk):
                    check.take(plain)
            check.take(decryptor.finalize())
            check.finish()
            await asyncio.to_thread(spool.seek, 0)
        except BaseException:
            spool.close()
            raise
        finally:
            await _close_quietly(sealed)
        return EvidenceReader(self._replay(spool, stored, key), stored, verified=True)

    async def _replay(self, spool: IO[bytes], stored: StoredEvidence, key: DataKey) -> AsyncGenerator[bytes, None]:
        try:
            async for plain in self._decrypt(self._read_spool(spool), stored, key):
                yield plain
        finally:
            spool.close()

    @staticmethod
    async def _read_spool(spool: IO[bytes]) -> AsyncIterator[bytes]:
        while chunk := await asyncio.to_thread(spool.read, READ_CHUNK):
            yield chunk

    async def open_streaming(self, stored: StoredEvidence, *, key: DataKey) -> EvidenceReader:
        """Read a file back in one pass, each segment authenticated before it is handed on.

        Whole-file verification (size, SHA-256) can only finish at the end: the last segment is held
        back until it has, so a reader that got every byte got verified bytes, but a failure comes after
        some plaintext was already sent, and an HTTP response can then only be cut short. Use it for
        internal processing that can discard what it read (copies, exports); serve downloads with
        :meth:`open`.
        """
        self._check_key(stored, key)
        return EvidenceReader(self._decrypt(self.storage.get(stored.storage_key), stored, key), stored,
                              verified=False)

    @staticmethod
    async def _decrypt(sealed: AsyncIterator[bytes], stored: StoredEvidence, key: DataKey) -> AsyncGenerator[bytes, None]:
        decryptor = SegmentDecryptor(key, binding=stored.storage_key)
        check = _Check(stored)
        try:
            async for chunk in sealed:
                for plain in decryptor.update(chunk):
                    check.take(plain)
                    yield plain
            last = decryptor.finalize()
            check.take(last)
            check.finish()
            if last:
                yield last
        finally:
            await _close_quietly(sealed)

    # -- copies and deletion --------------------------------------------------------------------------

    async def strip_copy(self, stored: StoredEvidence, *, key: DataKey) -> StrippedCopy:
        """A copy for sharing outside the institution, stored under its own storage key and the same
        data key: JPEG, PNG, TIFF and WebP re-encoded without EXIF/GPS/XMP, PDFs without document
        information and XMP; other types copied as they are, with a note saying so.

        Raises :class:`EvidenceStripRefused` (422) rather than copy a strippable type with its metadata
        (larger than ``max_strip_bytes``, unreadable, password-protected).
        """
        self._check_key(stored, key)
        if not can_strip(stored.detected_type):
            reader = await self.open_streaming(stored, key=key)
            copy = await self._store_plaintext(aiter(reader), key, detected_type=stored.detected_type,
                                               like=stored)
            return StrippedCopy(copy, stored.sha256, stripped=False, note=(
                f"no metadata stripping is possible for {stored.detected_type}: the copy is the original's "
                "bytes, with whatever metadata they hold"))
        if stored.size > self.max_strip_bytes:
            raise EvidenceStripRefused(
                f"the file is {stored.size} bytes; metadata is stripped from files up to "
                f"{self.max_strip_bytes} bytes")
        async with await self.open_verified(stored, key=key) as reader:
            data = await reader.read()
        result = await asyncio.to_thread(strip_metadata, data, stored.detected_type,
                                         max_pixels=self.max_strip_pixels)
        del data

        async def one(chunk: bytes) -> AsyncIterator[bytes]:
            yield chunk

        copy = await self._store_plaintext(one(result.data), key, detected_type=result.content_type, like=stored)
        return StrippedCopy(copy, stored.sha256, stripped=True, removed=result.removed)

    async def rekey_copy(self, stored: StoredEvidence, *, key: DataKey, new_key: DataKey) -> StoredEvidence:
        """The same bytes, metadata and all, under another data key and a storage key of their own (a case
        taken over by another owner, whose key is not this one): read in one pass, each segment
        authenticated and the whole verified at the end, re-encrypted as it goes; a failure leaves nothing
        stored. The plaintext never touches the disk."""
        reader = await self.open_streaming(stored, key=key)
        try:
            return await self._store_plaintext(aiter(reader), new_key, detected_type=stored.detected_type,
                                               like=stored)
        finally:
            await reader.aclose()

    async def delete(self, stored: StoredEvidence) -> None:
        """Remove the stored object. With intake's per-complaint keys, destroying the key is what makes
        every copy (backups included) unreadable; deleting the object frees the space."""
        await self.storage.delete(stored.storage_key)
