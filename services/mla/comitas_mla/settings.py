from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from comitas_shared.settings import ServiceSettings


class MlaSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="COMITAS_MLA_", extra="ignore", frozen=True)

    service_name: str = "mla"
    database_url: str = "sqlite+aiosqlite:///var/mla.db"
    public_url: str = "http://127.0.0.1:8003"
    # identity, whose institutions directory says which authorities are central authorities, and of
    # which state. Called with the caller's own token (DESIGN §3).
    identity_url: str = "http://127.0.0.1:8000"
    # Where the legal-basis data lives (bases/, parties/, states.toml); None means the shipped data.
    legal_bases_dir: str | None = None
    # Outside the EIO a request is executed "as soon as possible": without a date requested by the
    # requesting state, the requesting authority is reminded to follow up after this many days.
    follow_up_days: int = Field(60, ge=1, le=365)
    # Results returned with files (docs/adr/0013-evidence-store.md), sealed under each request's own key:
    # under this directory (local backend: one machine, or a volume every replica shares), or in an
    # S3-compatible bucket (pip install boto3; credentials from boto3's usual chain). A file over
    # max_result_bytes is refused and nothing is kept; the upload route's body limit is raised to match.
    evidence_backend: Literal["local", "s3"] = "local"
    evidence_dir: str = "var/evidence/mla"
    evidence_s3_bucket: str | None = None
    evidence_s3_prefix: str = "mla/"
    evidence_s3_endpoint_url: str | None = None
    evidence_s3_region: str | None = None
    # Where a download's verified ciphertext waits while it streams (an unnamed file); None: the system's.
    evidence_spool_dir: str | None = None
    max_result_bytes: int = Field(512 * 1024 * 1024, ge=1)
    # A TrueType font with wide Unicode coverage for request documents (names in any script); None
    # means the first DejaVu Sans found in the usual system places, else the PDF core fonts (Latin-1).
    pdf_font_path: str | None = None
