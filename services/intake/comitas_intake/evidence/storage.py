"""The evidence store intake runs with, built once from its settings (``create_app``)."""

from __future__ import annotations

from comitas_shared.evidence import (
    DEFAULT_POLICY,
    EvidencePolicy,
    EvidenceStorage,
    EvidenceStore,
    LocalFileStorage,
    S3Storage,
)

from ..settings import IntakeSettings


def build_store(settings: IntakeSettings) -> EvidenceStore:
    storage: EvidenceStorage
    if settings.evidence_backend == "s3":
        if not settings.evidence_s3_bucket:
            raise ValueError("evidence_s3_bucket: required with evidence_backend = s3")
        storage = S3Storage.connect(settings.evidence_s3_bucket, prefix=settings.evidence_s3_prefix,
                                    endpoint_url=settings.evidence_s3_endpoint_url,
                                    region_name=settings.evidence_s3_region)
    else:
        # fsync before each rename, except in tests (durability is not what they check).
        storage = LocalFileStorage(settings.evidence_dir, durable=settings.environment != "test")
    policy = DEFAULT_POLICY
    if settings.evidence_refused_types is not None:
        policy = EvidencePolicy(refused_types=frozenset(settings.evidence_refused_types))
    return EvidenceStore(storage, policy, settings.evidence_max_bytes, spool_dir=settings.evidence_spool_dir)
