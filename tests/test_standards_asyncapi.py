"""The published event contracts pass the standards' own tools: the reference AsyncAPI parser
(``@asyncapi/parser``, pinned in tools/asyncapi) and check-jsonschema's metaschema check."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, ValidationError

from comitas_shared.events.catalogue import CATALOGUE
from comitas_shared.events.export import JSON_SCHEMA_DIALECT, asyncapi, schema_id

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "tools" / "asyncapi"
EVENTS = ROOT / "docs" / "events"


@pytest.fixture(scope="module")
def asyncapi_parser() -> Path:
    """The pinned parser, installed from the committed lock when missing (``npm ci``; a no-op when present)."""
    if not (TOOLS / "node_modules" / "@asyncapi" / "parser").is_dir():
        npm = shutil.which("npm")
        assert npm, "npm is needed to install the AsyncAPI parser (tools/asyncapi)"
        result = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=TOOLS, capture_output=True, text=True,
                                timeout=300, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
    return TOOLS / "validate.mjs"


def parse(script: Path, document: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node, "node is needed to run the AsyncAPI parser"
    return subprocess.run([node, str(script), str(document)], cwd=TOOLS, capture_output=True, text=True,
                          timeout=120, check=False)


def test_the_asyncapi_document_parses_without_errors(asyncapi_parser):
    result = parse(asyncapi_parser, EVENTS / "asyncapi.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert ": error:" not in result.stdout + result.stderr


def test_the_parser_check_catches_a_dangling_reference(asyncapi_parser, tmp_path):
    # The defect this check exists for: a payload pointing into the JSON Schema's own $defs.
    document = asyncapi()
    schemas = document["components"]["schemas"]
    schemas["ComplaintAssessed"]["properties"]["mechanisms"]["items"] = {"$ref": "#/$defs/MechanismSummary"}
    broken = tmp_path / "asyncapi.json"
    broken.write_text(json.dumps(document))
    result = parse(asyncapi_parser, broken)
    assert result.returncode != 0
    assert "#/$defs/MechanismSummary" in result.stderr


def test_every_reference_of_the_asyncapi_document_points_into_its_components():
    text = (EVENTS / "asyncapi.json").read_text()
    document = json.loads(text)
    assert "$defs" not in text and '"$id"' not in text and '"$schema"' not in text

    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in refs(document):
        target = document
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]  # KeyError: a reference to nothing
    headers = document["components"]["schemas"]["CloudEventsNatsHeaders"]["properties"]
    assert {"ce-traceparent", "traceparent", "ce-institutionid"} <= headers.keys()


def test_exported_event_schemas_name_their_dialect_and_themselves():
    files = sorted((EVENTS / "schemas").glob("*.json"))
    assert {f.name.removesuffix(".json") for f in files} == set(CATALOGUE)
    for path in files:
        schema = json.loads(path.read_text())
        assert schema["$schema"] == JSON_SCHEMA_DIALECT
        assert schema["$id"] == schema_id(path.name.removesuffix(".json"))
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--check-metaschema",
                             *map(str, files)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_metaschema_check_catches_an_invalid_schema(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"$schema": JSON_SCHEMA_DIALECT, "$id": schema_id("comitas.bad.schema"),
                               "type": "object", "required": "complaint_id"}))
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--check-metaschema", str(bad)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode != 0


def test_an_exported_schema_validates_a_payload_through_its_nested_definitions():
    schema = json.loads((EVENTS / "schemas" / "comitas.complaint.assessed.json").read_text())
    validator = Draft202012Validator(schema)
    payload = {"complaint_id": "c", "assessment_id": "a", "institution_id": "i", "rules_version": "1",
               "assessed_at": "2026-11-21T09:00:00Z", "mechanisms": [{"mechanism": "echr", "available": "yes"}]}
    validator.validate(payload)
    payload["mechanisms"][0]["available"] = "perhaps"
    with pytest.raises(ValidationError):
        validator.validate(payload)
