"""The browser code the portal serves is exactly what the npm registry published: each vendored file's
SHA-256 is the one recorded in VENDORED.json (with the tarball it came from), htmx is 2.0.x, and the pages
configure htmx without eval and without injected styles (no hx-on anywhere)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "comitas_portal"
VENDOR = PACKAGE / "static" / "vendor"


def test_vendored_files_match_their_recorded_hashes():
    record = json.loads((VENDOR / "VENDORED.json").read_text())["files"]
    assert set(record) == {p.name for p in VENDOR.glob("*.js")}
    for name, entry in record.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == entry["sha256"], name
        assert entry["version"] in name and entry["tarball"].startswith("https://registry.npmjs.org/")
    assert record["htmx-2.0.11.min.js"]["version"].startswith("2.0.")


def test_templates_configure_htmx_safely():
    from comitas_portal.web import HTMX_CONFIG

    config = json.loads(HTMX_CONFIG)
    assert config["includeIndicatorStyles"] is False and config["allowEval"] is False
    for template in (PACKAGE / "templates").glob("*.html"):
        text = template.read_text()
        assert not re.search(r"\bhx-on", text), template.name
        assert not re.search(r"\sstyle=", text), template.name
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), f"{template.name}: inline script"
