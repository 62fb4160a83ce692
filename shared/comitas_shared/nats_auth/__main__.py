"""``python -m comitas_shared.nats_auth init <dir> [--resolver-dir /data/jwt]``: makes the operator's
material once (an existing bundle is kept) and prints where each part goes (ADR 0033, deploy/README.md).

``python -m comitas_shared.nats_auth config <dir> --resolver-dir /data/jwt``: writes the server
configuration (``resolver.conf``) again, for a resolver directory elsewhere."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ..clock import real_now
from .bundle import create, load, write_server_config


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m comitas_shared.nats_auth")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("init", "config"):
        command = commands.add_parser(name)
        command.add_argument("directory", type=Path)
        command.add_argument("--resolver-dir", default=None,
                             help="where each nats-server keeps the account JWTs it is sent (default <directory>/jwt)")
    args = parser.parse_args(argv)
    resolver_dir = args.resolver_dir or str(args.directory / "jwt")
    if args.command == "init":
        bundle = create(args.directory, now=real_now(), resolver_dir=Path(resolver_dir))
    else:
        bundle = load(args.directory)
    config = write_server_config(bundle, resolver_dir)
    print(f"operator {bundle.operator_public_key}\nsystem account {bundle.system_account}\n"
          f"PLATFORM account {bundle.platform_account.public_key}\n"
          f"nats-server configuration (public; every node includes it): {config}\n"
          f"services' credentials (secret): {bundle.platform_credentials}\n"
          f"notifications also reads the whole directory (secret: the signing and PLATFORM seeds, sys.creds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
