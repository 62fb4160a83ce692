"""The evidence store: files received from victims (intake) and from requested states (mla), kept
encrypted under their owner's data key, read back only after verification, copied without metadata for
sharing, and followed by a hash-chained custody trail. docs/adr/0013-evidence-store.md says why.

Services use what this package exports; its tables are defined on each service's own metadata.
"""

from .backends import StorageSettings, storage_from_settings
from .crypto import DataKey, open_filename, seal_filename
from .custody import (
    GENESIS,
    Actor,
    CustodyAction,
    CustodyCheck,
    CustodyEntry,
    custody_entry,
    verify_custody,
)
from .detect import DEFAULT_POLICY, EXECUTABLE_TYPES, SCRIPT_TYPES, EvidencePolicy, detect_type
from .errors import (
    EvidenceEmpty,
    EvidenceIntegrityError,
    EvidenceKeyMismatch,
    EvidenceNotFound,
    EvidenceStripRefused,
    EvidenceTooLarge,
    EvidenceTypeRefused,
)
from .s3 import S3Client, S3Storage
from .storage import EvidenceStorage, LocalFileStorage, new_storage_key
from .store import (
    DEFAULT_MAX_BYTES,
    EvidenceReader,
    EvidenceStore,
    StoredEvidence,
    StrippedCopy,
    download_headers,
)
from .strip import StripResult, can_strip, strip_metadata
from .tables import define_custody_table, define_evidence_item_table

__all__ = [
    "StorageSettings",
    "storage_from_settings",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_POLICY",
    "EXECUTABLE_TYPES",
    "GENESIS",
    "SCRIPT_TYPES",
    "Actor",
    "CustodyAction",
    "CustodyCheck",
    "CustodyEntry",
    "DataKey",
    "EvidenceEmpty",
    "EvidenceIntegrityError",
    "EvidenceKeyMismatch",
    "EvidenceNotFound",
    "EvidencePolicy",
    "EvidenceReader",
    "EvidenceStorage",
    "EvidenceStore",
    "EvidenceStripRefused",
    "EvidenceTooLarge",
    "EvidenceTypeRefused",
    "LocalFileStorage",
    "S3Client",
    "S3Storage",
    "StoredEvidence",
    "StripResult",
    "StrippedCopy",
    "can_strip",
    "custody_entry",
    "define_custody_table",
    "define_evidence_item_table",
    "detect_type",
    "download_headers",
    "new_storage_key",
    "open_filename",
    "seal_filename",
    "strip_metadata",
    "verify_custody",
]
