"""comitas_shared.evidence.S3Storage driven by an in-memory client of boto3's shape.

No S3 server runs in the test stack, so this checks the backend's own logic (single PUT or multipart,
abort on failure, missing objects) and the store working through it, not S3 itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from comitas_shared.evidence import DataKey, EvidenceNotFound, EvidenceStore, S3Storage, StoredEvidence

PART = 5 * 1024 * 1024
KEY = DataKey("mla-results", 3, b"\x07" * 32)


class MissingKey(Exception):
    def __init__(self) -> None:
        super().__init__("NoSuchKey")
        self.response = {"Error": {"Code": "NoSuchKey"}}


class Body:
    def __init__(self, data: bytes) -> None:
        self.data, self.offset, self.closed = data, 0, False

    def read(self, n: int) -> bytes:
        chunk = self.data[self.offset:self.offset + n]
        self.offset += len(chunk)
        return chunk

    def close(self) -> None:
        self.closed = True


class MemoryS3:
    """boto3's S3 client calls, keyword names and all, over a dict."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.uploads: dict[str, dict[int, bytes]] = {}
        self.aborted: list[str] = []
        self.calls: list[str] = []

    def put_object(self, *, Bucket: str, Key: str, Body: bytes) -> dict[str, Any]:
        self.calls.append("put_object")
        self.objects[(Bucket, Key)] = Body
        return {}

    def create_multipart_upload(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        upload_id = f"u{len(self.uploads)}"
        self.uploads[upload_id] = {}
        return {"UploadId": upload_id}

    def upload_part(self, *, Bucket: str, Key: str, UploadId: str, PartNumber: int, Body: bytes) -> dict[str, Any]:
        self.calls.append("upload_part")
        self.uploads[UploadId][PartNumber] = Body
        return {"ETag": hashlib.md5(Body).hexdigest()}

    def complete_multipart_upload(self, *, Bucket: str, Key: str, UploadId: str,
                                  MultipartUpload: dict[str, Any]) -> dict[str, Any]:
        parts = self.uploads.pop(UploadId)
        numbers = [p["PartNumber"] for p in MultipartUpload["Parts"]]
        assert numbers == sorted(parts)
        assert all(len(parts[n]) >= PART for n in numbers[:-1]), "S3 refuses small parts but the last"
        self.objects[(Bucket, Key)] = b"".join(parts[n] for n in numbers)
        return {}

    def abort_multipart_upload(self, *, Bucket: str, Key: str, UploadId: str) -> dict[str, Any]:
        self.uploads.pop(UploadId, None)
        self.aborted.append(UploadId)
        return {}

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        if (Bucket, Key) not in self.objects:
            raise MissingKey()
        return {"Body": Body(self.objects[(Bucket, Key)])}

    def head_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        if (Bucket, Key) not in self.objects:
            raise MissingKey()
        return {}

    def delete_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        self.objects.pop((Bucket, Key), None)
        return {}


async def stream(data: bytes, chunk: int = 256 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), chunk):
        yield data[start:start + chunk]


async def read_all(store: EvidenceStore, stored: StoredEvidence) -> bytes:
    async with await store.open(stored, key=KEY) as reader:
        return await reader.read()


@pytest.mark.parametrize(("size", "calls"), [(100_000, {"put_object"}), (12 * 1024 * 1024, {"upload_part"})])
async def test_objects_go_up_in_one_put_or_in_parts(tmp_path: Path, size: int, calls: set[str]) -> None:
    client = MemoryS3()
    store = EvidenceStore(S3Storage(client, "evidence", prefix="mla/", part_bytes=PART), spool_dir=tmp_path)
    data = bytes(range(251)) * (size // 251)
    stored = await store.receive(stream(data), key=KEY, filename="result.bin", declared_type=None)

    assert set(client.calls) == calls
    assert list(client.objects) == [("evidence", "mla/" + stored.storage_key)]
    assert data[:1000] not in client.objects[("evidence", "mla/" + stored.storage_key)]
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert await read_all(store, stored) == data
    assert await store.storage.exists(stored.storage_key)
    await store.delete(stored)
    assert client.objects == {} and not await store.storage.exists(stored.storage_key)
    with pytest.raises(EvidenceNotFound):
        await store.open(stored, key=KEY)


async def test_a_failed_upload_is_aborted_and_leaves_no_object(tmp_path: Path) -> None:
    client = MemoryS3()
    store = EvidenceStore(S3Storage(client, "evidence", part_bytes=PART), max_bytes=11 * 1024 * 1024,
                          spool_dir=tmp_path)
    with pytest.raises(Exception, match="larger than the limit"):
        await store.receive(stream(b"\x00" * (20 * 1024 * 1024)), key=KEY, filename="x", declared_type=None)
    assert client.objects == {} and client.uploads == {} and client.aborted == ["u0"]
