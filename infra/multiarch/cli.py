"""`python -m infra.multiarch`: the push scripts' side of a multi-platform image.

    python -m infra.multiarch tag --platforms linux/amd64,linux/arm64 [--context server]
                                  [--base-image REF] [--build-args]
    python -m infra.multiarch publish --destination HOST/REPO:TAG
                                      --child linux/amd64=sha256:… --child linux/arm64=sha256:…
                                      [--insecure] < password

`tag` prints the content tag of the platform set (or, with `--build-args`, the build args as
KEY=VALUE lines): the tag `pulumi up` gives the same `imagePlatforms`. `publish` puts the
index of the children (already pushed) under the tag through the registry API, exactly as the
program's ImageIndex resource does, so both publish the same index bytes and digest; it reads
the registry password (`aws ecr get-login-password`) from stdin, user `AWS`, and prints
HOST/REPO@<index digest>. `--insecure` (plain HTTP) is refused for anything but a loopback
registry. Exit 0, 1 when the registry refuses, 2 with one line for bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from infra.config.parsers import ConfigError
from infra.image_tag import build_plan, error_line
from infra.multiarch.platforms import IMAGE_PLATFORMS_KEY, image_platforms
from infra.multiarch.publish import PublishError, publish
from infra.paths import SERVER_DIR
from infra.promotion.auth import Credentials, RegistryAuthError
from infra.promotion.client import RegistryError
from infra.promotion.refs import PromotionError
from infra.promotion.run import Logins, parse_destination

LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.multiarch",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    tag = commands.add_parser("tag", help="print the content tag of a platform set")
    tag.add_argument(
        "--platforms", required=True, help="comma-separated, e.g. linux/amd64,linux/arm64"
    )
    tag.add_argument("--context", type=Path, default=SERVER_DIR)
    tag.add_argument("--base-image", help="build on this base instead of the pinned one (tests)")
    tag.add_argument("--build-args", action="store_true", help="print the build args instead")
    put = commands.add_parser("publish", help="publish the index of pushed children")
    put.add_argument("--destination", required=True, help="HOST/REPO:TAG")
    put.add_argument("--child", action="append", required=True, help="PLATFORM=sha256:…")
    put.add_argument("--insecure", action="store_true", help="plain HTTP (loopback only)")
    options = parser.parse_args(argv)
    if options.command == "tag":
        return _tag(parser, options)
    return _publish(parser, options)


def _tag(parser: argparse.ArgumentParser, options: argparse.Namespace) -> int:
    platforms = _platforms(parser, str(options.platforms).split(","))
    context: Path = options.context
    try:
        plan = build_plan(context, context / "Dockerfile", platforms, base_image=options.base_image)
    except (ValueError, OSError) as error:
        parser.error(error_line(error))
    sys.stdout.write(plan.printout(options.build_args))
    return 0


def _publish(parser: argparse.ArgumentParser, options: argparse.Namespace) -> int:
    children: dict[str, str] = {}
    for child in options.child:
        platform, _, digest = str(child).partition("=")
        children[platform] = digest
    _platforms(parser, list(children))
    try:
        repository, _ = parse_destination(options.destination)
    except PromotionError as error:
        parser.error(f"--destination: {error}")
    if options.insecure and repository.host.split(":")[0] not in LOOPBACK_HOSTS:
        parser.error(f"--insecure: {repository.host} is not a loopback registry")
    password = sys.stdin.readline().strip()
    if not password:
        parser.error("no registry password on stdin (pipe `aws ecr get-login-password`)")
    logins = Logins(None, {repository.host: Credentials("AWS", password)})
    try:
        published = publish(options.destination, children, logins, plain_http=options.insecure)
    except (PublishError, PromotionError, RegistryError, RegistryAuthError, ValueError) as error:
        sys.stderr.write(f"python -m infra.multiarch publish: {error}\n")
        return 1
    sys.stdout.write(f"{repository}@{published.digest}\n")
    return 0


def _platforms(parser: argparse.ArgumentParser, names: list[str]) -> tuple[str, ...]:
    try:
        return image_platforms(IMAGE_PLATFORMS_KEY, names)
    except ConfigError as error:
        parser.error(str(error).replace("retail-registry:imagePlatforms", "platforms"))
