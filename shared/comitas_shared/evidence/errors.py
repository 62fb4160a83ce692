"""The problems the evidence store raises, each with a stable problem type (RFC 9457).

They are :class:`~comitas_shared.errors.Problem` subclasses so a route that lets them through answers
problem+json through the shared handler, with no mapping code in intake or mla.
"""

from __future__ import annotations

from typing import Any

from ..errors import NotFound, Problem


class EvidenceTooLarge(Problem):
    """The upload passed the store's size limit: reading stopped and nothing was kept."""

    status, slug, title = 413, "evidence-too-large", "Evidence file too large"

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"the file is larger than the limit of {max_bytes} bytes; nothing was stored",
                         max_bytes=max_bytes)


class EvidenceTypeRefused(Problem):
    """The content (or, for a few names, the name) is of a kind the policy refuses; nothing was kept."""

    status, slug, title = 422, "evidence-type-refused", "Evidence file type refused"

    def __init__(self, detail: str, *, detected_type: str, **extra: Any) -> None:
        super().__init__(detail, detected_type=detected_type, **extra)


class EvidenceEmpty(Problem):
    status, slug, title = 422, "evidence-empty", "Evidence file is empty"


class EvidenceStripRefused(Problem):
    """A type whose metadata can be stripped could not be (too large, encrypted, unreadable). The copy
    is refused rather than shared with its metadata: sharing the original must be a deliberate act."""

    status, slug, title = 422, "evidence-strip-refused", "Metadata could not be stripped"


class EvidenceNotFound(NotFound):
    """No stored object under this key (deleted, crypto-shredded along with its item, or never stored)."""

    slug, title = "evidence-not-found", "Evidence not found"


class EvidenceIntegrityError(Problem):
    """The stored object does not decrypt and verify: it was altered, truncated, reordered, swapped with
    another object or corrupted. The evidence must not be served; the detail is for logs and operators,
    the client only learns that the stored file failed its integrity check."""

    status, slug, title = 500, "evidence-integrity-failed", "Stored evidence failed its integrity check"


class EvidenceKeyMismatch(EvidenceIntegrityError):
    """The data key given is not the key the object was encrypted under (a wrong key id or version, not
    tampering: the header's key commitment says so before any segment is tried)."""

    slug, title = "evidence-key-mismatch", "Stored evidence is under another key"
