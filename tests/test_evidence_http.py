"""The evidence store behind FastAPI routes shaped as intake's and mla's will be: the raw request body
streamed into the store, problems answered as problem+json, downloads verified before the first byte."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Query, Request
from starlette.responses import StreamingResponse

from comitas_shared.errors import install_problem_handlers
from comitas_shared.evidence import DataKey, EvidenceStore, LocalFileStorage, StoredEvidence, download_headers

KEY = DataKey("complaint-1", 1, b"\x05" * 32)


def build_app(store: EvidenceStore) -> tuple[FastAPI, dict[str, StoredEvidence]]:
    app = FastAPI()
    install_problem_handlers(app)
    records: dict[str, StoredEvidence] = {}

    @app.post("/v1/complaints/{complaint_id}/evidence", status_code=201)
    async def upload(complaint_id: str, request: Request,
                     filename: str = Query(max_length=255)) -> dict[str, object]:
        # The raw body, not multipart: python-multipart would spool the plaintext to a temporary file.
        stored = await store.receive(request.stream(), key=KEY, filename=filename,
                                     declared_type=request.headers.get("content-type"))
        records[stored.storage_key] = stored
        return {"id": stored.storage_key, "size": stored.size, "sha256": stored.sha256,
                "detected_type": stored.detected_type}

    @app.get("/v1/complaints/{complaint_id}/evidence/{item_id}/content")
    async def download(complaint_id: str, item_id: str) -> StreamingResponse:
        stored = records[item_id]
        reader = await store.open(stored, key=KEY)  # verified before the response starts
        return StreamingResponse(reader, headers=download_headers(stored, filename=stored.filename))

    return app, records


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, EvidenceStore, dict[str, StoredEvidence]]]:
    store = EvidenceStore(LocalFileStorage(tmp_path / "evidence"), max_bytes=2_000_000, spool_dir=tmp_path)
    app, records = build_app(store)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as http:
        yield http, store, records


async def chunks(data: bytes, size: int = 50_000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


async def test_upload_and_verified_download(client: tuple[httpx.AsyncClient, EvidenceStore, dict[str, StoredEvidence]]) -> None:
    http, _, _ = client
    data = b"%PDF-1.7\n" + os.urandom(700_000)
    answer = await http.post("/v1/complaints/c1/evidence", params={"filename": "déclaration.pdf"},
                             content=chunks(data), headers={"content-type": "application/pdf"})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["detected_type"] == "application/pdf"

    download = await http.get(f"/v1/complaints/c1/evidence/{body['id']}/content")
    assert download.status_code == 200
    assert download.content == data
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"


async def test_problems_come_back_as_problem_json(client: tuple[httpx.AsyncClient, EvidenceStore, dict[str, StoredEvidence]],
                                                  tmp_path: Path) -> None:
    http, _, records = client
    too_large = await http.post("/v1/complaints/c1/evidence", params={"filename": "big.bin"},
                                content=chunks(b"\x00" * 3_000_000))
    assert too_large.status_code == 413
    assert too_large.headers["content-type"] == "application/problem+json"
    assert too_large.json()["type"] == "https://comitas.dev/problems/evidence-too-large"

    elf = await http.post("/v1/complaints/c1/evidence", params={"filename": "scan.pdf"},
                          content=b"\x7fELF\x02\x01\x01" + bytes(5000), headers={"content-type": "application/pdf"})
    assert elf.status_code == 422
    assert elf.json()["type"] == "https://comitas.dev/problems/evidence-type-refused"
    assert elf.json()["detected_type"] == "application/x-executable"
    assert records == {}
    assert not [p for p in (tmp_path / "evidence").rglob("*") if p.is_file()]
