"""``comitas-dev``: what it prints and the commands it runs."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from .demo_cases import seed_cases
from .stack import (
    EXAMPLE_COMPLAINT,
    PRIVATE_UMASK,
    READY_LINE,
    Child,
    CrashPolicy,
    DevStackError,
    Layout,
    Stopping,
    Supervisor,
    check_ports_free,
    master_key,
    migrate,
    secure_var,
    seed,
    start_stack,
    stop_children,
    supervise,
)


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                     for row in rows)


def format_credentials(credentials: Mapping[str, Any], layout: Layout) -> str:
    unknown = "(unknown: see below)"
    rows = [("institution", "kind", "client_id", "client_secret")]
    services = [("platform service", "client_id", "client_secret")]
    officers = [("institution", "email", "password")]
    for entry in credentials["institutions"]:
        name = entry.get("name") or entry["id"]
        if entry.get("kind") == "platform_service":
            services.append((name, entry.get("client_id") or "", entry.get("client_secret") or unknown))
            continue
        rows.append((name, entry.get("kind") or "", entry.get("client_id") or "", entry.get("client_secret") or unknown))
        if officer := entry.get("liaison_officer"):
            officers.append((name, officer.get("email") or "", officer.get("password") or unknown))
    text = (f"Demo institutions, every client with every scope but admin and directory:contacts "
            f"(also in {layout.credentials_path}):\n" + _table(rows))
    if len(services) > 1:
        text += "\n\nPlatform services' own clients (token exchange on an institution's behalf):\n" + _table(services)
    if len(officers) > 1:
        has_portal = any(s.name == "portal" for s in layout.services)
        where = f"at {layout.url('portal')}" if has_portal else "to the web client"
        text += f"\n\nLiaison officers (sign in {where}):\n" + _table(officers)
    if any(unknown in row for row in [*rows, *services, *officers]):
        text += (f"\n\nA secret is unknown: {layout.credentials_path} was lost after the first run. "
                 "Rotate it with `comitas-admin`, or delete the var directory to start afresh.")
    return text


def curl_example(credentials: Mapping[str, Any], layout: Layout) -> str:
    submitter = next((e for e in credentials["institutions"]
                      if "complaints:submit" in (e.get("scopes") or []) and e.get("client_secret")), None)
    if submitter is None:
        return ""
    body = json.dumps(EXAMPLE_COMPLAINT)
    return (
        "Try it (a token for a demo institution, then a complaint):\n"
        f"  TOKEN=$(curl -s -u '{submitter['client_id']}:{submitter['client_secret']}' \\\n"
        f"      -d grant_type=client_credentials -d scope=complaints:submit {layout.url('identity')}/oauth/token \\\n"
        "      | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')\n"
        f"  curl -s -X POST {layout.url('intake')}/v1/complaints -H \"Authorization: Bearer $TOKEN\" \\\n"
        f"      -H 'Content-Type: application/json' -d '{body}'"
    )


def banner(layout: Layout, credentials: Mapping[str, Any]) -> str:
    rows = [("service", "URL", "API docs", "log")]
    for service in layout.services:
        url = layout.url(service.name)
        docs = "" if service.name == "portal" else f"{url}/docs"
        rows.append((service.label, url, docs, str(layout.var / "log" / f"{service.name}.log")))
    rows.append(("NATS JetStream", layout.nats_url, "", str(layout.var / "log" / "nats.log")))
    return "\n\n".join(part for part in (
        f"Comitas development stack (data in {layout.var}; the next run keeps it)\n{_table(rows)}",
        format_credentials(credentials, layout),
        curl_example(credentials, layout),
        f"A crashed service is started again; process ids are in {layout.pids_path}.",
    ) if part)


def _prepare(layout: Layout) -> None:
    tightened = secure_var(layout)
    if tightened:
        print(f"Made {len(tightened)} path(s) in {layout.var} private to you (they were readable by others).",
              flush=True)


def cmd_migrate(layout: Layout) -> int:
    _prepare(layout)
    migrate(layout)
    print(f"Migrated: {', '.join(s.name for s in layout.services if s.migrations_dir)} (in {layout.var})")
    return 0


def cmd_seed(layout: Layout) -> int:
    _prepare(layout)
    key = master_key(layout)
    migrate(layout)
    print(format_credentials(seed(layout, key), layout))
    return 0


def cmd_run(layout: Layout) -> int:
    check_ports_free(layout)
    supervisor = Supervisor()
    supervisor.install_signal_handlers()
    _prepare(layout)
    key = master_key(layout)
    print(f"Migrating and seeding the databases in {layout.var} ...", flush=True)
    migrate(layout)
    credentials = seed(layout, key)
    print("Starting NATS and the services ...", flush=True)
    try:
        nats, services = start_stack(layout, key, supervisor)
    except Stopping:
        print("Stopped during start-up.", flush=True)
        return 0
    print(banner(layout, credentials), end="\n\n", flush=True)
    seeded = seed_cases(layout, credentials)
    if seeded:
        print(seeded, end="\n\n", flush=True)
    print(READY_LINE, flush=True)
    failed: Child | None = None
    try:
        failed = supervise(layout, nats, services, supervisor)
    except Stopping:
        pass
    if failed is not None:
        policy = f"more than {CrashPolicy.max_crashes} times within {CrashPolicy.window:g} s"
        print(f"\n{failed.name} keeps crashing ({policy}; last exit {failed.process.returncode}); "
              f"stopping the stack. Last lines of {failed.log}:\n{failed.tail()}", file=sys.stderr, flush=True)
    print("\nStopping the services ...", flush=True)
    stop_children(list(reversed(services)))
    print("Stopping NATS ...", flush=True)
    stop_children([nats])
    layout.pids_path.unlink(missing_ok=True)
    print("Stopped.", flush=True)
    return 1 if failed is not None else 0


def main(argv: Sequence[str] | None = None) -> int:
    # Before anything is created, and inherited by every child: NATS, SQLite and the logs then create
    # their files for the developer alone.
    os.umask(PRIVATE_UMASK)
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: the option may come before or after the command without one erasing the other.
    common.add_argument("--var-dir", default=argparse.SUPPRESS,
                        help="where the local data lives (default: $COMITAS_DEV_VAR, else ./var)")
    parser = argparse.ArgumentParser(prog="comitas-dev", description="The whole Comitas stack on one machine.",
                                     parents=[common])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", parents=[common], help="start NATS and every service, with demo data (Ctrl-C stops)")
    commands.add_parser("migrate", parents=[common], help="apply every service's migrations to var/*.db")
    commands.add_parser("seed", parents=[common], help="migrate, seed the demo data and print its credentials")
    commands.add_parser("run-cluster", parents=[common],
                        help="the production topology on PostgreSQL (DATABASE_URL): 3 NATS nodes, 2 replicas "
                             "of every service, HAProxy in front (data in var/cluster; Ctrl-C stops)")
    args = parser.parse_args(argv)
    try:
        if args.command == "run-cluster":
            from .cluster import ClusterLayout, cmd_run_cluster

            return cmd_run_cluster(ClusterLayout.for_cluster(getattr(args, "var_dir", None)))
        layout = Layout.from_env(getattr(args, "var_dir", None))
        return {"run": cmd_run, "migrate": cmd_migrate, "seed": cmd_seed}[args.command](layout)
    except DevStackError as exc:
        print(f"comitas-dev: {exc}", file=sys.stderr)
        return 1
