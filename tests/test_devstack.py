"""``comitas-dev run`` as a developer runs it: a real process tree (NATS and one uvicorn per service) on
ports of its own and a temporary var directory, driven only through its output, HTTP and signals."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from comitas_shared import devstack
from comitas_shared.testing import free_port

STARTED_WITHIN = 45.0
STOPPED_WITHIN = 20.0


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
    ports = {name: free_port() for name in [*(s.name for s in devstack.SERVICES), "nats"]}
    env = {key: value for key, value in os.environ.items() if not key.startswith("COMITAS_")}
    env.update({f"COMITAS_DEV_{name.upper()}_PORT": str(port) for name, port in ports.items()})
    return env, ports


def _token(http: httpx.Client, identity: str, client_id: str, secret: str, scope: str) -> str:
    answer = http.post(f"{identity}/oauth/token", data={"grant_type": "client_credentials", "scope": scope},
                       auth=(client_id, secret))
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def test_run_serves_the_stack_stops_on_ctrl_c_and_keeps_its_data(
        tmp_path: Path, dev_env: tuple[dict[str, str], dict[str, int]]) -> None:
    env, ports = dev_env
    var = tmp_path / "var"
    started = [s.name for s in devstack.SERVICES if s.available]
    assert {"identity", "intake", "notifications"} <= set(started)
    identity, intake = f"http://127.0.0.1:{ports['identity']}", f"http://127.0.0.1:{ports['intake']}"

    first = DevStackProcess(var, env)
    try:
        first.wait_ready()
        with httpx.Client(timeout=10) as http:
            for name in started:
                assert http.get(f"http://127.0.0.1:{ports[name]}/healthz").status_code == 200, name
            assert devstack.is_listening(ports["nats"])

            credentials = json.loads((var / devstack.CREDENTIALS_FILE).read_text())
            institutions = credentials["institutions"]
            assert len(institutions) >= 4
            for entry in institutions:
                assert {"id", "name", "kind", "client_id", "client_secret", "scopes"} <= entry.keys()
                assert entry["client_secret"], entry
                assert "complaints:submit" in entry["scopes"] and "admin" not in entry["scopes"]
                assert entry["client_secret"] in first.output  # printed, as well as written
            officers = [e["liaison_officer"] for e in institutions if e.get("liaison_officer")]
            assert len(officers) == 1 and officers[0]["email"] and officers[0]["password"]
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
        assert first.interrupt() == 0, first.output
    finally:
        first.kill()
    assert first.output.rstrip().endswith("Stopped."), first.output
    assert "did not stop" not in first.output, first.output
    for port in ports.values():
        assert not devstack.is_listening(port), f"something still listens on {port} after Ctrl-C"
    assert (var / "identity.db").exists() and (var / "nats").is_dir()

    second = DevStackProcess(var, env)
    try:
        second.wait_ready()
        assert json.loads((var / devstack.CREDENTIALS_FILE).read_text()) == credentials
        assert demo["client_secret"] in second.output
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
