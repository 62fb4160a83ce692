"""Architecture rules that a reviewer should not have to remember."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / f"comitas_{p.name}").is_dir())


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_no_service_imports_another_service():
    for service in SERVICES:
        others = {f"comitas_{s}" for s in SERVICES if s != service}
        for path in (ROOT / "services" / service / f"comitas_{service}").rglob("*.py"):
            leaked = imported_modules(path) & others
            assert not leaked, f"{path.relative_to(ROOT)} imports {leaked}"


def test_shared_imports_no_service():
    services = {f"comitas_{s}" for s in SERVICES}
    for path in (ROOT / "shared" / "comitas_shared").rglob("*.py"):
        leaked = imported_modules(path) & services
        assert not leaked, f"{path.relative_to(ROOT)} imports {leaked}"


def test_routers_do_not_commit_and_services_do_not_either():
    for path in (ROOT / "services").rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        if path.name in {"router.py", "service.py", "repository.py", "domain.py"}:
            assert ".commit(" not in path.read_text(), f"{path.relative_to(ROOT)} commits: the boundary does"


def test_domain_modules_read_no_clock_and_no_io():
    banned = {"datetime.now(", "datetime.utcnow(", "date.today(", "time.time(", "os.environ", "httpx.", "nats."}
    for path in (ROOT / "services").rglob("domain.py"):
        text = path.read_text()
        hits = [b for b in banned if b in text]
        assert not hits, f"{path.relative_to(ROOT)} uses {hits}: domain functions take an explicit now"


def test_lint_is_clean():
    """ruff with the project's rules (pyproject.toml): imports sorted, no unused names, no blocking calls."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "ruff", "check", "shared", "services", "tests", "benchmarks",
                             "conftest.py"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
