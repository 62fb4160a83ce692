"""``python -m comitas_referral.receipts verify``: a chain checked offline from files (the receipts
endpoint's answer and a JWKS), every kind of break found, and the exit status telling which."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_referral_receipts_domain import chain, jwks, new_key

from comitas_referral.receipts import domain
from comitas_referral.receipts.__main__ import main

ROOT = Path(__file__).resolve().parents[3]


def document(receipts: list[str], *, head: domain.Head | None, jwks_uri: str | None = None) -> dict[str, object]:
    """What GET /v1/referrals/{id}/receipts answers (only what the command reads)."""
    return {"referral_id": "ref-1", "issuer": "https://referral.comitas.test", "jwks_uri": jwks_uri,
            "head": {"sequence": head.sequence, "hash": head.hash} if head else None,
            "receipts": [{"sequence": i, "jws": r} for i, r in enumerate(receipts, start=1)]}


@pytest.fixture
def files(tmp_path: Path):
    old, new = new_key(), new_key()
    receipts = chain([old, old, new, new])
    head = domain.Head(4, domain.receipt_hash(receipts[-1]))
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(jwks(new, old)))

    def write(changed: list[str], *, with_head: domain.Head | None = head) -> Path:
        path = tmp_path / "chain.json"
        path.write_text(json.dumps(document(changed, head=with_head, jwks_uri=str(keys))))
        return path

    return receipts, head, keys, write


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(["verify", *args])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def test_an_intact_chain_across_a_rotation_verifies(files, capsys):
    receipts, head, keys, write = files
    status, out = run(capsys, str(write(receipts)))
    assert status == 0, out
    assert "ref-1: 4 receipts, intact" in out and f"head 4:{head.hash} matches" in out


def test_an_altered_receipt_fails(files, capsys):
    receipts, _, keys, write = files
    header, payload, signature = receipts[2].split(".")
    claims = dict(domain.unverified_claims(receipts[2]))
    claims["transition"] = "declined"
    forged = base64.urlsafe_b64encode(domain.canonical_json(claims)).decode().rstrip("=")
    receipts = [*receipts[:2], ".".join([header, forged, signature]), receipts[3]]
    status, out = run(capsys, str(write(receipts)))
    assert status == 1
    assert "first bad receipt: 3" in out and "[altered]" in out


def test_a_receipt_removed_from_the_middle_fails(files, capsys):
    receipts, _, keys, write = files
    status, out = run(capsys, str(write([receipts[0], receipts[2], receipts[3]])), "--jwks", str(keys))
    assert status == 1
    assert "[missing-or-reordered]" in out and "[broken-link]" in out


def test_the_last_receipt_removed_fails_against_the_head(files, capsys):
    receipts, head, keys, write = files
    # The document's own head (from the referral) shows the cut ...
    status, out = run(capsys, str(write(receipts[:-1])))
    assert status == 1 and "[truncated]" in out
    # ... and so does a head from an event, when the document's head was cut along with the chain.
    cut_both = write(receipts[:-1], with_head=domain.Head(3, domain.receipt_hash(receipts[2])))
    assert run(capsys, str(cut_both))[0] == 0
    status, out = run(capsys, str(cut_both), "--head", f"{head.sequence}:{head.hash}")
    assert status == 1 and "[truncated]" in out


def test_reordered_receipts_fail(files, capsys):
    receipts, _, keys, write = files
    status, out = run(capsys, str(write([receipts[0], receipts[2], receipts[1], receipts[3]])))
    assert status == 1 and "first bad receipt: 2" in out


def test_a_key_missing_from_the_jwks_fails(files, capsys, tmp_path):
    receipts, _, keys, write = files
    only_new = tmp_path / "pruned.json"
    published = json.loads(keys.read_text())
    only_new.write_text(json.dumps({"keys": published["keys"][:1]}))
    status, out = run(capsys, str(write(receipts)), "--jwks", str(only_new))
    assert status == 1 and "[unknown-key]" in out


def test_one_jws_per_line_with_a_head_also_works(files, capsys, tmp_path):
    receipts, head, keys, _ = files
    lines = tmp_path / "chain.txt"
    lines.write_text("\n".join(receipts) + "\n")
    status, out = run(capsys, str(lines), "--jwks", str(keys), "--head", f"{head.sequence}:{head.hash}")
    assert status == 0, out


def test_unreadable_input_is_exit_status_2(files, capsys, tmp_path):
    receipts, _, keys, write = files
    assert run(capsys, str(tmp_path / "absent.json"), "--jwks", str(keys))[0] == 2
    no_keys = tmp_path / "nokeys.json"
    no_keys.write_text(json.dumps({"receipts": receipts}))
    status, out = run(capsys, str(no_keys))
    assert status == 2 and "--jwks" in out
    assert run(capsys, str(write(receipts)), "--head", "4:nothex")[0] == 2


def test_the_module_runs_as_a_command(files):
    receipts, head, keys, write = files
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "services" / "referral"),
                                                        os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "comitas_referral.receipts", "verify", str(write(receipts[:2]))],
                          capture_output=True, text=True, timeout=120, env=env, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "[truncated]" in done.stdout
