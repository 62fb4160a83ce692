"""``comitas-admin``: administer the identity service's database.

    comitas-admin institution add --name "…" --kind nhri --country FR [--id inst_x] [--profile FILE]
    comitas-admin institution update ID --profile FILE
    comitas-admin institution show ID
    comitas-admin client add --institution ID --name "…" --scope complaints:read --scope … \\
        [--auth-method client_secret_basic|client_secret_post|private_key_jwt|none] [--jwks FILE]
        [--client-id ID] [--redirect-uri URI …] [--post-logout-redirect-uri URI …] [--no-refresh-tokens]
        [--service-resource URN --exchange-resource URN … --exchange-scope SCOPE …]
    comitas-admin service add referral --country FR --exchange-resource urn:comitas:intake \\
        --exchange-scope "complaints:read complaints:pii" [--scope directory:read] [--client-id ID]
    comitas-admin user add --institution ID --email … --name "…" [--password …] --scope …
    comitas-admin key rotate
    comitas-admin key retire KID
    comitas-admin seed-demo [--output var/demo-credentials.json] [--without-services]

A profile FILE is a JSON object with the fields of ``PATCH /v1/institutions/{id}`` (``-`` reads stdin).

Results are printed as JSON. The database URL and the master key come from the identity settings
(``COMITAS_IDENTITY_DATABASE_URL``, ``COMITAS_IDENTITY_MASTER_KEY``) unless ``--database-url`` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from comitas_shared import randomness
from comitas_shared.db import Database

from . import admin
from .demo import seed_demo
from .settings import IdentitySettings


def _scopes(args: argparse.Namespace, name: str = "scope") -> list[str]:
    return [s for value in getattr(args, name, None) or [] for s in value.split()]


def _profile(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    text = sys.stdin.read() if path == "-" else Path(path).read_text()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--profile: not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ValueError("--profile: a JSON object with the entry's fields")
    return value


async def _institution_add(database: Database, args: argparse.Namespace, _: IdentitySettings) -> Any:
    institution_id = await admin.register_institution(database, name=args.name, kind=args.kind,
                                                      country=args.country, institution_id=args.id,
                                                      profile=_profile(args.profile))
    return {"institution_id": institution_id}


async def _institution_update(database: Database, args: argparse.Namespace, _: IdentitySettings) -> Any:
    changed = await admin.update_institution(database, args.institution_id, _profile(args.profile) or {})
    return {"institution_id": args.institution_id, "changed": changed}


async def _institution_show(database: Database, args: argparse.Namespace, _: IdentitySettings) -> Any:
    return await admin.show_institution(database, args.institution_id)


async def _client_add(database: Database, args: argparse.Namespace, _: IdentitySettings) -> Any:
    jwks = json.loads(Path(args.jwks).read_text()) if args.jwks else None
    credentials = await admin.register_client(
        database, institution_id=args.institution, name=args.name, scopes=_scopes(args),
        auth_method=args.auth_method, jwks=jwks, client_id=args.client_id,
        redirect_uris=args.redirect_uri or None, post_logout_redirect_uris=args.post_logout_redirect_uri or None,
        service_resource=args.service_resource, exchange_resources=args.exchange_resource or None,
        exchange_scopes=_scopes(args, "exchange_scope") or None, refresh_tokens=not args.no_refresh_tokens)
    return asdict(credentials)


async def _service_add(database: Database, args: argparse.Namespace, _: IdentitySettings) -> Any:
    jwks = json.loads(Path(args.jwks).read_text()) if args.jwks else None
    credentials = await admin.register_service(
        database, service=args.service, country=args.country, scopes=_scopes(args) if args.scope else None,
        exchange_resources=args.exchange_resource or None, exchange_scopes=_scopes(args, "exchange_scope") or None,
        client_id=args.client_id, service_resource=args.service_resource, auth_method=args.auth_method, jwks=jwks)
    return asdict(credentials)


async def _user_add(database: Database, args: argparse.Namespace, _: IdentitySettings) -> Any:
    password = args.password or randomness.token_urlsafe(12)
    user_id = await admin.register_user(database, institution_id=args.institution, email=args.email,
                                        name=args.name, password=password, scopes=_scopes(args))
    return {"user_id": user_id, "email": args.email, "password": None if args.password else password}


async def _key_rotate(database: Database, _: argparse.Namespace, settings: IdentitySettings) -> Any:
    kid = await admin.rotate_signing_key(database, master_key=settings.master_key.get_secret_value())
    return {"kid": kid}


async def _key_retire(database: Database, args: argparse.Namespace, _: IdentitySettings) -> Any:
    await admin.retire_signing_key(database, args.kid)
    return {"retired": args.kid}


async def _seed_demo(database: Database, args: argparse.Namespace, settings: IdentitySettings) -> Any:
    seeded = await seed_demo(database, settings.master_key.get_secret_value(), services=not args.without_services)
    if args.output and any(entry["client_secret"] for entry in seeded):
        # Only a run that created secrets writes them: a later run would overwrite them with nulls.
        path = Path(args.output)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(seeded, indent=2) + "\n")
        path.chmod(0o600)
    return seeded


Command = Callable[[Database, argparse.Namespace, IdentitySettings], Awaitable[Any]]


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="comitas-admin", description="Administer Comitas identity.")
    root.add_argument("--database-url", help="overrides COMITAS_IDENTITY_DATABASE_URL")
    groups = root.add_subparsers(dest="group", required=True)

    institution = groups.add_parser("institution", help="institutions").add_subparsers(dest="action",
                                                                                          required=True)
    add = institution.add_parser("add", help="register an institution")
    add.add_argument("--name", required=True)
    add.add_argument("--kind", required=True)
    add.add_argument("--country", required=True, help="ISO 3166-1 alpha-2")
    add.add_argument("--id", help="institution id (generated when omitted)")
    add.add_argument("--profile", help="JSON file with the other fields of the entry ('-': stdin)")
    add.set_defaults(command=_institution_add)
    update = institution.add_parser("update", help="change an entry (any field, as an administrator)")
    update.add_argument("institution_id")
    update.add_argument("--profile", required=True, help="JSON file with the fields to change ('-': stdin)")
    update.set_defaults(command=_institution_update)
    show = institution.add_parser("show", help="print an entry, contact included")
    show.add_argument("institution_id")
    show.set_defaults(command=_institution_show)

    client = groups.add_parser("client", help="OAuth clients").add_subparsers(dest="action", required=True)
    add = client.add_parser("add", help="register a client; prints its secret once")
    add.add_argument("--institution", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--scope", action="append", required=True, help="repeatable, or space-separated")
    add.add_argument("--auth-method", default="client_secret_basic",
                     choices=["client_secret_basic", "client_secret_post", "private_key_jwt", "none"])
    add.add_argument("--jwks", help="file with the client's public JWK Set (private_key_jwt)")
    add.add_argument("--client-id")
    add.add_argument("--redirect-uri", action="append",
                     help="repeatable; makes it a web (authorization code) client")
    add.add_argument("--post-logout-redirect-uri", action="append",
                     help="repeatable; where RP-initiated sign-out may return to (web clients)")
    add.add_argument("--no-refresh-tokens", action="store_true",
                     help="a confidential web client that gets no refresh tokens (ADR 0071)")
    _exchange_arguments(add)
    add.add_argument("--service-resource",
                     help="with token exchange: the resource identifier of the service this client is")
    add.set_defaults(command=_client_add)

    service = groups.add_parser("service", help="platform services' clients").add_subparsers(dest="action",
                                                                                           required=True)
    add = service.add_parser("add", help="register a platform service's client (in an entry svc_<service>); "
                                         "prints its secret once")
    add.add_argument("service", help="the service's name (referral, mla, notifications…)")
    add.add_argument("--country", required=True, help="ISO 3166-1 alpha-2 of the platform's operator")
    add.add_argument("--scope", action="append",
                     help="scopes of its own tokens (default directory:read); repeatable, or space-separated")
    _exchange_arguments(add)
    add.add_argument("--service-resource", help="default urn:comitas:<service>")
    add.add_argument("--client-id", help="default: the service's name")
    add.add_argument("--auth-method", default="client_secret_basic",
                     choices=["client_secret_basic", "client_secret_post", "private_key_jwt"])
    add.add_argument("--jwks", help="file with the client's public JWK Set (private_key_jwt)")
    add.set_defaults(command=_service_add)

    user = groups.add_parser("user", help="liaison officers").add_subparsers(dest="action", required=True)
    add = user.add_parser("add", help="register a liaison officer")
    add.add_argument("--institution", required=True)
    add.add_argument("--email", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--password", help="generated and printed when omitted")
    add.add_argument("--scope", action="append", required=True, help="repeatable, or space-separated")
    add.set_defaults(command=_user_add)

    key = groups.add_parser("key", help="token signing keys").add_subparsers(dest="action", required=True)
    key.add_parser("rotate", help="make a new key active").set_defaults(command=_key_rotate)
    retire = key.add_parser("retire", help="drop a previous key from the JWKS")
    retire.add_argument("kid")
    retire.set_defaults(command=_key_retire)

    seed = groups.add_parser("seed-demo", help="create the demo institutions, clients and officer")
    seed.add_argument("--output", help="write the credentials (JSON) here when new ones were created")
    seed.add_argument("--without-services", action="store_true",
                      help="only the institutions, not the platform services' clients (referral, mla, notifications)")
    seed.set_defaults(command=_seed_demo)
    return root


def _exchange_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--exchange-resource", action="append",
                        help="token exchange (RFC 8693): a resource it may ask for on an institution's behalf; "
                             "repeatable")
    parser.add_argument("--exchange-scope", action="append",
                        help="token exchange: a scope it may ask for on an institution's behalf; repeatable, or "
                             "space-separated")


async def _run(command: Command, args: argparse.Namespace, settings: IdentitySettings) -> Any:
    database = Database(settings.database_url)
    try:
        return await command(database, args, settings)
    finally:
        await database.dispose()


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    overrides = {"database_url": args.database_url} if args.database_url else {}
    settings = IdentitySettings(**overrides)
    try:
        result = asyncio.run(_run(args.command, args, settings))
    except ValueError as exc:
        print(f"comitas-admin: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
