"""The deployment files agree with the design and with the code: every service whose code exists
(services/<name>/comitas_<name>/main.py), and only those, is in docker-compose.yml and in deploy/ on
its DESIGN §2 port, with probes on its health endpoints, streams replicated over the three NATS nodes,
and only with settings its settings class has; the NATS configuration passes the real nats-server's
own check and really forms a three-node JetStream cluster. No Docker engine or Kubernetes cluster is
needed."""

from __future__ import annotations

import asyncio
import importlib
import os
import re
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
import yaml
from nats.js.api import StreamConfig

import comitas_devstack as devstack
from comitas_shared import nats_auth
from comitas_shared.events.nats import events_stream_config
from comitas_shared.settings import ServiceSettings
from comitas_shared.testing import free_ports, nats_server_binary

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"

# DESIGN §2, the contract these files follow: the port of every service the design names, written or not.
DESIGN_PORTS = {"identity": 8000, "intake": 8001, "referral": 8002, "mla": 8003, "notifications": 8004,
                "portal": 8080}
NATS_DEV_PORT = 14222


def _package(name: str) -> Path:
    return ROOT / "services" / name / f"comitas_{name}"


# What is deployed is what exists: a service is its folder with an app factory, a database is a service
# with migrations of its own (the web client, when it comes, keeps its sessions in signed cookies).
SERVICES = sorted(folder.name for folder in (ROOT / "services").iterdir()
                  if (_package(folder.name) / "main.py").is_file())
WITH_DATABASE = [name for name in SERVICES if (_package(name) / "migrations" / "env.py").is_file()]
PORTS = {name: DESIGN_PORTS[name] for name in SERVICES if name in DESIGN_PORTS}
# Every stream is held by every node of the three-node cluster.
STREAM_REPLICAS = 3
HEALTH = re.compile(r"/(healthz|readyz)\b")


def settings_class(service: str) -> type[ServiceSettings]:
    """The one ServiceSettings subclass the service's settings module defines."""
    module = importlib.import_module(f"comitas_{service}.settings")
    found = [value for value in vars(module).values()
             if isinstance(value, type) and issubclass(value, ServiceSettings) and value is not ServiceSettings
             and value.__module__ == module.__name__]
    assert len(found) == 1, (service, found)
    return found[0]


def assert_settings_exist(service: str, names: list[str], where: str) -> None:
    cls = settings_class(service)
    prefix = cls.model_config.get("env_prefix")
    assert prefix == f"COMITAS_{service.upper()}_", (service, prefix)
    for name in names:
        assert name.startswith(prefix), f"{where}: {name} lacks the prefix {prefix}"
        field = name.removeprefix(prefix).lower()
        assert field in cls.model_fields, f"{where}: {name} is no setting of {cls.__name__}"


def load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


# --- the services that exist ---------------------------------------------------------------------


def test_every_service_folder_is_a_design_service_on_its_design_port() -> None:
    assert {"identity", "intake"} <= set(SERVICES), SERVICES  # the discovery itself works
    assert sorted(PORTS) == SERVICES, f"no DESIGN §2 port for {sorted(set(SERVICES) - set(PORTS))}"
    # `make run` (devstack) knows the same services on the same ports.
    assert {spec.name: spec.default_port for spec in devstack.SERVICES} == DESIGN_PORTS


def test_exactly_the_existing_services_are_deployed(compose: dict[str, Any],
                                                     manifests: dict[tuple[str, str], dict[str, Any]]) -> None:
    """A service folder without a compose service and a Deployment fails here, and so does a compose
    service or manifest for a service whose code does not exist (it would fail at start-up)."""
    services = compose["services"]
    started = sorted(name for name, service in services.items() if (service.get("command") or [""])[0] == "uvicorn")
    assert started == SERVICES, "docker-compose.yml runs exactly the services under services/"
    migrated = sorted(name.removesuffix("-migrate") for name in services if name.endswith("-migrate"))
    assert migrated == WITH_DATABASE, "docker-compose.yml migrates exactly the services with migrations"
    assert sorted(name for kind, name in manifests if kind == "Deployment") == SERVICES
    assert sorted(name for kind, name in manifests if kind == "PodDisruptionBudget") == sorted([*SERVICES, "nats"])
    assert sorted(name for kind, name in manifests if kind == "Service") == sorted([*SERVICES, "nats", "nats-cluster"])
    resources = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())["resources"]
    assert sorted(r for r in resources if r not in {"k8s/namespace.yaml", "k8s/config.yaml", "k8s/nats.yaml"}) == [
        f"k8s/{name}.yaml" for name in SERVICES]
    secrets = {doc["metadata"]["name"]: doc["stringData"] for doc in load_all(DEPLOY / "k8s" / "secrets.example.yaml")}
    # A service that is an OAuth client of identity (referral, the web client) keeps its client in its Secret.
    clients = {name for name in SERVICES if f"COMITAS_{name.upper()}_IDENTITY_CLIENT_SECRET" in
               {e["name"] for e in _container(manifests[("Deployment", name)])["env"]}}
    assert {name: sorted(data) for name, data in secrets.items()} == {
        f"comitas-{name}": sorted((["database-url", "master-key"] if name in WITH_DATABASE else ["master-key"])
                                  + (["identity-client-id", "identity-client-secret"] if name in clients else []))
        for name in SERVICES}
    example = (DEPLOY / "compose.env.example").read_text()
    keys = re.findall(r"^COMITAS_(\w+)_MASTER_KEY=", example, flags=re.MULTILINE)
    assert sorted(keys) == sorted(name.upper() for name in SERVICES)


# --- docker-compose.yml ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_every_service_on_its_design_port_with_health_checks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, port in PORTS.items():
        service = services[name]
        command = service["command"]
        assert command[:3] == ["uvicorn", "--factory", f"comitas_{name}.main:create_app"], name
        assert command[command.index("--port") + 1] == str(port), name
        check = " ".join(service["healthcheck"]["test"])
        assert HEALTH.search(check) and f"127.0.0.1:{port}/" in check, (name, check)
        assert service["image"].startswith("comitas:") and service["build"] == "."
        assert service["deploy"]["replicas"] >= 2, name
        assert "ports" not in service, f"{name}: replicas cannot share a host port; the gateway publishes it"


def test_compose_environment_names_are_settings_of_each_service(compose: dict[str, Any]) -> None:
    nodes = [n for n in compose["services"] if re.fullmatch(r"nats-\d", n)]
    assert len(nodes) == STREAM_REPLICAS
    for name in SERVICES:
        environment = compose["services"][name]["environment"]
        assert_settings_exist(name, list(environment), f"docker-compose.yml {name}")
        prefix = f"COMITAS_{name.upper()}_"
        assert environment[f"{prefix}ENVIRONMENT"] == "production"
        assert environment[f"{prefix}NATS_URL"] == "nats://nats:4222"
        # Every node by name, so a replica starts whichever node is down.
        assert environment[f"{prefix}NATS_SERVERS"].split(",") == [f"nats://{n}:4222" for n in nodes], name
        assert environment[f"{prefix}ISSUER"].startswith("https://")
        assert f"{prefix}MASTER_KEY" in environment
        # Quoted in the file: compose hands variables over as strings.
        assert environment[f"{prefix}NATS_STREAM_REPLICAS"] == str(STREAM_REPLICAS), name
        if name in WITH_DATABASE:
            assert environment[f"{prefix}DATABASE_URL"].startswith("postgresql+asyncpg://")
            assert environment[f"{prefix}DATABASE_URL"].endswith(f"/comitas_{name}")
        else:
            assert f"{prefix}DATABASE_URL" not in environment, name


def test_compose_migrates_each_database_before_its_service_starts(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in WITH_DATABASE:
        migration = services[f"{name}-migrate"]
        script = " ".join(migration["command"])
        assert f"comitas_shared.migrations comitas_{name} upgrade" in script
        assert f"$$COMITAS_{name.upper()}_DATABASE_URL" in script  # the container's variable, not compose's
        assert list(migration["environment"]) == [f"COMITAS_{name.upper()}_DATABASE_URL"]
        assert migration["environment"] == {k: services[name]["environment"][k] for k in migration["environment"]}
        assert services[name]["depends_on"][f"{name}-migrate"] == {"condition": "service_completed_successfully"}
    init = (DEPLOY / "postgres" / "init-databases.sh").read_text()
    databases = re.search(r"^for service in (.+); do$", init, flags=re.MULTILINE).group(1).split()  # type: ignore[union-attr]
    assert sorted(databases) == WITH_DATABASE


def test_compose_runs_a_three_node_nats_cluster_reached_under_one_name(compose: dict[str, Any]) -> None:
    services = compose["services"]
    nodes = [n for n in services if re.fullmatch(r"nats-\d", n)]
    assert len(nodes) == 3
    for node in nodes:
        service = services[node]
        assert service["command"] == ["-c", "/etc/nats/cluster.conf"]
        assert "./deploy/nats:/etc/nats:ro" in service["volumes"]
        assert service["environment"]["NATS_SERVER_NAME"] == node
        routes = yaml.safe_load(service["environment"]["NATS_ROUTES"])
        assert sorted(routes) == sorted(f"nats://{n}:6222" for n in nodes)
        assert "nats" in service["networks"]["default"]["aliases"]
        assert HEALTH.search(" ".join(service["healthcheck"]["test"]))
        assert _version(service["image"]) >= (2, 12), "message schedules (deadline timers) need 2.12"
    for name in SERVICES:
        for node in nodes:
            assert services[name]["depends_on"][node] == {"condition": "service_healthy"}


def test_compose_gateway_publishes_each_design_port_to_its_service(compose: dict[str, Any]) -> None:
    gateway = compose["services"]["gateway"]
    assert sorted(gateway["ports"]) == sorted(f"{p}:{p}" for p in PORTS.values())
    # HAProxy, generated from deploy/topology.toml (tests/test_cluster_topology.py checks it is current).
    conf = (DEPLOY / "compose" / "gateway.cfg").read_text()
    routes = {int(listen): (name, int(port)) for listen, name, port in
              re.findall(r"bind :(\d+) ssl .*?server-template [\w-]+ \d+ ([\w-]+):(\d+)", conf, flags=re.DOTALL)}
    assert routes == {port: (name, port) for name, port in PORTS.items()}


def test_compose_mounts_only_files_that_exist_and_documents_every_required_variable(
        compose: dict[str, Any]) -> None:
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source
    required = set(re.findall(r"\$\{(\w+):\?", (ROOT / "docker-compose.yml").read_text()))
    example = (DEPLOY / "compose.env.example").read_text()
    documented = set(re.findall(r"^(\w+)=", example, flags=re.MULTILINE))
    assert required and required <= documented, required - documented


def test_the_image_installs_the_lock_and_every_service_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\s*$", dockerfile, flags=re.MULTILINE)
    assert "COPY requirements.lock" in dockerfile and "-r requirements.lock" in dockerfile
    assert re.search(r"^USER 10001$", dockerfile, flags=re.MULTILINE)
    exposed = re.search(r"^EXPOSE (.+)$", dockerfile, flags=re.MULTILINE).group(1).split()  # type: ignore[union-attr]
    assert sorted(map(int, exposed)) == sorted(PORTS.values())
    imported = re.search(r'python -c "import ([^"]+)"', dockerfile).group(1)  # type: ignore[union-attr]
    assert sorted(m.strip() for m in imported.split(",")) == sorted(
        ["comitas_shared.app", *(f"comitas_{name}.main" for name in SERVICES)])
    # `pip install .` in the image finds only the folders pyproject lists: every service must be there.
    pyproject = (ROOT / "pyproject.toml").read_text()
    for name in SERVICES:
        assert f'"services/{name}"' in pyproject, f"pyproject.toml does not package services/{name}"


# --- deploy/ (Kubernetes) -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def manifests() -> dict[tuple[str, str], dict[str, Any]]:
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    listed = {DEPLOY / r for r in kustomization["resources"]}
    on_disk = {p for p in (DEPLOY / "k8s").glob("*.yaml") if not p.name.endswith(".example.yaml")}
    assert listed == on_disk, "every manifest is in the kustomization, and only those"
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(listed) + [DEPLOY / "k8s" / "migrations" / "jobs.yaml"]:
        for doc in load_all(path):
            key = (doc["kind"], doc["metadata"]["name"])
            assert key not in found, key
            found[key] = doc
    return found


def _container(doc: dict[str, Any]) -> dict[str, Any]:
    containers = doc["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _port_number(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    return next(p["containerPort"] for p in container["ports"] if p["name"] == port)


def test_every_service_has_a_replicated_deployment_and_a_service_on_its_port(
        manifests: dict[tuple[str, str], dict[str, Any]]) -> None:
    for name, port in PORTS.items():
        deployment = manifests[("Deployment", name)]
        assert deployment["spec"]["replicas"] >= 2, name
        container = _container(deployment)
        assert container["image"] == "comitas"  # set once, in the kustomization's images:
        command = container["command"]
        assert command[:3] == ["uvicorn", "--factory", f"comitas_{name}.main:create_app"]
        assert command[command.index("--port") + 1] == str(port)
        assert [p["containerPort"] for p in container["ports"]] == [port]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            assert _port_number(container, container[probe]["httpGet"]["port"]) == port, (name, probe)
        service = manifests[("Service", name)]
        assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
        assert [(p["port"], _port_number(container, p["targetPort"])) for p in service["spec"]["ports"]] == [
            (port, port)]
        assert manifests[("PodDisruptionBudget", name)]["spec"]["minAvailable"] >= 1


def test_deployment_settings_exist_and_come_from_the_config_map_or_the_service_secret(
        manifests: dict[tuple[str, str], dict[str, Any]]) -> None:
    config = manifests[("ConfigMap", "comitas-config")]["data"]
    assert all(isinstance(value, str) for value in config.values()), "ConfigMap data holds strings only"
    secrets = {doc["metadata"]["name"]: doc["stringData"]
               for doc in load_all(DEPLOY / "k8s" / "secrets.example.yaml")}
    used: set[str] = set()
    for kind, name in [("Deployment", n) for n in SERVICES] + [("Job", f"{n}-migrate") for n in WITH_DATABASE]:
        service = name.removesuffix("-migrate")
        env = _container(manifests[(kind, name)])["env"]
        assert_settings_exist(service, [e["name"] for e in env], f"deploy {kind} {name}")
        for entry in env:
            source = entry["valueFrom"]
            if "configMapKeyRef" in source:
                assert source["configMapKeyRef"]["name"] == "comitas-config"
                assert source["configMapKeyRef"]["key"] in config, entry
                used.add(source["configMapKeyRef"]["key"])
            else:
                ref = source["secretKeyRef"]
                assert ref["name"] == f"comitas-{service}", "a service reads only its own Secret"
                assert ref["key"] in secrets[ref["name"]], entry
        if kind == "Deployment":
            refs = {e["name"]: e["valueFrom"].get("configMapKeyRef", {}).get("key") for e in env}
            prefix = f"COMITAS_{service.upper()}_"
            assert config[refs[f"{prefix}NATS_STREAM_REPLICAS"]] == str(STREAM_REPLICAS), service
            assert refs[f"{prefix}NATS_SERVERS"] == "nats-servers", service
            assert refs[f"{prefix}PUBLIC_URL"] == f"{service}-public-url", service
            assert (f"{prefix}DATABASE_URL" in refs) == (service in WITH_DATABASE), service
    assert sorted(set(config) - used) == [], "ConfigMap keys no Deployment reads (a service that is gone?)"
    assert config["environment"] == "production" and config["issuer"].startswith("https://")
    assert manifests[("StatefulSet", "nats")]["spec"]["replicas"] == STREAM_REPLICAS


def test_each_database_has_a_migration_job_running_the_service_migrations(
        manifests: dict[tuple[str, str], dict[str, Any]]) -> None:
    jobs = {name for kind, name in manifests if kind == "Job"}
    assert jobs == {f"{n}-migrate" for n in WITH_DATABASE}
    for name in WITH_DATABASE:
        container = _container(manifests[("Job", f"{name}-migrate")])
        variable = f"COMITAS_{name.upper()}_DATABASE_URL"
        assert container["command"] == ["python", "-m", "comitas_shared.migrations", f"comitas_{name}", "upgrade",
                                        "--url", f"$({variable})"]
        assert [e["name"] for e in container["env"]] == [variable]
    migrations = yaml.safe_load((DEPLOY / "k8s" / "migrations" / "kustomization.yaml").read_text())
    assert migrations["resources"] == ["jobs.yaml"]
    main = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    assert migrations["images"] == main["images"] and migrations["namespace"] == main["namespace"]
    # A service with migrations of its own needs a Job, whatever the list above says.
    for spec in devstack.SERVICES:
        if spec.available:
            assert (spec.migrations_dir is not None) == (spec.name in WITH_DATABASE), spec.name


def test_nats_runs_as_a_three_node_statefulset_on_the_cluster_config(
        manifests: dict[tuple[str, str], dict[str, Any]]) -> None:
    nats = manifests[("StatefulSet", "nats")]
    assert nats["spec"]["replicas"] == 3
    headless = manifests[("Service", nats["spec"]["serviceName"])]
    assert headless["spec"]["clusterIP"] == "None" and headless["spec"]["publishNotReadyAddresses"] is True
    container = _container(nats)
    assert container["args"] == ["-c", "/etc/nats/cluster.conf"]
    assert _version(container["image"]) >= (2, 12)
    env = {e["name"]: e for e in container["env"]}
    assert env["NATS_SERVER_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    routes = yaml.safe_load(env["NATS_ROUTES"]["value"])
    assert sorted(routes) == [f"nats://nats-{i}.{headless['metadata']['name']}:6222" for i in range(3)]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert HEALTH.search(container[probe]["httpGet"]["path"])
    volume = next(v for v in nats["spec"]["template"]["spec"]["volumes"] if v["name"] == "config")
    generated = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())["configMapGenerator"]
    # The ConfigMap itself, or projected with the operator's resolver.conf beside it (ADR 0033).
    config_map = volume.get("configMap") or next(source["configMap"] for source in volume["projected"]["sources"]
                                                 if "configMap" in source)
    files = next(g["files"] for g in generated if g["name"] == config_map["name"])
    assert sorted(files) == ["nats/accounts.conf", "nats/cluster.conf"]
    client = manifests[("Service", "nats")]["spec"]["ports"]
    assert [p["port"] for p in client] == [4222]
    config = manifests[("ConfigMap", "comitas-config")]["data"]
    assert config["nats-url"] == "nats://nats:4222"
    # Every pod of the StatefulSet by its stable name under the headless Service, on the client port.
    assert config["nats-servers"].split(",") == [
        f"nats://nats-{i}.{headless['metadata']['name']}:4222" for i in range(nats["spec"]["replicas"])]


def test_both_kustomizations_set_namespace_image_and_every_workload() -> None:
    """What `kubectl kustomize` would apply, checked from the files themselves (no kubectl needed):
    the namespace and image overrides, every resource present, and exactly the expected workloads."""
    for directory, expected in ((DEPLOY, SERVICES), (DEPLOY / "k8s" / "migrations",
                                                     [f"{n}-migrate" for n in WITH_DATABASE])):
        kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
        assert kustomization["namespace"] == "comitas"
        assert kustomization["images"] == [{"name": "comitas", "newName": "registry.example.org/comitas",
                                            "newTag": "latest"}]
        docs = [doc for resource in kustomization["resources"] for doc in load_all(directory / resource)]
        assert all(d["metadata"].get("namespace") in (None, "comitas") for d in docs)
        workloads = [d for d in docs if d["kind"] in {"Deployment", "Job"}]
        images = {c["image"].split(":")[0] for d in workloads for c in d["spec"]["template"]["spec"]["containers"]}
        assert images == {"comitas"}, "the kustomization's image override must apply to every workload"
        assert sorted(d["metadata"]["name"] for d in workloads) == sorted(expected)
def _version(image: str) -> tuple[int, int]:
    major, minor = re.match(r"nats:(\d+)\.(\d+)", image).groups()  # type: ignore[union-attr]
    return int(major), int(minor)


def _node_env(name: str, routes: list[str]) -> dict[str, str]:
    return {**os.environ, "NATS_SERVER_NAME": name, "NATS_ROUTES": f"[{', '.join(routes)}]"}


def _nats_configs_here(tmp_path: Path, nodes: int) -> tuple[list[Path], Path]:
    """deploy/nats as each node reads it, on this machine: the files as they are, beside them the
    operator's resolver.conf where a node mounts it (``operator/``, made here as by ``python -m
    comitas_shared.nats_auth init``), each node's stores (JetStream, the resolver's account JWTs) in a
    directory of its own. Returns each node's cluster.conf and the services' credentials."""
    operator = nats_auth.create(tmp_path / "operator", now=datetime.now(UTC))
    accounts = (DEPLOY / "nats" / "accounts.conf").read_text()
    assert accounts.count("include ./operator/resolver.conf") == 1
    cluster = (DEPLOY / "nats" / "cluster.conf").read_text()
    assert cluster.count("store_dir: /data/jetstream") == 1
    configs = []
    for i in range(nodes):
        node = tmp_path / f"node{i}"
        (node / "operator").mkdir(parents=True)
        (node / "operator" / "resolver.conf").write_text(nats_auth.server_config(operator, node / "jwt"))
        (node / "accounts.conf").write_text(accounts)
        (node / "cluster.conf").write_text(cluster.replace("/data/jetstream", str(node / "jetstream")))
        configs.append(node / "cluster.conf")
    return configs, operator.platform_credentials


def test_the_nats_cluster_config_passes_the_servers_own_check(compose: dict[str, Any],
                                                              manifests: dict[tuple[str, str], dict[str, Any]],
                                                              tmp_path: Path) -> None:
    binary = nats_server_binary()
    (config,), _ = _nats_configs_here(tmp_path, 1)
    usage = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10, check=False)
    assert re.search(r"^\s+-t\s", usage.stdout + usage.stderr, flags=re.MULTILINE), "nats-server has no -t flag"
    compose_env = compose["services"]["nats-1"]["environment"]
    k8s_env = {e["name"]: e.get("value") for e in _container(manifests[("StatefulSet", "nats")])["env"]}
    for env in ({**os.environ, **compose_env}, {**os.environ, **k8s_env, "NATS_SERVER_NAME": "nats-0"}):
        checked = subprocess.run([binary, "-t", "-c", str(config)], env=env,
                                 capture_output=True, text=True, timeout=10, check=False)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    broken = subprocess.run([binary, "-t", "-c", str(config)],
                            env={k: v for k, v in os.environ.items() if not k.startswith("NATS_")},
                            capture_output=True, text=True, timeout=10, check=False)
    assert broken.returncode != 0, "the check must fail without a node name and routes"


def test_three_nodes_on_the_cluster_config_form_a_jetstream_cluster_with_replicated_streams(tmp_path: Path) -> None:
    """Only what a machine cannot offer is changed: ports on loopback, the store directories and where the
    operator's directory is; the services connect as the PLATFORM account's user, as deployed."""
    binary = nats_server_binary()
    configs, credentials = _nats_configs_here(tmp_path, 3)
    ports = free_ports(9)
    client, cluster, monitor = ports[0:3], ports[3:6], ports[6:9]
    routes = [f"nats://127.0.0.1:{p}" for p in cluster]
    nodes: list[subprocess.Popen[bytes]] = []
    try:
        for i in range(3):
            log = open(tmp_path / f"node{i}.log", "wb")  # noqa: SIM115 - closed with the process
            nodes.append(subprocess.Popen(
                [binary, "-c", str(configs[i]), "-a", "127.0.0.1", "-p", str(client[i]), "-m", str(monitor[i]),
                 "--cluster_listen", routes[i]], env=_node_env(f"node{i}", routes), stdout=log, stderr=log))
        deadline = time.monotonic() + 30
        with httpx.Client(timeout=2) as http:
            for port in monitor:
                while True:
                    try:
                        if http.get(f"http://127.0.0.1:{port}/healthz?js-enabled-only=true").status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    assert time.monotonic() < deadline, (tmp_path / "node0.log").read_text()[-2000:]
                    time.sleep(0.1)
        asyncio.run(_replicated_stream(f"nats://127.0.0.1:{client[0]}", f"nats://127.0.0.1:{client[2]}",
                                       credentials))
    finally:
        for node in nodes:
            node.terminate()
        for node in nodes:
            node.wait(timeout=10)


async def _replicated_stream(first: str, other: str, credentials: Path) -> None:
    writer = await nats.connect(first, user_credentials=str(credentials))
    try:
        js = writer.jetstream()
        config = events_stream_config(replicas=3)
        deadline = time.monotonic() + 20
        while True:  # the meta leader is elected a moment after the nodes report healthy
            try:
                await js.add_stream(config)
                break
            except Exception:  # noqa: BLE001
                assert time.monotonic() < deadline, "no JetStream meta leader"
                await asyncio.sleep(0.2)
        ack = await js.publish("events.test.deployed", b"{}")
        info = await js.stream_info(config.name)
        assert isinstance(info.config, StreamConfig) and info.config.num_replicas == 3
        assert info.cluster is not None and len(info.cluster.replicas or []) == 2  # leader + two replicas
    finally:
        await writer.close()
    reader = await nats.connect(other, user_credentials=str(credentials))  # another node serves the same stream
    try:
        message = await reader.jetstream().get_msg(config.name, ack.seq)
        assert message.subject == "events.test.deployed"
    finally:
        await reader.close()
