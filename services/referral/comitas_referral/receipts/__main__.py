"""``python -m comitas_referral.receipts``: verify a referral's receipt chain, and manage the signing keys.

``verify SOURCE`` checks a chain offline: SOURCE is what ``GET /v1/referrals/{id}/receipts`` answered
(a file, ``-`` for standard input, or the URL itself with ``--token``), or a list of compact JWS (a JSON
array, or one per line). The keys come from ``--jwks`` (a file or URL) or else from the document's
``jwks_uri``; the head from ``--head SEQUENCE:HASH`` (e.g. from a ``comitas.referral.*`` event, the
witness to trust when the document itself may have been cut) or else from the document. Exit status 0:
intact; 1: not intact (each problem is printed); 2: the input could not be read.

``rotate``, ``keys`` and ``retire KID`` act on the service's database, with the service's settings
(``COMITAS_REFERRAL_*``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import httpx

from comitas_shared.clock import real_now
from comitas_shared.db import Database

from ..settings import ReferralSettings
from . import domain, repository, service


class Unreadable(Exception):
    """The chain, the key set or the head could not be read."""


def _load(source: str, *, token: str | None = None) -> str:
    if source == "-":
        return sys.stdin.read()
    if source.startswith(("http://", "https://")):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = httpx.get(source, headers=headers, timeout=15, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise Unreadable(f"{source}: {exc}") from None
        if response.status_code != 200:
            raise Unreadable(f"{source}: HTTP {response.status_code}")
        return response.text
    try:
        return Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise Unreadable(f"{source}: {exc.strerror}") from None


def parse_chain(text: str) -> dict[str, Any]:
    """The receipts (compact JWS, in order) and what else the document says: referral_id, issuer,
    jwks_uri, head. Accepts the receipts endpoint's answer, a JSON array, or one JWS per line."""
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return {"receipts": [line.strip() for line in stripped.splitlines() if line.strip()]}
    try:
        document = json.loads(stripped)
    except ValueError:
        raise Unreadable("the chain is neither JSON nor one JWS per line") from None
    if isinstance(document, list):
        document = {"receipts": document}
    if not isinstance(document, dict) or not isinstance(document.get("receipts"), list):
        raise Unreadable("the document has no list of receipts")
    receipts = []
    for item in document["receipts"]:
        compact = item.get("jws") if isinstance(item, dict) else item
        if not isinstance(compact, str):
            raise Unreadable("a receipt is neither a JWS nor an object with a `jws`")
        receipts.append(compact)
    return {**document, "receipts": receipts}


def parse_head(value: Any) -> domain.Head | None:
    if value is None:
        return None
    if isinstance(value, str):
        sequence, _, hash_ = value.partition(":")
        value = {"sequence": sequence, "hash": hash_}
    try:
        head = domain.Head(sequence=int(value["sequence"]), hash=str(value["hash"]).lower())
    except (KeyError, TypeError, ValueError):
        raise Unreadable("a head is SEQUENCE:HASH, or an object with `sequence` and `hash`") from None
    if not domain.is_sha256_hex(head.hash):
        raise Unreadable("a head's hash is 64 hex digits")
    return head


def verify(source: str, *, jwks: str | None = None, head: str | None = None, issuer: str | None = None,
           referral_id: str | None = None, token: str | None = None) -> tuple[domain.ChainReport, domain.Head | None]:
    document = parse_chain(_load(source, token=token))
    jwks_source = jwks or document.get("jwks_uri")
    if not jwks_source:
        raise Unreadable("no key set: give --jwks (a file or URL)")
    try:
        key_set = json.loads(_load(str(jwks_source)))
    except ValueError:
        raise Unreadable(f"{jwks_source}: not a JWKS document") from None
    if not isinstance(key_set, dict):
        raise Unreadable(f"{jwks_source}: not a JWKS document")
    expected_head = parse_head(head) if head is not None else parse_head(document.get("head"))
    report = domain.verify_chain(document["receipts"], key_set, head=expected_head,
                                 referral_id=referral_id or document.get("referral_id"),
                                 issuer=issuer or document.get("issuer"))
    return report, expected_head


def _print_report(report: domain.ChainReport, head: domain.Head | None) -> None:
    name = f"referral {report.referral_id}" if report.referral_id else "chain"
    if report.ok:
        print(f"{name}: {report.receipts} receipts, intact")
        if head is None:
            print("  (no head given: a receipt removed from the end cannot be detected; pass --head)")
        else:
            print(f"  head {head.sequence}:{head.hash} matches")
        return
    print(f"{name}: {report.receipts} receipts, NOT intact; first bad receipt: {report.first_bad_position}")
    for finding in report.findings:
        print(f"  - [{finding.kind}] {finding.detail}")


def _verify_command(args: argparse.Namespace) -> int:
    try:
        report, head = verify(args.source, jwks=args.jwks, head=args.head, issuer=args.issuer,
                              referral_id=args.referral, token=args.token)
    except Unreadable as exc:
        print(f"cannot verify: {exc}", file=sys.stderr)
        return 2
    _print_report(report, head)
    return 0 if report.ok else 1


async def _keys(settings: ReferralSettings, command: str, kid: str | None) -> int:
    database = Database(settings.database_url)
    signer = service.signer_for(settings)
    try:
        async with database.transaction() as session:
            if command == "rotate":
                print(f"receipt signing key is now {await service.rotate(session, signer, now=real_now())}")
            elif command == "retire":
                assert kid is not None
                try:
                    await service.retire(session, kid, now=real_now())
                except ValueError as exc:
                    print(f"not retired: {exc}", file=sys.stderr)
                    return 1
                print(f"receipt key {kid} retired (no longer published)")
            else:
                print(json.dumps(service.keys_summary(await repository.all_keys(session)), indent=2))
    finally:
        await database.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m comitas_referral.receipts")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("verify", help="verify a referral's receipt chain against a JWKS")
    check.add_argument("source", help="the receipts endpoint's answer: a file, - (standard input) or its URL")
    check.add_argument("--jwks", help="the JWKS (file or URL); default: the document's jwks_uri")
    check.add_argument("--head", help="SEQUENCE:HASH the chain must reach (from the referral or an event)")
    check.add_argument("--issuer", help="the issuer every receipt must name; default: the document's")
    check.add_argument("--referral", help="the referral every receipt must be of; default: the document's")
    check.add_argument("--token", help="a bearer token, when SOURCE is the receipts URL itself")
    commands.add_parser("rotate", help="replace the signing key now (the old one stays published)")
    commands.add_parser("keys", help="list the signing keys and whether each is published")
    retire = commands.add_parser("retire", help="unpublish a replaced key that no receipt names")
    retire.add_argument("kid")
    args = parser.parse_args(argv)
    if args.command == "verify":
        return _verify_command(args)
    return asyncio.run(_keys(ReferralSettings(), args.command, getattr(args, "kid", None)))


if __name__ == "__main__":
    sys.exit(main())
