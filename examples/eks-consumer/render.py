"""Print the EKS example's Kubernetes objects as YAML for one imageRef: no Pulumi, no cluster.

    python examples/eks-consumer/render.py --image-ref <registry>/<repo>@sha256:<64 hex>

The objects come from manifest.build_manifests, the builder the Pulumi program exports, so what
this prints is what `pulumi up` would export for the same imageRef and config. The options
mirror the program's config keys; an option left out keeps the builder's default, which is the
default in Pulumi.yaml. Exit 0 with the YAML on stdout; 2 with one line on stderr for bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import yaml
from manifest import build_manifests

EXIT_OK, EXIT_BAD_INPUT = 0, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, not argparse's usage block.
        self.exit(EXIT_BAD_INPUT, f"render: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python examples/eks-consumer/render.py",
        description="Print the retail API's Kubernetes objects as YAML, offline.",
    )
    parser.add_argument(
        "--image-ref",
        required=True,
        metavar="REF",
        help="the registry stack's imageRef: <account>.dkr.ecr.<region>.amazonaws.com/"
        "<repo>@sha256:<64 hex>; the region is read from its host",
    )
    parser.add_argument("--namespace", help="config key namespace (default retail)")
    parser.add_argument(
        "--replicas", type=int, help="config key replicas: fewest pods the HPA keeps (default 2)"
    )
    parser.add_argument(
        "--max-replicas", type=int, help="config key maxReplicas: most pods (default 10)"
    )
    parser.add_argument(
        "--target-requests-per-pod",
        type=int,
        metavar="RPS",
        help="config key targetRequestsPerPod: sets workers, CPU and memory (sizing.py)",
    )
    return parser


def region_of(image_ref: str) -> str:
    """The region label of an ECR host (`<account>.dkr.ecr.<region>.amazonaws.com`), else "".

    An empty region never matches: build_manifests then names what is wrong with imageRef."""
    labels = image_ref.split("/", 1)[0].split(".")
    return labels[3] if len(labels) > 4 and labels[1:3] == ["dkr", "ecr"] else ""


def render(args: argparse.Namespace) -> str:
    """The objects as YAML documents, in apply order; ValueError names the bad option."""
    options: dict[str, Any] = {
        "namespace": args.namespace,
        "replicas": args.replicas,
        "max_replicas": args.max_replicas,
        "target_rps_per_pod": args.target_requests_per_pod,
    }
    given = {name: value for name, value in options.items() if value is not None}
    objects = build_manifests(args.image_ref, region_of(args.image_ref), **given)
    return yaml.safe_dump_all(objects, sort_keys=False, explicit_start=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        text = render(args)
    except ValueError as error:
        # The builders' messages name the config key or stack output, as `pulumi up` reports.
        sys.stderr.write(f"render: error: {error}\n")
        return EXIT_BAD_INPUT
    sys.stdout.write(text)
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
