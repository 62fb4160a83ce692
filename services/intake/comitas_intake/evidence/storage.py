"""The evidence store intake runs with, built once from its settings (``create_app``)."""

from __future__ import annotations

from comitas_shared.evidence import DEFAULT_POLICY, EvidencePolicy, EvidenceStore, storage_from_settings

from ..settings import IntakeSettings


def build_store(settings: IntakeSettings) -> EvidenceStore:
    storage = storage_from_settings(settings)
    policy = DEFAULT_POLICY
    if settings.evidence_refused_types is not None:
        policy = EvidencePolicy(refused_types=frozenset(settings.evidence_refused_types))
    return EvidenceStore(storage, policy, settings.evidence_max_bytes, spool_dir=settings.evidence_spool_dir)
