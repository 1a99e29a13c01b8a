"""`python -m infra.image_tag`: print the content tag (or the build args) of a build context.

    python -m infra.image_tag [--context server] [--dockerfile F] [--platform linux/amd64]
                              [--base-image REF] [--build-args]

Prints `sha-<12 hex>`, the tag `pulumi up` and `scripts/ecr_push.*` give that build, or with
`--build-args` the build args as KEY=VALUE lines. The platforms are the ones `imagePlatform`
and the push scripts accept. What goes into the tag: `infra/image_tag/__init__.py`. Exit 0, or
2 with one line for bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from infra.config.parsers import PLATFORMS
from infra.image_tag import build_plan, error_line
from infra.paths import SERVER_DIR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.image_tag",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--context", type=Path, default=SERVER_DIR)
    parser.add_argument("--dockerfile", type=Path, help="default: <context>/Dockerfile")
    # The `imagePlatform` values, which scripts/ecr_push.* accept too.
    parser.add_argument("--platform", default="linux/amd64", choices=PLATFORMS)
    parser.add_argument(
        "--base-image",
        help="build on this base instead of the Dockerfile's pinned one (offline tests); "
        "the tag covers it, so such a build never gets the real content tag",
    )
    parser.add_argument(
        "--build-args", action="store_true", help="print the build args as KEY=VALUE lines"
    )
    options = parser.parse_args(argv)
    context: Path = options.context
    if not context.is_dir():
        parser.error(f"--context: {context} is not a directory")
    dockerfile: Path = options.dockerfile or context / "Dockerfile"
    if not dockerfile.is_file():
        parser.error(f"--dockerfile: {dockerfile} does not exist")
    try:
        plan = build_plan(context, dockerfile, options.platform, base_image=options.base_image)
    except (ValueError, OSError) as error:
        # BaseImageError, a non-UTF-8 Dockerfile or .dockerignore, an unreadable file.
        parser.error(error_line(error))
    sys.stdout.write(plan.printout(options.build_args))
    return 0
