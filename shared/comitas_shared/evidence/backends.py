"""Which storage a service's evidence goes to, from its settings (intake's and mla's share the fields)."""

from __future__ import annotations

from typing import Protocol

from .s3 import S3Storage
from .storage import EvidenceStorage, LocalFileStorage


class StorageSettings(Protocol):
    @property
    def environment(self) -> str: ...
    @property
    def evidence_backend(self) -> str: ...
    @property
    def evidence_dir(self) -> str: ...
    @property
    def evidence_s3_bucket(self) -> str | None: ...
    @property
    def evidence_s3_prefix(self) -> str: ...
    @property
    def evidence_s3_endpoint_url(self) -> str | None: ...
    @property
    def evidence_s3_region(self) -> str | None: ...


def storage_from_settings(settings: StorageSettings) -> EvidenceStorage:
    """S3 (``evidence_backend = "s3"``, which needs a bucket) or a local directory."""
    if settings.evidence_backend == "s3":
        if not settings.evidence_s3_bucket:
            raise ValueError("evidence_s3_bucket: required with evidence_backend = s3")
        return S3Storage.connect(settings.evidence_s3_bucket, prefix=settings.evidence_s3_prefix,
                                 endpoint_url=settings.evidence_s3_endpoint_url, region_name=settings.evidence_s3_region)
    # fsync before each rename, except in tests (durability is not what they check).
    return LocalFileStorage(settings.evidence_dir, durable=settings.environment != "test")
