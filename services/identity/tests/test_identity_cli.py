"""``comitas-admin`` against a migrated database: once as an operator runs it (a subprocess), the other
commands in-process (each subprocess pays seconds of imports)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from comitas_identity import cli
from comitas_shared import migrations
from comitas_shared.testing import drop_database, fresh_database_url


@pytest.fixture
def url(tmp_path: Path):
    url = fresh_database_url("identity_cli", tmp_path)
    migrations.upgrade("comitas_identity", url)
    yield url
    drop_database(url)


def run(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, object, str]:
    code = cli.main(["--database-url", url, *args])
    out, err = capsys.readouterr()
    return code, json.loads(out) if code == 0 else None, err


def test_the_cli_as_a_process(url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMITAS_")}
    env["COMITAS_IDENTITY_DATABASE_URL"] = url
    output = tmp_path / "var" / "demo-credentials.json"
    done = subprocess.run(
        [sys.executable, "-m", "comitas_identity.cli", "seed-demo", "--output", str(output)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    seeded = json.loads(done.stdout)
    assert json.loads(output.read_text()) == seeded
    assert oct(output.stat().st_mode & 0o777) == "0o600"
    assert all(entry["client_secret"] for entry in seeded)


def test_cli_commands(url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, institution, _ = run(
        capsys,
        url,
        "institution",
        "add",
        "--name",
        "Human Rights Commission",
        "--kind",
        "nhri",
        "--country",
        "IE",
    )
    assert code == 0
    institution_id = institution["institution_id"]  # type: ignore[index]
    code, client, _ = run(
        capsys,
        url,
        "client",
        "add",
        "--institution",
        institution_id,
        "--name",
        "case system",
        "--scope",
        "complaints:read complaints:submit",
        "--scope",
        "directory:read",
    )
    assert code == 0 and client["client_secret"]  # type: ignore[index]
    granted = client["scopes"]  # type: ignore[index]
    assert granted == ["complaints:read", "complaints:submit", "directory:read"]
    code, user, _ = run(
        capsys,
        url,
        "user",
        "add",
        "--institution",
        institution_id,
        "--email",
        "liaison@example.org",
        "--name",
        "Liaison",
        "--scope",
        "complaints:read",
    )
    assert code == 0
    assert user["user_id"].startswith("usr_") and len(user["password"]) >= 12  # type: ignore[index]

    first = run(capsys, url, "key", "rotate")[1]["kid"]  # type: ignore[index]
    second = run(capsys, url, "key", "rotate")[1]["kid"]  # type: ignore[index]
    # "--": a key id is an RFC 7638 thumbprint, base64url, and may begin with "-" (argparse: an option).
    code, _, err = run(capsys, url, "key", "retire", "--", second)
    assert code == 2 and "active" in err
    assert run(capsys, url, "key", "retire", "--", first)[:2] == (0, {"retired": first})

    code, _, err = run(
        capsys,
        url,
        "client",
        "add",
        "--institution",
        institution_id,
        "--name",
        "x",
        "--scope",
        "root:everything",
    )
    assert code == 2 and "unknown scopes" in err

    output = tmp_path / "demo.json"
    code, seeded, _ = run(capsys, url, "seed-demo", "--output", str(output))
    assert code == 0 and json.loads(output.read_text()) == seeded
    code, again, _ = run(capsys, url, "seed-demo", "--output", str(output))
    assert code == 0 and all(entry["client_secret"] is None for entry in again)  # type: ignore[union-attr]
    assert json.loads(output.read_text()) == seeded  # a run that created nothing leaves the file alone
