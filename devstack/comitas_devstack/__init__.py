"""``comitas-dev``: the whole Comitas stack on one machine, without containers.

``comitas-dev run`` starts a real ``nats-server`` (JetStream, its data in ``var/nats``), applies every
service's migrations to SQLite files in ``var/``, seeds the demo institutions, and runs each service as
its own uvicorn process: the same entry point, settings and health endpoints as the images in
``docker-compose.yml`` and ``deploy/``, with SQLite in place of PostgreSQL and one NATS in place of
three (docs/adr/0040-local-stack-without-containers.md). A process that crashes is started again after
a backoff; one that keeps crashing stops the stack. Ctrl-C stops the services, then NATS; the next run
keeps the data, which only its owner can read.

Ports: ``COMITAS_DEV_BASE_PORT`` (default 8000) shifts every port by the same offset, NATS included
(14222 + offset); ``COMITAS_DEV_<SERVICE>_PORT`` and ``COMITAS_DEV_NATS_PORT`` set one. The data
directory is ``--var-dir``, else ``COMITAS_DEV_VAR``, else ``./var``.

A development tool, not part of any service: nothing in ``shared/`` or ``services/`` imports it.
"""

from __future__ import annotations

from .cli import banner, cmd_migrate, cmd_run, cmd_seed, curl_example, format_credentials, main
from .stack import (
    CREDENTIALS_FILE,
    DEFAULT_BASE_PORT,
    EXAMPLE_COMPLAINT,
    MASTER_KEY_FILE,
    NATS_DEFAULT_PORT,
    PIDS_FILE,
    PRIVATE_UMASK,
    READY_LINE,
    SERVICE_NAMES,
    SERVICES,
    STARTUP_TIMEOUT,
    STOP_TIMEOUT,
    Child,
    CrashPolicy,
    DevStackError,
    Layout,
    Service,
    Stopping,
    Supervisor,
    check_ports_free,
    credentials_entry,
    is_listening,
    master_key,
    merge_credentials,
    merge_kept,
    migrate,
    peer_url_fields,
    read_credentials,
    secure_var,
    seed,
    service_env,
    settings_class_of,
    start_stack,
    stop_children,
    supervise,
    write_pids,
)

__all__ = [
    "CREDENTIALS_FILE", "DEFAULT_BASE_PORT", "EXAMPLE_COMPLAINT", "MASTER_KEY_FILE", "NATS_DEFAULT_PORT",
    "PIDS_FILE", "PRIVATE_UMASK", "READY_LINE", "SERVICES", "SERVICE_NAMES", "STARTUP_TIMEOUT", "STOP_TIMEOUT",
    "Child", "CrashPolicy", "DevStackError", "Layout", "Service", "Stopping", "Supervisor", "banner",
    "check_ports_free", "cmd_migrate", "cmd_run", "cmd_seed", "credentials_entry", "curl_example",
    "format_credentials", "is_listening", "main", "master_key", "merge_credentials", "merge_kept", "migrate",
    "peer_url_fields", "read_credentials", "secure_var", "seed", "service_env", "settings_class_of",
    "start_stack", "stop_children", "supervise", "write_pids",
]
