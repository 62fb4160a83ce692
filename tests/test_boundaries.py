"""Architecture rules that a reviewer should not have to remember (CONTRIBUTING.md says why)."""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / f"comitas_{p.name}").is_dir())
SERVICE_PACKAGES = {f"comitas_{s}" for s in SERVICES}
# A feature folder may use another feature only through these modules: its public face.
FEATURE_API = {"service", "schemas"}
# Modules at a service package's root that features may use: what the service shares, not a feature.
SERVICE_ROOT_SHARED = {"settings", "models", "deps"}
# The only places a module is loaded by name: the launcher (each service's settings and demo seeding)
# and the migration runner (each service's migrations package).
DYNAMIC_IMPORT_ALLOWED = {"shared/comitas_shared/migrations.py", "devstack/comitas_devstack/stack.py"}


def module_name(path: Path) -> str:
    """``services/intake/comitas_intake/complaints/service.py`` → ``comitas_intake.complaints.service``."""
    relative = path.relative_to(ROOT)
    parts = list(relative.with_suffix("").parts)
    for index, part in enumerate(parts):
        if part.startswith("comitas_"):
            parts = parts[index:]
            break
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, relative imports resolved to absolute names, ``from x import y``
    counted as both ``x`` and ``x.y`` (y may be a submodule)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def top_levels(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def source_files(*roots: str) -> list[Path]:
    files: list[Path] = []
    for root in roots:
        files += [p for p in (ROOT / root).rglob("*.py") if "tests" not in p.relative_to(ROOT).parts]
    return files


def test_relative_imports_are_resolved():
    """The checks below see ``from ..deliveries import repository`` as what it is."""
    path = ROOT / "services/notifications/comitas_notifications/subscriptions/service.py"
    modules = imported_modules(path)
    assert "comitas_notifications.deliveries.service" in modules
    assert "comitas_notifications.subscriptions.repository" in modules


def test_no_service_imports_another_service():
    for service in SERVICES:
        others = SERVICE_PACKAGES - {f"comitas_{service}"}
        for path in (ROOT / "services" / service).rglob("*.py"):
            leaked = top_levels(imported_modules(path)) & others
            assert not leaked, f"{path.relative_to(ROOT)} imports {leaked}"


def test_shared_imports_no_service():
    for path in (ROOT / "shared" / "comitas_shared").rglob("*.py"):
        leaked = top_levels(imported_modules(path)) & SERVICE_PACKAGES
        assert not leaked, f"{path.relative_to(ROOT)} imports {leaked}"


def test_shared_does_not_import_the_launcher():
    for path in (ROOT / "shared" / "comitas_shared").rglob("*.py"):
        assert "comitas_devstack" not in top_levels(imported_modules(path)), path


@dataclass(frozen=True)
class Feature:
    service: str
    name: str

    @property
    def package(self) -> str:
        return f"comitas_{self.service}.{self.name}"

    @property
    def folder(self) -> Path:
        return ROOT / "services" / self.service / f"comitas_{self.service}" / self.name

    def has_submodule(self, name: str) -> bool:
        return (self.folder / f"{name}.py").is_file() or (self.folder / name / "__init__.py").is_file()


def features() -> list[Feature]:
    found = []
    for service in SERVICES:
        package = ROOT / "services" / service / f"comitas_{service}"
        for folder in sorted(package.iterdir()):
            if folder.is_dir() and (folder / "__init__.py").exists() and folder.name != "migrations":
                found.append(Feature(service, folder.name))
    return found


def feature_violations(path: Path, feature: Feature, siblings: list[Feature]) -> list[str]:
    """A feature with a ``service.py`` is used through its ``service`` and ``schemas``; a pure domain
    library with none (intake's ``admissibility``) through its package's own exports (``__init__``)."""
    problems = []
    root = f"comitas_{feature.service}"
    for module in imported_modules(path):
        parts = module.split(".")
        if parts[0] != root or len(parts) < 2:
            continue
        if parts[1] == "main":
            problems.append(f"imports the composition root {module}")
        other = next((f for f in siblings if f.name == parts[1] and f != feature), None)
        if other is None or len(parts) < 3 or not other.has_submodule(parts[2]):
            continue
        allowed = FEATURE_API if other.has_submodule("service") else set()
        if parts[2] not in allowed:
            hint = f"{other.package}.service or .schemas" if allowed else f"what {other.package} exports"
            problems.append(f"reaches into {module} (use {hint})")
    return problems


def test_features_use_other_features_only_through_service_and_schemas():
    for feature in features():
        siblings = [f for f in features() if f.service == feature.service]
        folder = ROOT / "services" / feature.service / f"comitas_{feature.service}" / feature.name
        for path in folder.rglob("*.py"):
            problems = feature_violations(path, feature, siblings)
            assert not problems, f"{path.relative_to(ROOT)}: {problems}"


def test_the_feature_rule_catches_a_repository_import(tmp_path):
    """The rule above can fail: a subscriptions module importing deliveries' repository is caught."""
    folder = ROOT / "services/notifications/comitas_notifications/subscriptions"
    probe = folder / "_probe_boundary.py"
    probe.write_text("from ..deliveries import repository\nfrom .. import main\n")
    try:
        feature = Feature("notifications", "subscriptions")
        siblings = [f for f in features() if f.service == "notifications"]
        problems = feature_violations(probe, feature, siblings)
    finally:
        probe.unlink()
    assert any("deliveries.repository" in p for p in problems)
    assert any("composition root" in p for p in problems)


def test_one_deps_module_per_service():
    for service in SERVICES:
        package = ROOT / "services" / service / f"comitas_{service}"
        assert (package / "deps.py").is_file(), f"{service} has no deps.py"
        for legacy in ("dependencies.py", "runtime.py"):
            assert not (package / legacy).exists(), f"{service}/{legacy}: what hangs on the app goes in deps.py"


def dynamic_imports(path: Path) -> list[str]:
    """Calls of importlib.import_module or __import__, however they were imported or aliased."""
    tree = ast.parse(path.read_text(), filename=str(path))
    importlib_names = {"importlib"}
    loader_names = {"__import__"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "importlib":
                    importlib_names.add(alias.asname or alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module == "importlib":
            for alias in node.names:
                if alias.name == "import_module":
                    loader_names.add(alias.asname or alias.name)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in loader_names:
            found.append(f"{func.id}() at line {node.lineno}")
        elif (isinstance(func, ast.Attribute) and func.attr == "import_module"
              and isinstance(func.value, ast.Name) and func.value.id in importlib_names):
            found.append(f"{func.value.id}.import_module() at line {node.lineno}")
    return found


def test_no_dynamic_imports_outside_the_allow_list():
    for path in source_files("shared", "services", "devstack"):
        relative = path.relative_to(ROOT).as_posix()
        if relative in DYNAMIC_IMPORT_ALLOWED:
            continue
        assert not dynamic_imports(path), f"{relative}: {dynamic_imports(path)}"


def test_the_dynamic_import_rule_catches_aliases(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import importlib as il\nfrom importlib import import_module as load\n"
                     "il.import_module('comitas_intake')\nload('comitas_intake')\n__import__('x')\n")
    assert len(dynamic_imports(probe)) == 3


def test_routers_do_not_commit_and_services_do_not_either():
    for path in (ROOT / "services").rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        if path.name in {"router.py", "service.py", "repository.py", "domain.py"}:
            assert ".commit(" not in path.read_text(), f"{path.relative_to(ROOT)} commits: the boundary does"


def test_domain_modules_do_no_io():
    banned = {"os.environ", "httpx", "nats", "sqlalchemy", "fastapi"}
    for path in (ROOT / "services").rglob("domain.py"):
        leaked = top_levels(imported_modules(path)) & banned
        assert not leaked, f"{path.relative_to(ROOT)} imports {leaked}: domain functions are pure"
        assert "os.environ" not in path.read_text(), path


def ruff(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ruff", "check", *args], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, check=False)


def test_lint_is_clean():
    """ruff with the project's rules (pyproject.toml): imports sorted, no unused names, no blocking calls,
    the banned APIs below."""
    result = ruff("shared", "services", "tests", "benchmarks", "conftest.py", *(["devstack"] if (ROOT / "devstack").is_dir() else []))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.timeout(900)
def test_types_are_clean():
    """mypy, strict on the shared library and every domain module (its file list is in pyproject.toml).
    A clean checkout has no mypy cache: a cold run on a busy machine took over the suite's 120 s."""
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("snippet", "banned"), [
    ("from datetime import datetime as dt, UTC\nprint(dt.now(UTC))\n", "datetime.datetime.now"),
    ("import datetime as d\nprint(d.datetime.now())\n", "datetime.datetime.now"),
    ("from datetime import date\nprint(date.today())\n", "datetime.date.today"),
    ("from time import time as wall\nprint(wall())\n", "time.time"),
    ("import time as t\nprint(t.time())\n", "time.time"),
    ("import random as r\nprint(r.random())\n", "random"),
    ("from random import choice\nprint(choice([1]))\n", "random"),
    ("from secrets import token_hex as th\nprint(th())\n", "secrets"),
    ("from os import urandom as u\nprint(u(4))\n", "os.urandom"),
    ("from importlib import import_module as im\nim('x')\n", "importlib.import_module"),
])
def test_banned_apis_are_caught_also_when_aliased(snippet, banned):
    """ruff's TID251 resolves aliases, which a grep would miss. The snippet is checked as if it were a
    service module; the same snippet in the allowed files passes."""
    result = ruff("--stdin-filename", "services/intake/comitas_intake/complaints/probe.py", "-", stdin=snippet)
    assert result.returncode != 0 and f"`{banned}` is banned" in result.stdout, result.stdout
    allowed = ruff("--stdin-filename", "shared/comitas_shared/clock.py", "-", stdin=snippet)
    assert "TID251" not in allowed.stdout, allowed.stdout
