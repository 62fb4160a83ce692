# Comitas: the two commands are `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install browsers bench lint schemas asyncapi migrate clean-data e2e-browser screenshots run-cluster chaos haproxy

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv

$(STAMP): $(BIN)/python requirements.lock pyproject.toml
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python --no-deps -e .
	$(BIN)/python tools/write_pth.py
	touch $(STAMP)

install: $(STAMP)

## Start NATS, every service and the web client on SQLite, with demo data (Ctrl-C stops it all).
run: install
	$(BIN)/comitas-dev run

## Set up and run the whole test suite (PostgreSQL too when DATABASE_URL is set), on two workers:
## each builds its own stack, and a test file stays on one worker (its module fixtures are built once).
test: install browsers haproxy
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

## The system Chromium for the browser tests (Playwright drives it by path; nothing is downloaded).
browsers:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

## A screenshot of each page of the web client, desktop and phone, in var/screenshots/portal/ (the
## browser journeys take them; the main ones are copied by hand to docs/screenshots/).
screenshots: install browsers
	$(BIN)/python -m pytest -q -p no:cacheprovider services/portal/tests/test_portal_journey.py \
		services/portal/tests/test_portal_browser.py
	@ls var/screenshots/portal/

## HAProxy from Debian's packages, for `make run-cluster` and the cluster tests (run unprivileged, in the foreground).
haproxy:
	@command -v haproxy >/dev/null 2>&1 || test -x /usr/sbin/haproxy || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy)

## The production topology on PostgreSQL (DATABASE_URL): three NATS nodes, two replicas of every service,
## HAProxy in front on the usual ports; data in var/cluster (Ctrl-C stops it all). ADR 0042.
run-cluster: install haproxy
	$(BIN)/comitas-dev run-cluster

## Faults under load on that cluster (DATABASE_URL): prints, per fault, writes lost, events doubled, errors,
## recovery and reminders (benchmarks/chaos.py).
chaos: install haproxy
	$(BIN)/python -m benchmarks.chaos

## Apply every service's migrations to var/*.db (make run does it too).
migrate: install
	$(BIN)/comitas-dev migrate

## Delete all local data: databases, NATS store, demo credentials and the dev master key.
clean-data:
	rm -rf var

bench: install
	$(BIN)/python -m benchmarks.run

## ruff (style and the banned APIs) and mypy (strict on shared/ and every domain.py); make test runs both.
lint: install
	$(BIN)/ruff check shared services tests benchmarks conftest.py devstack
	$(BIN)/mypy

## Regenerate docs/events (JSON Schemas, AsyncAPI) from the catalogue.
schemas: install
	$(BIN)/python -m comitas_shared.events.export docs/events
	$(MAKE) asyncapi

## Parse docs/events/asyncapi.json with the reference AsyncAPI parser (pinned in tools/asyncapi).
asyncapi: tools/asyncapi/node_modules/.package-lock.json
	node tools/asyncapi/validate.mjs docs/events/asyncapi.json

tools/asyncapi/node_modules/.package-lock.json: tools/asyncapi/package-lock.json
	cd tools/asyncapi && npm ci

lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev -o requirements.lock --python-version 3.11
