"""An S3-compatible backend (AWS S3, MinIO, Ceph RGW, Garage...), written against the few client calls
it needs (:class:`S3Client`, the shape of a boto3 S3 client).

Not exercised against a real S3 server in this repository (none runs in the test stack): its tests
drive it with an in-memory client of the same shape. boto3 is imported only by :meth:`S3Storage.connect`,
so nothing extra is installed or imported unless a deployment chooses this backend.

Objects are ciphertext already, so server-side encryption adds nothing to confidentiality; a bucket
policy refusing public access, versioning (to see a deletion) and a lifecycle rule aborting incomplete
multipart uploads after a day are the deployment's part (docs/adr/0013-evidence-store.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any, Protocol

from .errors import EvidenceNotFound
from .storage import READ_CHUNK, check_key

PART_BYTES = 8 * 1024 * 1024
"""Multipart part size: S3 wants parts of 5 MiB at least (but the last), so one part is held in memory."""


class S3Client(Protocol):
    """The calls used, with boto3's names and keyword arguments (all synchronous)."""

    def put_object(self, **kwargs: Any) -> Any: ...
    def create_multipart_upload(self, **kwargs: Any) -> Any: ...
    def upload_part(self, **kwargs: Any) -> Any: ...
    def complete_multipart_upload(self, **kwargs: Any) -> Any: ...
    def abort_multipart_upload(self, **kwargs: Any) -> Any: ...
    def get_object(self, **kwargs: Any) -> Any: ...
    def head_object(self, **kwargs: Any) -> Any: ...
    def delete_object(self, **kwargs: Any) -> Any: ...


def _is_missing(exc: Exception) -> bool:
    # botocore's ClientError carries the S3 error code in .response; no botocore import needed.
    response = getattr(exc, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return code in {"NoSuchKey", "404", "NotFound"}


class S3Storage:
    def __init__(self, client: S3Client, bucket: str, *, prefix: str = "", part_bytes: int = PART_BYTES) -> None:
        if part_bytes < 5 * 1024 * 1024:
            raise ValueError("S3 multipart parts are 5 MiB at least")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.part_bytes = part_bytes

    @classmethod
    def connect(cls, bucket: str, *, prefix: str = "", endpoint_url: str | None = None,
                region_name: str | None = None) -> S3Storage:
        """A backend on a boto3 client (credentials from boto3's usual chain). boto3 must be installed;
        it is imported here so that services using the local backend never need it."""
        import boto3

        return cls(boto3.client("s3", endpoint_url=endpoint_url, region_name=region_name), bucket, prefix=prefix)

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        name = self._name(key)
        buffer = bytearray()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            async for chunk in chunks:
                buffer += chunk
                while len(buffer) >= self.part_bytes:
                    if upload_id is None:
                        created = await asyncio.to_thread(
                            self.client.create_multipart_upload, Bucket=self.bucket, Key=name)
                        upload_id = str(created["UploadId"])
                    part = bytes(buffer[:self.part_bytes])
                    del buffer[:self.part_bytes]
                    answer = await asyncio.to_thread(
                        self.client.upload_part, Bucket=self.bucket, Key=name, UploadId=upload_id,
                        PartNumber=len(parts) + 1, Body=part)
                    parts.append({"PartNumber": len(parts) + 1, "ETag": answer["ETag"]})
            if upload_id is None:
                # Small objects in one request; S3 makes a single PUT atomic.
                await asyncio.to_thread(self.client.put_object, Bucket=self.bucket, Key=name, Body=bytes(buffer))
                return
            if buffer:
                answer = await asyncio.to_thread(
                    self.client.upload_part, Bucket=self.bucket, Key=name, UploadId=upload_id,
                    PartNumber=len(parts) + 1, Body=bytes(buffer))
                parts.append({"PartNumber": len(parts) + 1, "ETag": answer["ETag"]})
            # The object appears only when the upload completes: a failure before leaves no object.
            await asyncio.to_thread(self.client.complete_multipart_upload, Bucket=self.bucket, Key=name,
                                    UploadId=upload_id, MultipartUpload={"Parts": parts})
        except BaseException:
            if upload_id is not None:
                # Shielded: the abort must run even when the caller's task is being cancelled. The
                # bucket's lifecycle rule is the backstop if the process dies first.
                abort = asyncio.ensure_future(asyncio.to_thread(
                    self.client.abort_multipart_upload, Bucket=self.bucket, Key=name, UploadId=upload_id))
                # The original failure is the one to report, not the abort's.
                with contextlib.suppress(Exception):
                    await asyncio.shield(abort)
            raise

    async def get(self, key: str) -> AsyncIterator[bytes]:
        try:
            answer = await asyncio.to_thread(self.client.get_object, Bucket=self.bucket, Key=self._name(key))
        except Exception as exc:
            if _is_missing(exc):
                raise EvidenceNotFound(f"no stored object {key}") from None
            raise
        body = answer["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, READ_CHUNK):
                yield bytes(chunk)
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=self._name(key))

    async def exists(self, key: str) -> bool:
        try:
            await asyncio.to_thread(self.client.head_object, Bucket=self.bucket, Key=self._name(key))
        except Exception as exc:
            if _is_missing(exc):
                return False
            raise
        return True
