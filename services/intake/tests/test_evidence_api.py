"""Evidence through real HTTP with real tokens, against intake served in this process: the hash returned
is the file's SHA-256, custody records upload, view, download and sharing, a shared photo loses its GPS,
an executable renamed .pdf and a file over the limit are refused with nothing stored, a 200 MB upload
streams in flat memory, erasure shreds the files, and every new route answers 404 to another
institution."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import time
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from consent_evidence_kit import PURPOSE, audit, client, count, erase_key, new_complaint, rows, served_intake
from PIL import ExifTags, Image
from sqlalchemy import text

from comitas_intake.evidence import service as evidence_service
from comitas_shared.auth import InstitutionId
from comitas_shared.db import Database
from comitas_shared.evidence import Actor as CustodyActor

MB = 1024 * 1024
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + bytes(range(256)) * 8


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def photo_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Artist] = "Maria Lopez"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (48.0, 51.0, 29.0),
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (2.0, 21.0, 5.0),
    }
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture(scope="module")
async def evidence_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("evidence")


@pytest.fixture(scope="module")
async def intake(stack, evidence_dir):
    """intake with room for a 200 MB file (the platform's 1 MB body limit stays on every other route)."""
    served = await served_intake(stack, evidence_dir, evidence_max_bytes=256 * MB)
    yield served
    await served.stop()


@pytest.fixture(scope="module")
async def small_intake(stack, tmp_path_factory):
    directory = tmp_path_factory.mktemp("evidence-small")
    served = await served_intake(stack, directory, evidence_max_bytes=1 * MB, max_body_bytes=64 * 1024)
    served.evidence_dir = directory  # type: ignore[attr-defined]
    yield served
    await served.stop()


async def upload(api: httpx.AsyncClient, complaint_id: str, content, *, filename: str, content_type: str,
                 **kwargs) -> httpx.Response:
    return await api.post(f"/v1/complaints/{complaint_id}/evidence", params={"filename": filename},
                          content=content, headers={"Content-Type": content_type} | kwargs.pop("headers", {}),
                          **kwargs)


async def published(stack, event_type: str, subject: str) -> list[dict]:
    for _ in range(100):
        found = await rows(stack, "SELECT envelope FROM outbox WHERE event_type = :t AND published_at IS NOT NULL",
                           t=event_type)
        envelopes = [json.loads(r["envelope"]) if isinstance(r["envelope"], str) else r["envelope"] for r in found]
        mine = [e for e in envelopes if e.get("subject") == subject]
        if mine:
            return mine
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {event_type} published for {subject}")


async def test_upload_returns_the_files_sha256_and_custody_follows_every_read(stack, intake):
    owner = await stack.new_institution()
    async with await client(stack, intake, owner) as api:
        complaint_id = await new_complaint(stack, api, owner.institution_id)
        received = await upload(api, complaint_id, PDF, filename="Statement of Amina.pdf",
                                content_type="application/pdf", headers={"Idempotency-Key": "upload-1"})
        assert received.status_code == 201, received.text
        item = received.json()
        assert item["sha256"] == hashlib.sha256(PDF).hexdigest()
        assert (item["size"], item["detected_type"], item["declared_type"]) == (len(PDF), "application/pdf",
                                                                                 "application/pdf")
        assert "filename" not in item
        again = await upload(api, complaint_id, PDF, filename="Statement of Amina.pdf",
                             content_type="application/pdf", headers={"Idempotency-Key": "upload-1"})
        assert again.status_code == 201 and again.json() == item
        assert await count(stack, "evidence_item", owner_id=complaint_id) == 1
        # The name is sealed: not in the database as text.
        stored = await rows(stack, "SELECT filename_sealed FROM evidence_item WHERE id = :i", i=item["id"])
        assert "Amina" not in stored[0]["filename_sealed"]

        base = f"/v1/complaints/{complaint_id}/evidence/{item['id']}"
        assert (await api.get(f"/v1/complaints/{complaint_id}/evidence")).json()["items"][0]["id"] == item["id"]
        assert (await api.get(base)).status_code == 422  # no stated purpose
        viewed = await api.get(base, headers=PURPOSE)
        assert viewed.status_code == 200 and viewed.json()["filename"] == "Statement of Amina.pdf"
        content = await api.get(f"{base}/content", headers=PURPOSE)
        assert content.status_code == 200 and content.content == PDF
        digest = base64.b64encode(bytes.fromhex(item["sha256"])).decode()
        assert content.headers["repr-digest"] == f"sha-256=:{digest}:"  # RFC 9530
        assert content.headers["content-disposition"].startswith("attachment")

        chain = (await api.get(f"{base}/custody")).json()
        assert chain["intact"] and chain["sha256"] == item["sha256"]
        assert [e["action"] for e in chain["entries"]] == ["received", "viewed", "downloaded"]
        assert chain["entries"][0]["details"]["sha256"] == item["sha256"]
        assert chain["entries"][2]["details"] == {"sha256": item["sha256"], "verified": True,
                                                  "purpose": PURPOSE["Comitas-Purpose"]}
        assert all(e["actor"]["client_id"] == owner.client_id and e["actor"]["institution_id"] ==
                   owner.institution_id for e in chain["entries"])
        assert chain["entries"][0]["entry_hash"] == item["custody_head"]

        log = [e["action"] for e in await audit(api) if e["subject_id"] == complaint_id]
        assert "evidence.viewed" in log and "evidence.downloaded" in log

        event = (await published(stack, "comitas.evidence.added", complaint_id))[0]
        assert event["data"]["sha256"] == item["sha256"] and event["data"]["evidence_id"] == item["id"]
        assert "Amina" not in json.dumps(event) and "filename" not in event["data"]


async def test_a_download_rechecks_the_hash(stack, intake, evidence_dir):
    owner = await stack.new_institution()
    async with await client(stack, intake, owner) as api:
        complaint_id = await new_complaint(stack, api, owner.institution_id)
        item = (await upload(api, complaint_id, PDF, filename="a.pdf", content_type="application/pdf")).json()
        # The recorded hash altered in the database: the stored file no longer matches it.
        database = Database(stack.database_urls["intake"])
        try:
            async with database.transaction() as session:
                await session.execute(text("UPDATE evidence_item SET sha256 = :h WHERE id = :i"),
                                      {"h": "0" * 64, "i": item["id"]})
        finally:
            await database.dispose()
        refused = await api.get(f"/v1/complaints/{complaint_id}/evidence/{item['id']}/content", headers=PURPOSE)
        assert refused.status_code == 500 and refused.json()["type"].endswith("/evidence-integrity-failed")
        chain = (await api.get(f"/v1/complaints/{complaint_id}/evidence/{item['id']}/custody")).json()
        assert [e["action"] for e in chain["entries"]] == ["received"]  # no download happened


async def test_a_shared_copy_of_a_photo_has_no_gps_and_its_custody_names_both_hashes(stack, intake):
    owner, recipient = await stack.new_institution(), await stack.new_institution(kind="nhri")
    photo = photo_with_gps()
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(ExifTags.IFD.GPSInfo), "the original has GPS"
    async with await client(stack, intake, owner) as api:
        complaint_id = await new_complaint(stack, api, owner.institution_id)
        item = (await upload(api, complaint_id, photo, filename="IMG_0001.jpg", content_type="image/jpeg")).json()
        assert item["detected_type"] == "image/jpeg"
        share = {"recipient_type": "institution", "recipient": recipient.institution_id, "recipient_kind": "nhri",
                 "purpose": "investigate"}
        url = f"/v1/complaints/{complaint_id}/evidence/{item['id']}/shared-copies"
        refused = await api.post(url, json=share)
        assert refused.status_code == 409 and refused.json()["refused"]["evidence"]["reason"] == "no_consent"
        consent = await api.post(f"/v1/complaints/{complaint_id}/consents", json={
            "status": "given", "purposes": ["investigate"], "categories": ["evidence"], "channel": "written",
            "recipient": {"type": "institution_kind", "value": "nhri"}})
        assert consent.status_code == 201, consent.text

        shared = await api.post(url, json=share)
        assert shared.status_code == 201, shared.text
        copy = shared.json()
        assert copy["original_sha256"] == item["sha256"] == hashlib.sha256(photo).hexdigest()
        assert copy["copy_sha256"] == copy["item"]["sha256"] != item["sha256"]
        assert copy["stripped"] and {"exif", "gps"} <= set(copy["removed"]) and copy["basis"] == "consent"
        assert copy["item"]["derived_from"] == item["id"]

        data = (await api.get(f"/v1/complaints/{complaint_id}/evidence/{copy['item']['id']}/content",
                              headers=PURPOSE)).content
        assert hashlib.sha256(data).hexdigest() == copy["copy_sha256"]
        image = Image.open(io.BytesIO(data))
        assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo) and dict(image.getexif()) == {}
        assert b"Maria Lopez" not in data and b"PhoneMaker" not in data

        original_chain = (await api.get(f"/v1/complaints/{complaint_id}/evidence/{item['id']}/custody")).json()
        assert original_chain["intact"]
        shared_entry = original_chain["entries"][-1]
        assert shared_entry["action"] == "shared"
        assert shared_entry["details"]["original_sha256"] == item["sha256"]
        assert shared_entry["details"]["copy_sha256"] == copy["copy_sha256"]
        assert shared_entry["details"]["recipient"] == recipient.institution_id
        copy_chain = (await api.get(f"/v1/complaints/{complaint_id}/evidence/{copy['item']['id']}/custody")).json()
        assert [e["action"] for e in copy_chain["entries"]] == ["stripped_copy_made", "downloaded"]
        assert copy_chain["entries"][0]["details"]["original_sha256"] == item["sha256"]
        assert copy_chain["entries"][0]["details"]["copy_sha256"] == copy["copy_sha256"]
        assert any(e["action"] == "evidence.shared" for e in await audit(api))


async def test_an_elf_renamed_pdf_is_recorded_as_what_it_is_and_refused(stack, intake, evidence_dir):
    owner = await stack.new_institution()
    async with await client(stack, intake, owner) as api:
        complaint_id = await new_complaint(stack, api, owner.institution_id)
        before = set(files_under(evidence_dir))
        refused = await upload(api, complaint_id, ELF, filename="statement.pdf", content_type="application/pdf")
        assert refused.status_code == 422, refused.text
        problem = refused.json()
        assert problem["type"].endswith("/evidence-type-refused")
        assert problem["detected_type"] == "application/x-executable"
        assert set(files_under(evidence_dir)) == before
        assert await count(stack, "evidence_item", owner_id=complaint_id) == 0
        entry = next(e for e in await audit(api) if e["action"] == "evidence.refused")
        assert entry["subject_id"] == complaint_id
        assert entry["details"]["detected_type"] == "application/x-executable"
        assert entry["details"]["declared_type"] == "application/pdf"


async def test_over_the_limit_is_refused_and_nothing_is_stored(stack, small_intake):
    owner = await stack.new_institution()
    directory: Path = small_intake.evidence_dir  # type: ignore[attr-defined]
    async with await client(stack, small_intake, owner) as api:
        complaint_id = await new_complaint(stack, api, owner.institution_id)
        declared = await upload(api, complaint_id, b"x" * (MB + 1), filename="big.txt", content_type="text/plain")
        assert declared.status_code == 413 and declared.json()["type"].endswith("/evidence-too-large")

        async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
            for _ in range(17):
                yield b"y" * (64 * 1024)

        streamed = await upload(api, complaint_id, chunked(), filename="big.txt", content_type="text/plain")
        assert streamed.status_code == 413, streamed.text
        assert files_under(directory) == []
        assert await count(stack, "evidence_item", owner_id=complaint_id) == 0
        just_right = await upload(api, complaint_id, b"z" * MB, filename="ok.txt", content_type="text/plain")
        assert just_right.status_code == 201, just_right.text
        assert len(files_under(directory)) == 1


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


async def test_a_200_mb_upload_streams_with_flat_memory(stack, intake):
    """Measured in this process, which serves intake (uvicorn in the same event loop) and also runs the
    client: tracemalloc's peak of traced Python allocations above the level before the upload, and the
    resident set size sampled every 20 ms during the upload above the RSS before it."""
    owner = await stack.new_institution()
    total = 200 * MB
    chunk = 1 * MB
    expected = hashlib.sha256()

    async def body() -> AsyncIterator[bytes]:
        pattern = bytes(range(256)) * (chunk // 256)
        for index in range(total // chunk):
            piece = index.to_bytes(8, "big") + pattern[8:]
            expected.update(piece)
            yield piece

    async with await client(stack, intake, owner) as api:
        api.timeout = httpx.Timeout(300)
        complaint_id = await new_complaint(stack, api, owner.institution_id)
        rss_before, rss_peak = rss_bytes(), rss_bytes()
        sampling = True

        async def sample() -> None:
            nonlocal rss_peak
            while sampling:
                rss_peak = max(rss_peak, rss_bytes())
                await asyncio.sleep(0.02)

        sampler = asyncio.create_task(sample())
        tracemalloc.start()
        try:
            baseline = tracemalloc.get_traced_memory()[0]
            started = time.monotonic()
            received = await upload(api, complaint_id, body(), filename="video.mp4",
                                    content_type="video/mp4", headers={"Content-Length": str(total)})
            seconds = time.monotonic() - started
            traced_peak = tracemalloc.get_traced_memory()[1] - baseline
        finally:
            tracemalloc.stop()
            sampling = False
            await sampler
        assert received.status_code == 201, received.text
        print(f"\n200 MB upload through HTTP: {seconds:.1f} s; traced peak +{traced_peak / 1e6:.1f} MB; "
              f"RSS peak +{(rss_peak - rss_before) / 1e6:.1f} MB (before {rss_before / 1e6:.0f} MB)")
        assert received.json()["sha256"] == expected.hexdigest() and received.json()["size"] == total
        assert traced_peak < 32_000_000
        assert rss_peak - rss_before < 64_000_000


async def test_a_disclosed_file_reaches_its_recipient_without_metadata_until_consent_is_withdrawn(stack, intake):
    owner, recipient = await stack.new_institution(), await stack.new_institution(kind="ngo")
    photo = photo_with_gps()
    async with await client(stack, intake, owner) as api, await client(stack, intake, recipient) as them:
        complaint_id = await new_complaint(stack, api, owner.institution_id)
        item = (await upload(api, complaint_id, photo, filename="IMG_0002.jpg", content_type="image/jpeg")).json()
        consent = (await api.post(f"/v1/complaints/{complaint_id}/consents", json={
            "status": "given", "purposes": ["legal_aid"], "categories": ["evidence"], "channel": "written",
            "recipient": {"type": "institution", "value": recipient.institution_id}})).json()
        grant = (await api.post(f"/v1/complaints/{complaint_id}/disclosures", json={
            "recipient_institution_id": recipient.institution_id, "recipient_kind": "ngo", "purpose": "legal_aid",
            "categories": ["evidence"]})).json()
        packet = (await them.get(f"/v1/disclosures/{grant['grant_id']}", headers=PURPOSE)).json()
        listed = packet["data"]["evidence"]["items"]
        assert [(f["id"], f["sha256"], f["filename"]) for f in listed] == [(item["id"], item["sha256"], "IMG_0002.jpg")]

        url = f"/v1/disclosures/{grant['grant_id']}/evidence/{item['id']}"
        first, second = (await them.get(url, headers=PURPOSE)), (await them.get(url, headers=PURPOSE))
        assert first.status_code == 200, first.text
        assert first.content == second.content  # one copy per grant and file
        assert not Image.open(io.BytesIO(first.content)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert b"Maria Lopez" not in first.content
        assert (await api.get(url, headers=PURPOSE)).status_code == 404  # the owner is not the recipient

        chain = (await api.get(f"/v1/complaints/{complaint_id}/evidence/{item['id']}/custody")).json()
        shared = [e for e in chain["entries"] if e["action"] == "shared"]
        assert len(shared) == 1 and shared[0]["details"]["grant_id"] == grant["grant_id"]
        assert shared[0]["actor"]["institution_id"] == recipient.institution_id
        assert shared[0]["details"]["original_sha256"] == item["sha256"]
        assert shared[0]["details"]["copy_sha256"] == hashlib.sha256(first.content).hexdigest()
        copy_chain = (await api.get(f"/v1/complaints/{complaint_id}/evidence/{shared[0]['details']['copy_id']}"
                                    "/custody")).json()
        assert [e["action"] for e in copy_chain["entries"]] == ["stripped_copy_made", "downloaded", "downloaded"]

        await api.post(f"/v1/complaints/{complaint_id}/consents/{consent['id']}/withdrawal", json={"channel": "phone"})
        gone = await them.get(url, headers=PURPOSE)
        assert gone.status_code == 410 and gone.json()["reason"] == "consent_withdrawn"


async def test_erasure_shreds_the_files(stack, intake, evidence_dir):
    owner = await stack.new_institution()
    async with await client(stack, intake, owner) as api:
        complaint_id = await new_complaint(stack, api, owner.institution_id)
        item = (await upload(api, complaint_id, PDF, filename="a.pdf", content_type="application/pdf")).json()
        await erase_key(stack, owner.institution_id, complaint_id)
        erased = await api.get(f"/v1/complaints/{complaint_id}/evidence/{item['id']}/content", headers=PURPOSE)
        assert erased.status_code == 410 and erased.json()["type"].endswith("/complaint-erased")
        refused = await upload(api, complaint_id, PDF, filename="b.pdf", content_type="application/pdf")
        assert refused.status_code == 410
        # What the erasure flow calls after destroying the key: the objects go, the custody says so.
        before = len(files_under(evidence_dir))
        database = Database(stack.database_urls["intake"])
        try:
            async with database.transaction() as session:
                deleted = await evidence_service.discard_files(
                    session, intake.app.state.evidence_store, institution_id=InstitutionId(owner.institution_id),
                    complaint_id=complaint_id, now=datetime.now(UTC),
                    actor=CustodyActor(institution_id=owner.institution_id, client_id=owner.client_id))
        finally:
            await database.dispose()
        assert deleted == 1 and len(files_under(evidence_dir)) == before - 1
        chain = (await api.get(f"/v1/complaints/{complaint_id}/evidence/{item['id']}/custody")).json()
        assert [e["action"] for e in chain["entries"]] == ["received", "deleted"] and chain["intact"]


async def test_every_consent_and_evidence_route_answers_404_to_another_institution(stack, intake):
    """Walks intake's OpenAPI document: every route of consent, disclosures and evidence is called by a
    third institution holding every scope, with valid parameters naming the owner's real records."""
    owner, recipient, stranger = (await stack.new_institution(), await stack.new_institution(kind="nhri"),
                                  await stack.new_institution())
    async with await client(stack, intake, owner) as api:
        complaint_id = await new_complaint(stack, api, owner.institution_id)
        consent = (await api.post(f"/v1/complaints/{complaint_id}/consents", json={
            "status": "given", "purposes": ["investigate"], "categories": ["narrative", "evidence"],
            "channel": "written", "recipient": {"type": "institution", "value": recipient.institution_id}})).json()
        grant = (await api.post(f"/v1/complaints/{complaint_id}/disclosures", json={
            "recipient_institution_id": recipient.institution_id, "recipient_kind": "nhri",
            "purpose": "investigate", "categories": ["narrative"]})).json()
        item = (await upload(api, complaint_id, PDF, filename="a.pdf", content_type="application/pdf")).json()
        spec = (await api.get("/openapi.json")).json()

    ids = {"complaint_id": complaint_id, "consent_id": consent["id"], "grant_id": grant["grant_id"],
           "evidence_id": item["id"]}
    bodies = {
        ("post", "/v1/complaints/{complaint_id}/consents"): {"json": {
            "status": "given", "purposes": ["investigate"], "categories": ["identity"], "channel": "written",
            "recipient": {"type": "institution_kind", "value": "ngo"}}},
        ("post", "/v1/complaints/{complaint_id}/consents/{consent_id}/withdrawal"): {"json": {"channel": "phone"}},
        ("get", "/v1/complaints/{complaint_id}/consent-check"): {"params": {
            "recipient": recipient.institution_id, "recipient_kind": "nhri", "purpose": "investigate",
            "category": "narrative"}},
        ("post", "/v1/complaints/{complaint_id}/disclosures"): {"json": {
            "recipient_institution_id": recipient.institution_id, "recipient_kind": "nhri",
            "purpose": "investigate", "categories": ["narrative"]}},
        ("post", "/v1/complaints/{complaint_id}/evidence"): {
            "content": PDF, "params": {"filename": "b.pdf"}, "headers": {"Content-Type": "application/pdf"}},
        ("post", "/v1/complaints/{complaint_id}/evidence/{evidence_id}/shared-copies"): {"json": {
            "recipient_type": "institution", "recipient": recipient.institution_id, "recipient_kind": "nhri",
            "purpose": "investigate"}},
    }
    mine = ("/consents", "/consent-check", "/disclosures", "/evidence")
    walked = []
    async with await client(stack, intake, stranger) as other:
        for path, operations in spec["paths"].items():
            # The public channel's routes take a receipt code, not a token: its own tests cover them.
            if not any(part in path for part in mine) or path.startswith("/v1/public/"):
                continue
            for method in operations:
                request = dict(bodies.get((method, path), {}))
                request["headers"] = PURPOSE | request.get("headers", {})
                answer = await other.request(method.upper(), path.format(**ids), **request)
                assert answer.status_code == 404, (method, path, answer.status_code, answer.text)
                leaked = json.dumps({k: v for k, v in answer.json().items() if k != "instance"})
                assert complaint_id not in leaked and "Amina" not in leaked
                walked.append((method, path))
    assert len(walked) == 15, walked
    assert set(bodies) <= set(walked)
    # Nothing changed for the owner: no consent, withdrawal, disclosure, copy or file was added.
    assert await count(stack, "consent_record", complaint_id=complaint_id) == 1
    assert await count(stack, "disclosure", complaint_id=complaint_id) == 1
    assert await count(stack, "evidence_item", owner_id=complaint_id) == 1
