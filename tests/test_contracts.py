"""The published contracts stay in step with the code: event schemas, AsyncAPI, the README's tables."""

from __future__ import annotations

from pathlib import Path

from comitas_shared.events.catalogue import CATALOGUE
from comitas_shared.events.export import render
from comitas_shared.scopes import SCOPES

ROOT = Path(__file__).resolve().parent.parent


def test_exported_event_schemas_are_current():
    for name, text in render().items():
        path = ROOT / "docs" / "events" / name
        assert path.exists() and path.read_text() == text, f"{path} is stale: run `make schemas`"


def test_every_event_type_is_documented_and_follows_the_naming_rule():
    for type_, entry in CATALOGUE.items():
        assert type_.startswith("comitas.") and type_.count(".") >= 2
        assert entry.doc, f"{type_} needs a docstring saying when it is sent and who consumes it"
        assert entry.subject == "events." + type_.removeprefix("comitas.")


def test_readme_lists_every_scope_and_event():
    readme = (ROOT / "README.md").read_text()
    for scope in SCOPES:
        assert f"`{scope}`" in readme, f"README does not list the scope {scope}"
    for type_ in CATALOGUE:
        assert f"`{type_}`" in readme, f"README does not list the event {type_}"
