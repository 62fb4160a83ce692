"""Writes the catalogue's JSON Schemas and AsyncAPI document: ``python -m comitas_shared.events.export docs/events``.

Two shapes of the same schemas, because the two documents resolve references differently:

- each ``schemas/<type>.json`` is a standalone JSON Schema (2020-12): it names its dialect (``$schema``)
  and itself (``$id``), and keeps its nested models under its own ``$defs``;
- in ``asyncapi.json`` every schema, payloads and nested models alike, is one entry of
  ``components/schemas`` and references point there. A ``#/$defs/...`` reference inside a message would
  resolve against the AsyncAPI document's root, where no ``$defs`` exists (the reference parser rejects
  it), and an ``$id`` there would move the base those references resolve against, so neither is copied.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

from .catalogue import asyncapi_document, json_schemas

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# Identifiers, not locations: like the problem types' URIs (https://comitas.dev/problems/...), they
# name a contract whether or not anything is served there.
SCHEMA_ID_BASE = "https://comitas.dev/events/schemas/"
COMPONENT_REF = "#/components/schemas/"
LOCAL_DEFS_REF = "#/$defs/"
HEADERS_COMPONENT = "CloudEventsNatsHeaders"


def schema_id(event_type: str) -> str:
    return f"{SCHEMA_ID_BASE}{event_type}.json"


def event_schema(event_type: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The standalone JSON Schema of one event type's ``data``."""
    return {"$schema": JSON_SCHEMA_DIALECT, "$id": schema_id(event_type), **schema}


def nats_headers_schema() -> dict[str, Any]:
    """The headers of an event on NATS: CloudEvents binary mode (NATS protocol binding 1.0.3 draft,
    see ADR 0032) plus what NATS and OpenTelemetry read."""
    text = {"type": "string"}
    properties: dict[str, Any] = {
        "ce-id": {**text, "description": "Event id (UUIDv7); also the Nats-Msg-Id and the webhook-id."},
        "ce-source": {**text, "description": "The producing service, `/comitas/<service>`."},
        "ce-type": {**text, "description": "`comitas.<context>.<event>`."},
        "ce-specversion": {"type": "string", "const": "1.0"},
        "ce-time": {**text, "format": "date-time", "description": "When it happened (RFC 3339, UTC)."},
        "ce-subject": {**text, "description": "The id of the record the event is about."},
        "ce-datacontenttype": {"type": "string", "const": "application/json"},
        "ce-institutionid": {**text, "description": "Extension: the institution that owns the record."},
        "ce-concerns": {**text, "description": "Extension, internal: comma-separated ids of every institution "
                                               "the event concerns (never on webhooks)."},
        "ce-traceparent": {**text, "description": "Extension (CloudEvents Distributed Tracing): W3C trace "
                                                  "context of the request that caused the event."},
        "traceparent": {**text, "description": "W3C trace context of this hop (the relay's publish span), "
                                               "for OpenTelemetry."},
        "Nats-Msg-Id": {**text, "description": "= ce-id: JetStream drops a re-published copy."},
    }
    return {
        "type": "object",
        "description": "Attribute values are percent-encoded where the binding requires it (space, `\"`, `%`, "
                       "non-ASCII).",
        "properties": properties,
        "required": ["ce-id", "ce-source", "ce-type", "ce-specversion", "ce-time", "Nats-Msg-Id"],
    }


def _point_at_components(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (COMPONENT_REF + v.removeprefix(LOCAL_DEFS_REF)
                    if k == "$ref" and isinstance(v, str) and v.startswith(LOCAL_DEFS_REF)
                    else _point_at_components(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_point_at_components(v) for v in node]
    return node


def _add_component(components: dict[str, Any], name: str, schema: dict[str, Any], owner: str) -> None:
    if name in components and components[name] != schema:
        # Silently renaming one would change a name code generators already use; a clash is a naming
        # problem in the catalogue, fixed there.
        raise ValueError(f"two different schemas are both called {name!r} (one in {owner}): rename one model")
    components[name] = schema


def hoist(name: str, schema: dict[str, Any], components: dict[str, Any]) -> str:
    """Moves ``schema`` and its nested ``$defs`` into ``components``; returns the reference to use."""
    schema = copy.deepcopy(schema)
    nested = schema.pop("$defs", {})
    for def_name, definition in nested.items():
        _add_component(components, def_name, _point_at_components(definition), name)
    component = str(schema.get("title", name))
    _add_component(components, component, _point_at_components(schema), name)
    return COMPONENT_REF + component


def asyncapi() -> dict[str, Any]:
    document = copy.deepcopy(asyncapi_document())
    components: dict[str, Any] = {HEADERS_COMPONENT: nats_headers_schema()}
    for name, message in sorted(document["components"]["messages"].items()):
        message["payload"] = {"$ref": hoist(name, message["payload"], components)}
        message["headers"] = {"$ref": COMPONENT_REF + HEADERS_COMPONENT}
    document["components"]["schemas"] = dict(sorted(components.items()))
    return document


def _dump(value: dict[str, Any]) -> str:
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def render() -> dict[str, str]:
    files = {f"schemas/{t}.json": _dump(event_schema(t, s)) for t, s in json_schemas().items()}
    files["asyncapi.json"] = _dump(asyncapi())
    return files


def write(directory: Path) -> None:
    rendered = render()
    for name, text in rendered.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    known = {directory / n for n in rendered}
    for stale in (directory / "schemas").glob("*.json"):
        if stale not in known:
            stale.unlink()


if __name__ == "__main__":
    write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/events"))
