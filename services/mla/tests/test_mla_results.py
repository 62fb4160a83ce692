"""Results returned with a file: stored through the shared evidence store under the request's own key,
its SHA-256 recorded and matching what was sent, a chain of custody, and a download that checks the
hash again (a file altered at rest is refused, nothing served)."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import datetime
from pathlib import Path

from mla_testkit import EIO_REQUEST, act, body, create
from sqlalchemy import select, update

from comitas_mla.results.models import evidence_item
from comitas_shared.db import Database
from comitas_shared.evidence import CustodyEntry, verify_custody
from comitas_shared.evidence.storage import LocalFileStorage

STATEMENTS = ("IBAN;date;amount\n" + "DE00 1234 5678;2024-03-01;10000.00\n" * 400).encode()


async def recognised(authorities):
    fr, de = await authorities.new("FR"), await authorities.new("DE")
    rid = (await create(fr.api, body(EIO_REQUEST, de)))["id"]
    await act(fr.api, rid, "issue")
    await act(de.api, rid, "acknowledge")
    await act(de.api, rid, "recognise")
    return fr, de, rid


async def item_row(stack, item_sha: str):
    database = Database(stack.database_urls["mla"])
    try:
        async with database.transaction() as session:
            return (await session.execute(select(evidence_item).where(evidence_item.c.sha256 == item_sha))).mappings().one()
    finally:
        await database.dispose()


async def test_a_returned_file_keeps_its_hash_its_custody_and_is_checked_again_on_download(stack, authorities) -> None:
    fr, de, rid = await recognised(authorities)
    key = str(uuid.uuid4())
    sent = await de.api.post(f"/v1/requests/{rid}/results", content=STATEMENTS,
                             params={"filename": "Kontoauszüge Weiß.csv", "partial": "false",
                                     "description": "Statements 2024"},
                             headers={"content-type": "text/csv", "Idempotency-Key": key})
    assert sent.status_code == 201, sent.text
    result = sent.json()
    assert result["sha256"] == hashlib.sha256(STATEMENTS).hexdigest() and result["size"] == len(STATEMENTS)
    assert result["filename"] == "Kontoauszüge Weiß.csv" and result["partial"] is False
    assert [e["action"] for e in result["custody"]["entries"]] == ["received"] and result["custody"]["intact"]
    assert result["custody"]["entries"][0]["actor"]["institution_id"] == de.institution_id
    # A retry with the same key is the same answer, and the bytes are not kept twice.
    again = await de.api.post(f"/v1/requests/{rid}/results", content=STATEMENTS,
                              params={"filename": "Kontoauszüge Weiß.csv", "partial": "false",
                                      "description": "Statements 2024"},
                              headers={"content-type": "text/csv", "Idempotency-Key": key})
    assert again.status_code == 201 and again.json()["id"] == result["id"]
    assert len((await fr.api.get(f"/v1/requests/{rid}/results")).json()["items"]) == 1

    # Nothing readable at rest: the object on disk is ciphertext, and the file name in the table is sealed.
    row = await item_row(stack, result["sha256"])
    storage = LocalFileStorage(stack.mla.app.state.settings.evidence_dir)
    at_rest = storage.path_of(row["storage_key"]).read_bytes()
    assert b"DE00 1234 5678" not in at_rest and "Weiß" not in row["filename_sealed"]

    download = await fr.api.get(f"/v1/requests/{rid}/results/{result['id']}/content")
    assert download.status_code == 200 and download.content == STATEMENTS
    assert download.headers["repr-digest"] == f"sha-256=:{base64.b64encode(hashlib.sha256(STATEMENTS).digest()).decode()}:"
    assert download.headers["content-disposition"].startswith("attachment")
    seen = (await fr.api.get(f"/v1/requests/{rid}/results/{result['id']}")).json()
    assert [e["action"] for e in seen["custody"]["entries"]] == ["received", "downloaded"]
    assert seen["custody"]["entries"][1]["actor"]["institution_id"] == fr.institution_id
    assert seen["custody"]["entries"][1]["details"]["verified"] is True
    chain = [CustodyEntry.from_row({**e, "item_id": row["id"], "institution_id": row["institution_id"],
                                    "actor_institution_id": e["actor"]["institution_id"],
                                    "actor_client_id": e["actor"]["client_id"], "actor_user_id": e["actor"]["user_id"],
                                    "actor_act": e["actor"]["act"],
                                    "at": datetime.fromisoformat(e["at"])})
             for e in seen["custody"]["entries"]]
    assert verify_custody(chain).ok and chain[1].prev_hash == chain[0].entry_hash

    # Altered at rest (one byte of ciphertext): the download is refused before a byte is served.
    tampered = bytearray(at_rest)
    tampered[-40] ^= 0x01
    storage.path_of(row["storage_key"]).write_bytes(bytes(tampered))
    refused = await fr.api.get(f"/v1/requests/{rid}/results/{result['id']}/content")
    assert refused.status_code == 500 and refused.json()["type"].endswith("/evidence-integrity-failed")
    assert b"DE00" not in refused.content
    storage.path_of(row["storage_key"]).write_bytes(at_rest)

    # A recorded hash that no longer matches the file (the row altered instead): refused as well.
    database = Database(stack.database_urls["mla"])
    try:
        async with database.transaction() as session:
            await session.execute(update(evidence_item).where(evidence_item.c.id == row["id"])
                                  .values(sha256=hashlib.sha256(b"another file").hexdigest()))
    finally:
        await database.dispose()
    refused = await fr.api.get(f"/v1/requests/{rid}/results/{result['id']}/content")
    assert refused.status_code == 500 and refused.json()["type"].endswith("/evidence-integrity-failed")
    # The failed downloads left no "downloaded" entry: only what was served is recorded.
    final = (await fr.api.get(f"/v1/requests/{rid}/results/{result['id']}")).json()
    assert [e["action"] for e in final["custody"]["entries"]] == ["received", "downloaded"]


async def test_only_the_requested_side_returns_results_and_only_when_it_may(stack, authorities, tmp_path: Path) -> None:
    fr, de = await authorities.new("FR"), await authorities.new("DE")
    rid = (await create(fr.api, body(EIO_REQUEST, de)))["id"]
    await act(fr.api, rid, "issue")
    early = await de.api.post(f"/v1/requests/{rid}/results", content=b"x;1\n")
    assert early.status_code == 409, "a result before recognition"
    await act(de.api, rid, "acknowledge")
    await act(de.api, rid, "recognise")
    assert (await fr.api.post(f"/v1/requests/{rid}/results", content=b"x;1\n")).status_code == 409
    script = await de.api.post(f"/v1/requests/{rid}/results", content=b"#!/bin/sh\nrm -rf /\n", params={"filename": "a.sh"})
    assert script.status_code == 422 and script.json()["type"].endswith("/evidence-type-refused")
    assert (await fr.api.get(f"/v1/requests/{rid}")).json()["state"] == "recognised"
    empty = await de.api.post(f"/v1/requests/{rid}/results", content=b"")
    assert empty.status_code == 422
