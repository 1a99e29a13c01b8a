"""`python -m infra.promotion SOURCE_REF DESTINATION_URL TAG`: one promotion, by hand.

The manual path (scripts/ecr_promote.sh) and the Pulumi resource run the same copy. Logins
come on standard input, one `host<TAB>user<TAB>password` line per registry, so no password
is ever an argument (visible to every user in `ps`). Prints `DESTINATION_URL@sha256:…`.
Exit status: 0 copied or already there, 1 refused or failed, 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys

import requests

from infra.oci import ManifestError
from infra.promotion.auth import Credentials, RegistryAuthError
from infra.promotion.client import RegistryError
from infra.promotion.refs import PromotionError
from infra.promotion.run import Logins, promote

LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def read_logins(lines: list[str]) -> Logins:
    """`host<TAB>user<TAB>password` lines; PromotionError naming the line otherwise."""
    basic = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.rstrip("\n").split("\t")
        if len(fields) != 3 or not all(fields):
            raise PromotionError(f"login line {number}: expected host<TAB>user<TAB>password")
        basic[fields[0]] = Credentials(fields[1], fields[2])
    return Logins(None, basic)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.promotion", description=__doc__)
    parser.add_argument("source", help="<registry>/<repository>@sha256:<64 hex>")
    parser.add_argument("destination", help="<registry>/<repository> (no tag)")
    parser.add_argument("tag", help="the tag to put the image under (the source's content tag)")
    args = parser.parse_args(argv)
    hosts = (args.source.split("/", 1)[0], args.destination.split("/", 1)[0])
    # Plain HTTP only between loopback registries (local tests); TLS everywhere else.
    plain_http = all(host.rsplit(":", 1)[0] in LOOPBACK for host in hosts)
    try:
        logins = read_logins(sys.stdin.readlines() if not sys.stdin.isatty() else [])
        report = promote(
            args.source, f"{args.destination}:{args.tag}", logins, plain_http=plain_http
        )
    except (PromotionError, RegistryError, RegistryAuthError, ManifestError) as error:
        sys.stderr.write(f"promotion: {error}\n")
        return 1
    except requests.RequestException as error:
        sys.stderr.write(f"promotion: registry unreachable: {error}\n")
        return 1
    what = "copied" if report.copied else "already there, nothing copied"
    sys.stderr.write(
        f"promotion: {args.destination}:{args.tag} {what} ({len(report.manifests)} manifests, "
        f"{len(report.blobs_uploaded)} blobs uploaded, {len(report.blobs_mounted)} mounted, "
        f"{len(report.blobs_present)} present)\n"
    )
    sys.stdout.write(f"{args.destination}@{report.digest}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
