"""OpenAPI that tells the truth, checked by the standards' own tools (docs/adr/0016-openapi-that-tells-the-truth.md).

For every service under ``services/`` that has a ``main.py`` (so a new one, referral say, is picked up
when it gets one): its served ``/openapi.json`` validates with openapi-spec-validator and declares the
problem+json errors and the OAuth 2.0 scopes; and schemathesis' command line, run against the served app
with a valid token of an institution holding every scope, finds no 5xx and no status, content type or
body the document does not declare (checks ``not_a_server_error``, ``status_code_conformance``,
``content_type_conformance``, ``response_schema_conformance``, ``negative_data_rejection``; not
``positive_data_acceptance``, which counts the tenancy 404s of schema-valid ids as failures).

The services run on a stack of the module's own (a NATS server, identity with every rate limit raised, a
fresh database each), in an event loop thread of its own, so they keep serving while the test waits.
Before a service is fuzzed, each operation whose path names resources gets real ones of its own, made
through the service's own creating operations with schemathesis' data (a complaint, then its filing…),
so the fuzzing reaches past the 404 of an unknown id, and one operation cannot spoil another's
(erasing its complaint, say).

Budget: about 20 examples per operation, deterministic (fixed seed, derandomized), no deadline; at most
``BUDGET_SECONDS`` per service per database pass (SQLite, or PostgreSQL with ``DATABASE_URL``).
(schemathesis' pytest plugin is not used: 4.32's ``from_fixture`` does not run under pytest 9.2.)
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import json
import re
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis.errors import HypothesisDeprecationWarning, InvalidArgument, NoSuchExample, Unsatisfiable
from openapi_spec_validator import validate as validate_openapi
from schemathesis.core.result import Ok
from schemathesis.generation.meta import TestPhase

from comitas_shared import migrations, nats_auth
from comitas_shared.auth import service_audience
from comitas_shared.errors import PROBLEM_JSON
from comitas_shared.scopes import SCOPES
from comitas_shared.settings import ServiceSettings
from comitas_shared.testing import NatsServer, ServedApp, drop_database, fresh_database_url

ROOT = Path(__file__).resolve().parents[1]
# Every service with an app; add one to services/ and it is checked here.
SERVICES = sorted(folder.name for folder in (ROOT / "services").iterdir()
                  if (folder / f"comitas_{folder.name}" / "main.py").is_file())
# Stands for the id of the institution the run's token belongs to, in SETTINGS.
INSTITUTION = "<the run's institution>"
# Settings a service needs here beyond the common ones (which every service gets, see _settings_for);
# a setting the service does not have (yet, or any more) is left out.
SETTINGS: dict[str, dict[str, Any]] = {
    # The public channel open (closed, it answers 503), received by the run's institution; no proof of
    # work to solve and a cheap hash of receipt codes, so the fuzzing gets past them.
    "intake": {"public_receiving_institution_id": INSTITUTION, "public_pow_bits": 0,
               "public_receipt_scrypt_log_n": 10},
    # Webhooks to loopback targets, as in the test stack (and no DNS lookups of generated host names);
    # the NATS feeds on, issuing credentials (the stack's NATS runs in operator mode, see truth_stack).
    "notifications": {"allow_private_webhook_targets": True, "feeds_enabled": True},
}
# Services that call another on an institution's behalf (RFC 8693 token exchange): the services they call
# are served beside them, and identity knows them as platform services that may exchange tokens for those.
ACTS_AT: dict[str, tuple[str, ...]] = {"referral": ("intake",)}
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "negative_data_rejection")
MAX_EXAMPLES = 20
# One: schemathesis 4.32 fails inside its coverage phase with two (a KeyError in a shared cache).
WORKERS = 1
SEED = 20_260_107
BUDGET_SECONDS = 90.0
RAISED_LIMIT = "100000/minute"
# Searching for data the service accepts, to make the resources an operation's path names.
SEED_ATTEMPTS = 25

T = TypeVar("T")
PATH_PARAMETER = re.compile(r"\{([^}]+)\}")


class BackgroundLoop:
    """An event loop in a thread of its own: the services keep serving while a test waits on them."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="openapi-truth", daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


def _settings_class(service: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"comitas_{service}.settings")
    found = [value for value in vars(module).values()
             if isinstance(value, type) and issubclass(value, ServiceSettings) and value is not ServiceSettings
             and value.__module__ == module.__name__]
    assert len(found) == 1, f"comitas_{service}.settings: expected one ServiceSettings subclass, found {found}"
    return found[0]


def _settings_for(service: str, *, database_url: str, nats_url: str, issuer: str, tmp: Path,
                  urls: dict[str, str], institution_id: str, nats_operator: Path | None = None) -> ServiceSettings:
    """The service's settings for this run: its own database, files under ``tmp``, every rate limit raised
    (fuzzing the token endpoint is a thousand failed attempts), and the URLs of the services served."""
    settings_class = _settings_class(service)
    values: dict[str, Any] = {"environment": "test", "database_url": database_url, "nats_url": nats_url,
                              # NATS in operator mode (ADR 0033): every service connects as PLATFORM's user.
                              **({"nats_credentials": str(nats_operator / "platform.creds")} if nats_operator else {}),
                              "issuer": issuer, "outbox_poll_seconds": 0.2}
    for name, info in settings_class.model_fields.items():
        default = info.default
        if name.endswith("_limit") and isinstance(default, str) and "/" in default:
            values[name] = RAISED_LIMIT
        elif isinstance(default, str) and default.startswith("var/") and name != "database_url":
            values[name] = str(tmp / name)
        elif name.endswith("_url") and name.removesuffix("_url") in urls:
            values[name] = urls[name.removesuffix("_url")]
    if service == "identity":
        values["public_url"] = issuer
    values.update({name: institution_id if value == INSTITUTION else value
                   for name, value in SETTINGS.get(service, {}).items() if name in settings_class.model_fields})
    if nats_operator and values.get("feeds_enabled") and "feeds_operator_dir" in settings_class.model_fields:
        values["feeds_operator_dir"] = str(nats_operator)
    return settings_class(**values)


def _create_app(service: str, settings: ServiceSettings) -> Any:
    return importlib.import_module(f"comitas_{service}.main").create_app(settings)


@dataclass
class TruthStack:
    loop: BackgroundLoop
    nats: NatsServer
    identity: ServedApp
    tmp: Path
    database_urls: list[str]
    nats_operator: Path | None = None
    client_id: str = ""
    client_secret: str = ""
    institution_id: str = ""

    @property
    def issuer(self) -> str:
        return self.identity.url

    def token(self, service: str) -> str:
        """A token for ``service`` (RFC 8707); for one identity does not know yet, the platform-wide
        audience every service accepts outside production."""
        for data in ({"grant_type": "client_credentials", "resource": service_audience(service)},
                     {"grant_type": "client_credentials"}):
            response = httpx.post(f"{self.issuer}/oauth/token", data=data, auth=(self.client_id, self.client_secret),
                                  timeout=10)
            if response.status_code == 200:
                return str(response.json()["access_token"])
        raise AssertionError(response.text)

    def new_database(self, service: str) -> str:
        url = fresh_database_url(f"truth_{service}", self.tmp)
        migrations.upgrade(f"comitas_{service}", url)
        self.database_urls.append(url)
        return url

    def exchange_client(self, service: str, resources: tuple[str, ...]) -> dict[str, Any]:
        """Settings naming ``service``'s own client at identity, which may exchange tokens for ``resources``."""
        from pydantic import SecretStr

        from comitas_identity import admin
        from comitas_shared.db import Database

        async def register() -> Any:
            database = Database(self.database_urls[0])
            try:
                return await admin.register_service(
                    database, service=f"{service}-truth", country="FR", service_resource=service_audience(service),
                    exchange_resources=[service_audience(r) for r in resources],
                    exchange_scopes=sorted(s for s in SCOPES if s.startswith("complaints:")))
            finally:
                await database.dispose()

        created = self.loop.run(register())
        return {"identity_client_id": created.client_id, "identity_client_secret": SecretStr(created.client_secret)}

    def settings(self, service: str) -> ServiceSettings:
        return _settings_for(service, database_url=self.new_database(service), nats_url=self.nats.url,
                             nats_operator=self.nats_operator,
                             issuer=self.issuer, tmp=self.tmp / service, urls={"identity": self.issuer},
                             institution_id=self.institution_id)


@pytest.fixture(scope="module")
def truth_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TruthStack]:
    from comitas_identity import admin
    from comitas_shared.db import Database

    tmp = tmp_path_factory.mktemp("openapi-truth")
    loop = BackgroundLoop()
    # Operator mode, as `make run` and the deployments run NATS (ADR 0033): the feeds issue credentials.
    operator = nats_auth.create(tmp / "nats-auth", now=datetime.now(UTC))
    nats = NatsServer(store_dir=tmp / "nats", config_file=operator.resolver_config).start()
    identity = ServedApp(None)
    stack = TruthStack(loop=loop, nats=nats, identity=identity, tmp=tmp, database_urls=[],
                       nats_operator=operator.directory)
    identity.app = _create_app("identity", stack.settings("identity"))
    loop.run(identity.start())

    async def register() -> tuple[str, str, str]:
        database = Database(stack.database_urls[0])
        try:
            institution_id = await admin.register_institution(database, name="OpenAPI truth", kind="nhri",
                                                              country="FR")
            client = await admin.register_client(database, institution_id=institution_id, name="schemathesis",
                                                 scopes=sorted(s for s in SCOPES if s != "admin"))
        finally:
            await database.dispose()
        return institution_id, client.client_id, client.client_secret or ""

    stack.institution_id, stack.client_id, stack.client_secret = loop.run(register())
    try:
        yield stack
    finally:
        loop.run(identity.stop())
        loop.close()
        nats.stop()
        for url in stack.database_urls:
            drop_database(url)


@dataclass
class Served:
    service: str
    url: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module", params=SERVICES)
def served(request: pytest.FixtureRequest, truth_stack: TruthStack) -> Iterator[Served]:
    service: str = request.param
    if service == "identity":
        yield Served(service, truth_stack.issuer, truth_stack.token(service))
        return
    beside = {other: ServedApp(_create_app(other, truth_stack.settings(other))) for other in ACTS_AT.get(service, ())}
    for other in beside.values():
        truth_stack.loop.run(other.start())
    settings = truth_stack.settings(service)
    if beside:
        settings = settings.model_copy(update={**{f"{name}_url": other.url for name, other in beside.items()},
                                               **truth_stack.exchange_client(service, tuple(beside))})
    app = ServedApp(_create_app(service, settings))
    truth_stack.loop.run(app.start())
    try:
        yield Served(service, app.url, truth_stack.token(service))
    finally:
        truth_stack.loop.run(app.stop())
        for other in beside.values():
            truth_stack.loop.run(other.stop())


# --- the document itself ------------------------------------------------------------------------------


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in {"get", "put", "post", "delete", "patch", "head", "options", "trace"}:
                yield path, method, operation


def test_the_served_document_validates_and_declares_problems_and_scopes(served: Served,
                                                                          truth_stack: TruthStack) -> None:
    document = httpx.get(f"{served.url}/openapi.json", timeout=10).json()
    validate_openapi(document)  # raises with the first violation of the OpenAPI 3.1 schema

    assert "HTTPValidationError" not in str(document), "FastAPI's 422 shape left in the document"
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "instance", "errors"} <= set(problem["properties"])
    error = document["components"]["schemas"]["ProblemError"]
    assert {"pointer", "detail"} <= set(error["properties"])
    # The web client (ADR 0070) serves pages to a browser, not an API: its document has the health
    # endpoints only, and so no security scheme to declare.
    if any(operation.get("security") for _, _, operation in _operations(document)) or served.service != "portal":
        scheme = document["components"]["securitySchemes"]["oauth2"]
        credentials = scheme["flows"]["clientCredentials"]
        assert credentials["tokenUrl"] == f"{truth_stack.issuer}/oauth/token"
        assert set(credentials["scopes"]) == set(SCOPES)
    else:
        assert set(document["paths"]) == {"/healthz", "/readyz"}

    for path, method, operation in _operations(document):
        label = f"{method.upper()} {path}"
        responses = operation["responses"]
        for status, response in responses.items():
            if status.startswith(("4", "5")) and PROBLEM_JSON in response.get("content", {}):
                assert response["content"][PROBLEM_JSON]["schema"] == {"$ref": "#/components/schemas/Problem"}
        requirements = operation.get("security", [])
        declared = document["components"].get("securitySchemes", {})
        assert all(set(r) <= set(declared) for r in requirements), label
        if requirements:
            assert "401" in responses and PROBLEM_JSON in responses["401"]["content"], label
            scopes = {s for r in requirements for s in r.get("oauth2", [])}
            assert scopes <= set(SCOPES), label
            if scopes:
                assert "403" in responses, label
        if "{" in path and requirements:
            assert "404" in responses, f"{label}: a named resource may be missing (or another institution's)"
        if "requestBody" in operation:
            assert "413" in responses, label
        if any(p["in"] == "header" and p["name"].lower() == "idempotency-key" for p in operation.get("parameters", [])):
            assert {"409", "422"} <= set(responses), label
    if "/readyz" in document["paths"]:
        assert "503" in document["paths"]["/readyz"]["get"]["responses"]


# --- schemathesis -------------------------------------------------------------------------------------


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)  # a TOML basic string: JSON's escapes are TOML's


def schemathesis_toml(token: str, operations: dict[str, dict[str, dict[str, str]]]) -> str:
    """schemathesis.toml for one run: the checks, the budget, the token for operations that need one (the
    ``oauth2`` scheme's), and per operation (``"PATCH /v1/complaints/{complaint_id}"``) the resources its
    path names (``parameters``) and any ``headers`` of its own."""
    lines = [
        f"seed = {SEED}",
        "request-timeout = 30",
        f"workers = {WORKERS}",
        "[generation]",
        f"max-examples = {MAX_EXAMPLES}",
        "deterministic = true",
        'database = "none"',
        "with-security-parameters = false",
        'mode = "all"',
        "[checks]",
        "enabled = false",
        *(f"{name}.enabled = true" for name in CHECKS),
        # Unexpected methods only feed the unsupported_method check, which is not run here.
        "[phases.coverage]",
        "unexpected-methods = []",
        "generate-duplicate-query-parameters = false",
        # Its boundary values of invalid data feed negative_data_rejection; valid data is fuzzed below.
        "[phases.coverage.generation]",
        'mode = "negative"',
        "[phases.stateful]",
        "enabled = false",
        "[auth.openapi.oauth2]",
        f"bearer = {_toml(token)}",
    ]
    for label, setup in sorted(operations.items()):
        if any(setup.values()):
            # One filter by name: separate include-path and include-method filters would match either.
            lines += ["[[operations]]", f"include-name = {_toml(label)}"]
            lines += [f"{key} = {_toml(value)}" for key, value in setup.items() if value]
    return "\n".join(lines) + "\n"


def _client_authenticated(operation: Any) -> bool:
    """An OAuth endpoint that authenticates the client (its form takes ``client_secret``)."""
    content = operation.definition.raw.get("requestBody", {}).get("content", {})
    form = content.get("application/x-www-form-urlencoded", {}).get("schema", {})
    return "client_secret" in form.get("properties", {}) and not operation.definition.raw.get("security")


class Resources:
    """Real resources for the path parameters of each operation, made through the service's own creating
    operations (``POST /v1/complaints`` for ``{complaint_id}``, ``POST …/consents`` for ``{consent_id}``)
    with positive data schemathesis generates, until the service accepts one; the accepted request is then
    replayed for every other operation, so each gets resources of its own."""

    def __init__(self, schema: Any, served: Served) -> None:
        self.served = served
        self.operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
        posts = {op.path: op for op in self.operations if op.method.lower() == "post"}
        # {complaint_id} → the POST on the collection it follows (the first path that shows it).
        self.creators: dict[str, Any] = {}
        for op in self.operations:
            segments = op.path.split("/")
            for index, segment in enumerate(segments):
                name = PATH_PARAMETER.fullmatch(segment)
                if name and name.group(1) not in self.creators:
                    creator = posts.get("/".join(segments[:index]))
                    if creator is not None:
                        self.creators[name.group(1)] = creator
        self.recipes: dict[str, Any] = {}
        self.unavailable: set[str] = set()

    def for_operation(self, operation: Any) -> dict[str, str]:
        values: dict[str, str] = {}
        names = PATH_PARAMETER.findall(operation.path)
        for name in names:
            self._resolve(name, values, depth=0)
        return {name: values[name] for name in names if name in values}

    def _resolve(self, name: str, values: dict[str, str], depth: int) -> None:
        creator = self.creators.get(name)
        if name in values or creator is None or depth > 5:
            return
        for needed in PATH_PARAMETER.findall(creator.path):
            self._resolve(needed, values, depth + 1)
            if needed not in values:
                return
        path_values = {p: values[p] for p in PATH_PARAMETER.findall(creator.path)}
        made = self._replay(name, creator, path_values)
        if made is None and name not in self.unavailable:
            made = self._search(name, creator, path_values)
        if made is None:
            self.unavailable.add(name)  # the service accepted none of what was tried: do not try again
        else:
            values[name] = made

    def _created_id(self, name: str, response: Any) -> str | None:
        if not 200 <= response.status_code < 300:
            return None
        try:
            body = response.json()
        except ValueError:
            return None
        value = body.get(name, body.get("id")) if isinstance(body, dict) else None
        return str(value) if isinstance(value, str | int) and str(value) else None

    def _call(self, case: Any) -> Any:
        # A replayed Idempotency-Key would answer with the first resource again.
        for key in [k for k in (case.headers or {}) if k.lower() == "idempotency-key"]:
            del case.headers[key]
        return case.call(base_url=self.served.url, headers=self.served.auth)

    def _replay(self, name: str, creator: Any, path_values: dict[str, str]) -> str | None:
        case = self.recipes.get(name)
        if case is None:
            return None
        case.path_parameters = {**(case.path_parameters or {}), **path_values}
        return self._created_id(name, self._call(case))

    def _search(self, name: str, creator: Any, path_values: dict[str, str]) -> str | None:
        made: list[str] = []

        def accepted(case: Any) -> bool:
            created = self._created_id(name, self._call(case))
            if created is not None:
                made.append(created)
                self.recipes[name] = case
            return created is not None

        # The operation's own examples first (a schema that has them is fuzzed from real resources at
        # once), then generated data.
        for phase, attempts in ((TestPhase.EXAMPLES, 5), (TestPhase.FUZZING, SEED_ATTEMPTS)):
            settings = hypothesis.settings(max_examples=attempts, derandomize=True, database=None, deadline=None,
                                           phases=[hypothesis.Phase.generate],
                                           suppress_health_check=list(hypothesis.HealthCheck))
            try:
                strategy = creator.as_strategy(path_parameters=path_values, phase=phase)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", HypothesisDeprecationWarning)
                    hypothesis.find(strategy, accepted, settings=settings)
            except (NoSuchExample, Unsatisfiable, InvalidArgument):
                continue
            if made:
                return made[0]
        return None


def _schemathesis(command: list[str], *, seconds: float, cwd: Path) -> tuple[int, str, bool]:
    """Runs schemathesis' command line for at most ``seconds``: then it is interrupted (SIGINT), and it
    still reports what it found. Exit status, output, whether it was cut short."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd)
    try:
        output, _ = process.communicate(timeout=max(seconds, 1))
        return process.returncode, output, False
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        return process.returncode, output, True


# The core first, 20 examples of valid and invalid data per operation; then the coverage phase's
# boundary values of invalid data, with what is left of the budget.
RUNS = ("examples,fuzzing", "coverage")


@pytest.mark.timeout(BUDGET_SECONDS + 90)
def test_schemathesis_finds_no_server_error_and_nothing_undocumented(served: Served, truth_stack: TruthStack,
                                                                     tmp_path: Path,
                                                                     record_property: Callable[[str, Any], None]
                                                                     ) -> None:
    """schemathesis' own command line against the served app: a failure it finds fails the test with its
    report (each failure with a curl command that reproduces it). The budget bounds the time, not the
    verdict: a run the budget cuts short still fails on what it found, and otherwise warns of what it
    did not reach (on a loaded machine)."""
    started = time.monotonic()
    deadline = started + BUDGET_SECONDS
    location = f"{served.url}/openapi.json"
    resources = Resources(schemathesis.openapi.from_url(location), served)
    basic = "Basic " + base64.b64encode(f"{truth_stack.client_id}:{truth_stack.client_secret}".encode()).decode()
    operations = {op.label: {"parameters": {f"path.{k}": v for k, v in resources.for_operation(op).items()},
                             "headers": {"Authorization": basic} if _client_authenticated(op) else {}}
                  for op in resources.operations}
    config = tmp_path / "schemathesis.toml"
    config.write_text(schemathesis_toml(served.token, operations))
    made = sorted({name.removeprefix("path.") for setup in operations.values() for name in setup["parameters"]})
    failures, cut_short = [], []
    for phases in RUNS:
        remaining = deadline - time.monotonic()
        if remaining < 5:
            cut_short.append(f"{phases} (not started)")
            continue
        command = [sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()", "--no-color",
                   "--config-file", str(config), "run", location, "--phases", phases]
        status, output, interrupted = _schemathesis(command, seconds=remaining, cwd=tmp_path)
        if interrupted:
            cut_short.append(phases)
        if "= FAILURES =" in output or (status != 0 and not interrupted):
            failures.append(f"--- schemathesis --phases {phases} (exit status {status}) ---\n{output[-15000:]}")
    elapsed = time.monotonic() - started
    record_property("schemathesis_seconds", round(elapsed, 1))
    print(f"{served.service}: resources and schemathesis in {elapsed:.1f} s; real resources for {made}")
    assert not failures, f"{served.service} (real resources for {made}):\n" + "\n".join(failures)
    if cut_short:
        warnings.warn(f"{served.service}: the {BUDGET_SECONDS:.0f} s budget ran out during "
                      f"{', '.join(cut_short)}; what ran found nothing", stacklevel=1)
