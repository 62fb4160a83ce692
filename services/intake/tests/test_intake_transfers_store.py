"""The evidence store's re-keying copy a transfer uses: the same bytes under another key, verified on the
way; an altered object is refused and leaves nothing stored."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from comitas_shared.evidence import (
    DataKey,
    EvidenceIntegrityError,
    EvidenceKeyMismatch,
    EvidenceStore,
    LocalFileStorage,
)

SENDER_KEY = DataKey("complaint-a", 1, bytes(range(32)))
RECIPIENT_KEY = DataKey("complaint-b", 1, bytes(range(1, 33)))
MARKER = b"KARIM-HADDAD-MEDICAL"


async def stream(data: bytes, chunk: int = 65536) -> AsyncIterator[bytes]:
    for start in range(0, len(data), chunk):
        yield data[start:start + chunk]


def store_at(tmp_path: Path) -> tuple[EvidenceStore, LocalFileStorage]:
    storage = LocalFileStorage(tmp_path / "evidence")
    return EvidenceStore(storage, spool_dir=tmp_path, segment_size=4096), storage


def objects(storage: LocalFileStorage) -> list[Path]:
    return sorted(p for p in storage.root.rglob("*") if p.is_file())


async def test_a_rekeyed_copy_holds_the_same_bytes_under_the_new_key_only(tmp_path: Path) -> None:
    store, storage = store_at(tmp_path)
    data = MARKER + os.urandom(50_000) + MARKER
    original = await store.receive(stream(data, 3_333), key=SENDER_KEY, filename="certificate.txt",
                                   declared_type="text/plain")
    copy = await store.rekey_copy(original, key=SENDER_KEY, new_key=RECIPIENT_KEY)
    assert copy.storage_key != original.storage_key
    assert (copy.sha256, copy.size, copy.detected_type) == (original.sha256, original.size, original.detected_type)
    assert (copy.key_id, copy.key_version) == ("complaint-b", 1)
    async with await store.open(copy, key=RECIPIENT_KEY) as reader:
        assert await reader.read() == data
    with pytest.raises(EvidenceKeyMismatch):
        await store.open(copy, key=SENDER_KEY)
    assert MARKER not in storage.path_of(copy.storage_key).read_bytes()
    with pytest.raises(EvidenceKeyMismatch):
        await store.rekey_copy(original, key=RECIPIENT_KEY, new_key=SENDER_KEY)


async def test_an_altered_original_is_not_copied_and_nothing_is_left(tmp_path: Path) -> None:
    store, storage = store_at(tmp_path)
    original = await store.receive(stream(os.urandom(20_000)), key=SENDER_KEY, filename=None, declared_type=None)
    path = storage.path_of(original.storage_key)
    altered = bytearray(path.read_bytes())
    altered[len(altered) // 2] ^= 0xFF
    path.write_bytes(bytes(altered))
    before = objects(storage)
    with pytest.raises(EvidenceIntegrityError):
        await store.rekey_copy(original, key=SENDER_KEY, new_key=RECIPIENT_KEY)
    assert objects(storage) == before
