"""Writes the catalogue's JSON Schemas and AsyncAPI document: ``python -m comitas_shared.events.export docs/events``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .catalogue import asyncapi_document, json_schemas


def render() -> dict[str, str]:
    files = {f"schemas/{t}.json": json.dumps(s, indent=2, sort_keys=True) + "\n" for t, s in json_schemas().items()}
    files["asyncapi.json"] = json.dumps(asyncapi_document(), indent=2, sort_keys=True) + "\n"
    return files


def write(directory: Path) -> None:
    for name, text in render().items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    known = {directory / n for n in render()}
    for stale in (directory / "schemas").glob("*.json"):
        if stale not in known:
            stale.unlink()


if __name__ == "__main__":
    write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/events"))
