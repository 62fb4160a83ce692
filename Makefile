# Comitas: the two commands are `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install bench lint schemas migrate clean-data e2e-browser

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

## Set up and run the whole test suite (PostgreSQL too when DATABASE_URL is set).
test: install
	$(BIN)/python -m pytest -q

## Apply every service's migrations to var/*.db (make run does it too).
migrate: install
	$(BIN)/comitas-dev migrate

## Delete all local data: databases, NATS store, demo credentials and the dev master key.
clean-data:
	rm -rf var

bench: install
	$(BIN)/python -m benchmarks.run

lint: install
	$(BIN)/ruff check shared services tests

## Regenerate docs/events (JSON Schemas, AsyncAPI) from the catalogue.
schemas: install
	$(BIN)/python -m comitas_shared.events.export docs/events

lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev -o requirements.lock --python-version 3.11
