"""``comitas-dev run`` as a developer runs it: a real process tree (NATS and one uvicorn per service) on
ports of its own and a temporary var directory, driven only through its output, files, HTTP and signals."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from datetime import date, datetime
from pathlib import Path

import httpx
import pytest

import comitas_devstack as devstack
from comitas_shared.testing import free_ports

# Real processes start here (imports, migrations, NATS): minutes on a loaded 2-core machine.
pytestmark = pytest.mark.timeout(600)

STARTED_WITHIN = 150.0  # generous: start-up imports every service, slow on a loaded 2-core machine
STOPPED_WITHIN = 20.0
CHROMIUM = "/usr/bin/chromium"  # Debian's, driven by path: nothing is downloaded


class DevStackProcess:
    """One ``comitas-dev run``, its output collected line by line."""

    def __init__(self, var: Path, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.process = subprocess.Popen(
            [str(Path(sys.prefix) / "bin" / "comitas-dev"), "run", "--var-dir", str(var)], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.strip() == devstack.READY_LINE:
                self.ready.set()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTED_WITHIN
        while not self.ready.wait(0.2):
            assert self.process.poll() is None, f"comitas-dev exited during start-up:\n{self.output}"
            assert time.monotonic() < deadline, f"not ready after {STARTED_WITHIN} s:\n{self.output}"

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=STOPPED_WITHIN)
        self.reader.join(timeout=5)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()  # its children get SIGTERM from the kernel (PR_SET_PDEATHSIG)
            self.process.wait()


@pytest.fixture
def dev_env() -> tuple[dict[str, str], dict[str, int]]:
    """Ports of its own for every part, so a developer's running stack (8000..., 14222) is left alone."""
    names = [*(s.name for s in devstack.SERVICES), "nats"]
    ports = dict(zip(names, free_ports(len(names)), strict=True))  # distinct (consecutive free_port() may repeat)
    env = {key: value for key, value in os.environ.items() if not key.startswith("COMITAS_")}
    env.update({f"COMITAS_DEV_{name.upper()}_PORT": str(port) for name, port in ports.items()})
    return env, ports


def assert_private(var: Path) -> None:
    """Nothing under var/ (databases and their WAL files, NATS store, logs, keys) is open to group or others."""
    seen = 0
    for root, dirs, files in os.walk(var):
        for path in [Path(root), *(Path(root) / name for name in [*dirs, *files])]:
            mode = stat.S_IMODE(path.lstat().st_mode)
            assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
            seen += 1
    assert seen > 10  # the databases, the NATS store and the logs were all looked at


def printed_officer(output: str, portal: str, institution: str) -> tuple[str, str]:
    """The e-mail address and password the banner prints for ``institution``'s liaison officer, in its
    "Liaison officers (sign in at <portal>)" table."""
    heading = f"Liaison officers (sign in at {portal}):"
    assert heading in output, output
    table = output.split(heading, 1)[1].split("\n\n", 1)[0]
    found = re.search(rf"^ +{re.escape(institution)} +(\S+@\S+) +(\S+)$", table, re.MULTILINE)
    assert found, table
    return found.group(1), found.group(2)


async def today_in_chromium(portal: str, email: str, password: str) -> dict[str, object]:
    """Opens the portal's URL in Chromium as a person would, signs in through identity's form with the
    printed credentials, and reads what *Today* shows."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                   args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            page = await (await browser.new_context(locale="en-GB")).new_page()
            await page.goto(f"{portal}/")
            async with page.expect_navigation():
                await page.get_by_role("link", name="Sign in").click()
            await page.get_by_label("E-mail address").fill(email)
            await page.get_by_label("Password").fill(password)
            async with page.expect_navigation(url=f"{portal}/"):
                await page.get_by_role("button", name="Sign in").click()
            waiting = page.locator("#referrals li a")
            # The referral's acknowledgement deadline reaches notifications through NATS after the referral
            # was sent: Today shows it when it is there, without a reload (server-sent events).
            deadline = page.locator("#deadlines tbody tr")
            await deadline.first.wait_for(timeout=30_000)
            return {"url": page.url, "title": await page.title(),
                    "heading": await page.locator("h1").inner_text(),
                    "today": await page.locator("h1 .sub").inner_text(),
                    "header": await page.locator("header").inner_text(),
                    "waiting": [(await link.inner_text(), await link.get_attribute("href"))
                                for link in await waiting.all()],
                    "states": await page.locator("#referrals li .tag").all_inner_texts(),
                    "deadlines": [[await cell.inner_text() for cell in await row.locator("td").all()]
                                  for row in await deadline.all()],
                    "deadline_tags": await deadline.locator(".tag").all_inner_texts(),
                    "deadline_links": [await link.get_attribute("href") for link in await deadline.locator("a").all()]}
        finally:
            await browser.close()


def _token(http: httpx.Client, identity: str, client_id: str, secret: str, scope: str) -> str:
    answer = http.post(f"{identity}/oauth/token", data={"grant_type": "client_credentials", "scope": scope},
                       auth=(client_id, secret))
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def test_run_serves_the_stack_stops_on_ctrl_c_and_keeps_its_data(
        tmp_path: Path, dev_env: tuple[dict[str, str], dict[str, int]]) -> None:
    """``make run`` (``comitas-dev run``) serves every service, prints the demo credentials and seeds the demo
    cases; the web client's URL and the ombudsperson's liaison officer's e-mail and password are printed,
    and opening that URL in Chromium and signing in with them shows *Today* with the commission's referral
    waiting and its acknowledgement deadline (issue 13, item 6). Ctrl-C stops everything; a second run
    keeps the data and seeds nothing again."""
    env, ports = dev_env
    var = tmp_path / "var"
    started = [s.name for s in devstack.SERVICES if s.available]
    assert {"identity", "intake", "notifications"} <= set(started)
    identity, intake = f"http://127.0.0.1:{ports['identity']}", f"http://127.0.0.1:{ports['intake']}"

    # What an earlier run, from before the launcher kept var/ private, left readable by everyone.
    (var / "log").mkdir(parents=True, mode=0o755)
    var.chmod(0o755)
    (var / "log" / "intake.log").write_text("an old line\n")
    (var / "log" / "intake.log").chmod(0o644)

    first = DevStackProcess(var, env)
    try:
        first.wait_ready()
        assert_private(var)
        with httpx.Client(timeout=10) as http:
            for name in started:
                assert http.get(f"http://127.0.0.1:{ports[name]}/healthz").status_code == 200, name
            assert devstack.is_listening(ports["nats"])

            credentials = json.loads((var / devstack.CREDENTIALS_FILE).read_text())
            institutions = [e for e in credentials["institutions"] if e["kind"] != "platform_service"]
            services = [e for e in credentials["institutions"] if e["kind"] == "platform_service"]
            assert len(institutions) >= 4 and services
            for entry in institutions:
                assert {"id", "name", "kind", "client_id", "client_secret", "scopes"} <= entry.keys()
                assert entry["client_secret"], entry
                assert "complaints:submit" in entry["scopes"] and "admin" not in entry["scopes"]
                assert entry["client_secret"] in first.output  # printed, as well as written
            officers = [e["liaison_officer"] for e in institutions if e.get("liaison_officer")]
            assert len(officers) == 2 and all(o["email"] and o["password"] for o in officers)
            assert (var / devstack.CREDENTIALS_FILE).stat().st_mode & 0o077 == 0
            assert (var / devstack.MASTER_KEY_FILE).stat().st_mode & 0o077 == 0
            for url in (f"{identity}/docs", f"{intake}/docs", f"nats://127.0.0.1:{ports['nats']}",
                        f"{identity}/oauth/token", f"{intake}/v1/complaints"):
                assert url in first.output

            demo = institutions[0]
            token = _token(http, identity, demo["client_id"], demo["client_secret"], "complaints:submit")
            submitted = http.post(f"{intake}/v1/complaints", json=devstack.EXAMPLE_COMPLAINT,
                                  headers={"Authorization": f"Bearer {token}"})
            assert submitted.status_code == 201, submitted.text
            complaint_id = submitted.json()["id"]

            # The demo cases: the ombudsperson's officer finds a referral waiting for an answer.
            assert "Demo cases: a referral" in first.output, first.output
            seeded = json.loads((var / "demo-cases.json").read_text())
            ombudsperson = next(e for e in institutions if e["id"] == "inst_demo_ombudsperson")
            token = _token(http, identity, ombudsperson["client_id"], ombudsperson["client_secret"], "referrals:read")
            waiting = http.get(f"http://127.0.0.1:{ports['referral']}/v1/referrals/{seeded['referral_id']}",
                               headers={"Authorization": f"Bearer {token}"})
            assert waiting.status_code == 200 and waiting.json()["state"] == "sent", waiting.text

        # `make run`'s promise (issue 13, item 6): the banner gives the web client's URL and the officer's
        # credentials; opening the URL and signing in with them shows Today with that referral waiting.
        portal = f"http://127.0.0.1:{ports['portal']}"
        assert re.search(rf"^ +web client +{re.escape(portal)} ", first.output, re.MULTILINE), first.output
        email, password = printed_officer(first.output, portal, "Demo Ombudsperson Office")
        assert {"email": email, "password": password} == {
            k: ombudsperson["liaison_officer"][k] for k in ("email", "password")}
        assert email == "liaison.officer@ombudsperson.example.org"
        today = asyncio.run(today_in_chromium(portal, email, password))
        assert today["url"] == f"{portal}/" and today["title"] == "Today · Comitas", today
        assert today["heading"].startswith("Today"), today
        assert "Demo Liaison Officer" in today["header"], today
        assert today["waiting"] == [("A referral from Demo Regional Human Rights Commission",
                                     f"/referrals/{seeded['referral_id']}")], today
        assert today["states"] == ["sent"], today
        # With its acknowledgement deadline: the rule, the last day where the recipient counts it, the days left.
        with httpx.Client(timeout=10) as http:
            token = _token(http, identity, ombudsperson["client_id"], ombudsperson["client_secret"], "deadlines:read")
            counted = http.get(f"http://127.0.0.1:{ports['notifications']}/v1/deadlines",
                               params={"case_ref": seeded["referral_id"]},
                               headers={"Authorization": f"Bearer {token}"})
        assert counted.status_code == 200, counted.text
        (acknowledgement,) = counted.json()["items"]
        last_day = date.fromisoformat(acknowledgement["last_day"])
        shown_today = datetime.strptime(today["today"], "%b %d, %Y").date()
        assert today["deadlines"] == [[
            f"Referral {seeded['referral_id'][:8]}: Demo Ombudsperson Office is to acknowledge coming",
            f"{last_day:%b} {last_day.day}, {last_day.year} (Europe/Athens)", str((last_day - shown_today).days),
            "the recipient's acknowledgement period (5 working days), its directory entry"]], today
        assert today["deadline_tags"] == ["coming"], today
        # The deadline's case is a referral: its link opens the referral's page (not a complaint's).
        assert today["deadline_links"] == [f"/referrals/{seeded['referral_id']}"], today
        assert first.interrupt() == 0, first.output
    finally:
        first.kill()
    assert first.output.rstrip().endswith("Stopped."), first.output
    assert_private(var)
    assert not (var / devstack.PIDS_FILE).exists()
    assert "did not stop" not in first.output, first.output
    for port in ports.values():
        assert not devstack.is_listening(port), f"something still listens on {port} after Ctrl-C"
    assert (var / "identity.db").exists() and (var / "nats").is_dir()

    second = DevStackProcess(var, env)
    try:
        second.wait_ready()
        assert json.loads((var / devstack.CREDENTIALS_FILE).read_text()) == credentials
        assert demo["client_secret"] in second.output
        assert "Demo cases" not in second.output  # seeded once
        with httpx.Client(timeout=10) as http:
            token = _token(http, identity, demo["client_id"], demo["client_secret"], "complaints:read")
            kept = http.get(f"{intake}/v1/complaints/{complaint_id}", headers={"Authorization": f"Bearer {token}"})
            assert kept.status_code == 200, kept.text
        assert second.interrupt() == 0, second.output
    finally:
        second.kill()
    assert "did not stop" not in second.output, second.output


def test_a_taken_port_is_refused_before_anything_starts(
        tmp_path: Path, dev_env: tuple[dict[str, str], dict[str, int]]) -> None:
    env, ports = dev_env
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", ports["intake"]))
        taken.listen()
        done = subprocess.run([str(Path(sys.prefix) / "bin" / "comitas-dev"), "run", "--var-dir", str(tmp_path)],
                              check=False, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"intake {ports['intake']}" in done.stderr and "COMITAS_DEV_BASE_PORT" in done.stderr
    assert not devstack.is_listening(ports["nats"])


def test_ports_follow_the_base_port_and_the_per_service_overrides() -> None:
    layout = devstack.Layout.from_env("unused", {"COMITAS_DEV_BASE_PORT": "9000", "COMITAS_DEV_INTAKE_PORT": "9999"})
    assert layout.ports["identity"] == 9000
    assert layout.ports["notifications"] == 9004
    assert layout.ports["portal"] == 9080
    assert layout.ports["intake"] == 9999
    assert layout.ports["nats"] == 15222
    default = devstack.Layout.from_env(None, {})
    assert default.var == Path("var").resolve()
    assert [default.ports[n] for n in ("identity", "intake", "notifications", "portal", "nats")] == [
        8000, 8001, 8004, 8080, 14222]


def test_credentials_never_lose_a_secret_the_seed_no_longer_returns() -> None:
    first_seed = [{"institution_id": "inst_a", "name": "A", "kind": "nhri", "client_id": "a", "client_secret": "s1",
                   "scopes": ["b:x", "a:y"], "liaison_officer": {"email": "o@a.org", "password": "p1"}}]
    later_seed = [{"institution_id": "inst_a", "name": "A (renamed)", "kind": "nhri", "client_id": "a",
                   "client_secret": None, "scopes": ["a:y", "b:x"], "liaison_officer": {"email": "o@a.org",
                                                                                         "password": None}},
                  {"institution_id": "inst_b", "name": "B", "kind": "ngo", "client_id": "b", "client_secret": "s2",
                   "scopes": [], "liaison_officer": None}]
    written = devstack.merge_credentials(None, first_seed)
    merged = devstack.merge_credentials(written, later_seed)
    a, b = merged["institutions"]
    assert (a["id"], a["name"], a["client_secret"], a["scopes"]) == ("inst_a", "A (renamed)", "s1", ["a:y", "b:x"])
    assert a["liaison_officer"] == {"email": "o@a.org", "password": "p1"}
    assert (b["id"], b["client_secret"], b["liaison_officer"]) == ("inst_b", "s2", None)
    # An institution the seed stopped returning keeps its entry rather than losing its secret.
    assert devstack.merge_credentials(written, [])["institutions"] == written["institutions"]
    # With the file lost, what the seed no longer answers is shown as unknown, with what to do.
    layout = devstack.Layout.from_env("unused", {})
    assert "A secret is unknown" not in devstack.format_credentials(merged, layout)
    lost = devstack.format_credentials(devstack.merge_credentials(None, later_seed), layout)
    assert "A secret is unknown" in lost and "comitas-admin" in lost


def test_a_service_killed_with_sigkill_is_restarted_and_serves_again(
        tmp_path: Path, dev_env: tuple[dict[str, str], dict[str, int]]) -> None:
    env, ports = dev_env
    var = tmp_path / "var"
    identity, intake = f"http://127.0.0.1:{ports['identity']}", f"http://127.0.0.1:{ports['intake']}"
    stack = DevStackProcess(var, env)
    try:
        stack.wait_ready()
        pids = json.loads((var / devstack.PIDS_FILE).read_text())
        assert pids["comitas-dev"] == stack.process.pid
        assert (var / devstack.PIDS_FILE).stat().st_mode & 0o077 == 0
        killed = pids["intake"]
        os.kill(killed, signal.SIGKILL)

        deadline = time.monotonic() + STARTED_WITHIN
        while "intake is back" not in stack.output:
            assert stack.process.poll() is None, f"comitas-dev stopped instead of restarting:\n{stack.output}"
            assert time.monotonic() < deadline, f"intake not restarted after {STARTED_WITHIN} s:\n{stack.output}"
            time.sleep(0.1)
        assert "intake exited with -9 (SIGKILL); restarting in 1 s (attempt 2)" in stack.output, stack.output
        restarted = json.loads((var / devstack.PIDS_FILE).read_text())
        assert restarted["intake"] != killed and restarted["identity"] == pids["identity"]
        with httpx.Client(timeout=10) as http:
            assert http.get(f"{intake}/healthz").status_code == 200
            demo = json.loads((var / devstack.CREDENTIALS_FILE).read_text())["institutions"][0]
            token = _token(http, identity, demo["client_id"], demo["client_secret"], "complaints:submit")
            submitted = http.post(f"{intake}/v1/complaints", json=devstack.EXAMPLE_COMPLAINT,
                                  headers={"Authorization": f"Bearer {token}"})
            assert submitted.status_code == 201, submitted.text
        for name in ("identity", "notifications", "nats"):
            assert f"{name} exited" not in stack.output
        assert stack.interrupt() == 0, stack.output
    finally:
        stack.kill()
    assert stack.output.rstrip().endswith("Stopped."), stack.output


def test_crashes_back_off_and_a_service_that_keeps_crashing_gives_up() -> None:
    policy = devstack.CrashPolicy()
    assert [policy.crashed(t) for t in (0.0, 2.0, 5.0, 10.0, 19.0)] == [1, 2, 4, 8, 16]
    assert policy.crashed(36.0) is None  # the sixth crash within 60 s

    spaced = devstack.CrashPolicy()
    # A crash a minute after the last one starts the count afresh: an occasional crash is always restarted.
    assert [spaced.crashed(t) for t in (0.0, 61.0, 122.0, 183.0, 244.0, 305.0, 366.0)] == [1] * 7
    capped = devstack.CrashPolicy(max_crashes=20, max_delay=30)
    assert [capped.crashed(float(t)) for t in range(7)][-2:] == [30, 30]


def test_var_is_made_private_whatever_an_earlier_run_left(tmp_path: Path) -> None:
    var = tmp_path / "var"
    (var / "nats" / "jetstream").mkdir(parents=True)
    for path, mode in ((var, 0o755), (var / "nats", 0o750), (var / "nats" / "jetstream", 0o777)):
        path.chmod(mode)
    (var / "intake.db").write_text("")
    (var / "intake.db").chmod(0o644)
    (var / "run.sh").write_text("")
    (var / "run.sh").chmod(0o755)
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("")
    outside.chmod(0o644)
    (var / "link").symlink_to(outside)
    layout = devstack.Layout.from_env(str(var), {})
    assert len(devstack.secure_var(layout)) == 5
    modes = {p.name: stat.S_IMODE(p.lstat().st_mode) for p in [var, *var.rglob("*")] if not p.is_symlink()}
    assert modes == {"var": 0o700, "nats": 0o700, "jetstream": 0o700, "intake.db": 0o600, "run.sh": 0o700}
    assert devstack.secure_var(layout) == []
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644  # a symlink's target is not var's to change


def test_nothing_in_the_library_or_the_services_imports_the_launcher() -> None:
    """The launcher knows every service; the shared library and the services must know none of it."""
    import ast

    root = Path(__file__).resolve().parent.parent
    for path in [*(root / "shared").rglob("*.py"), *(root / "services").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0] == "comitas_devstack" or n.endswith("devstack") for n in names), path
    assert not (root / "shared" / "comitas_shared" / "devstack.py").exists()
