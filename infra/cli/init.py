"""`python -m infra init --stack NAME --account ID --region REGION --pull-principal ARN
--push-principal ARN [--repository NAME] [--promote-from STACK]`: a new stack's file.

Writes `Pulumi.NAME.yaml` with every key of the table and its description
(`infra.config.stack_template`): a stack that builds the image, like `dev`, whose values it
takes for everything not given; `--promote-from` makes it copy another stack's gated image
instead. Values go through the loader `pulumi up` uses, so a bad one is refused with the same
message, and nothing is written. Exit 0 written, 2 usage or a refused value (one line each).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from infra.aws_config import AwsConfigError, parse_aws_config
from infra.config import ConfigError, load_args
from infra.config.stack_file import StackFileError, read_stack_file, stack_path
from infra.config.stack_template import TEMPLATE_STACK, render_stack_file
from infra.paths import PROJECT_ROOT

EXIT_OK, EXIT_USAGE = 0, 2
# Region codes as AWS writes them: us-east-1, ap-southeast-1, us-gov-west-1, eu-central-2.
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"init: error: {message}\n")


def parser() -> argparse.ArgumentParser:
    commands = _Parser(
        prog="python -m infra init",
        description="Write a complete, commented Pulumi.STACK.yaml for your own account.",
    )
    commands.add_argument("--stack", required=True, help="writes Pulumi.STACK.yaml")
    commands.add_argument("--account", required=True, help="12-digit AWS account id")
    commands.add_argument("--region", required=True, help="AWS region, e.g. eu-west-1")
    commands.add_argument(
        "--pull-principal",
        action="append",
        required=True,
        metavar="ARN",
        help="IAM role (or user, or account root) that pulls: the EKS node role; repeatable",
    )
    commands.add_argument(
        "--push-principal",
        action="append",
        required=True,
        metavar="ARN",
        help="IAM role that pushes: the CI deploy role; repeatable",
    )
    commands.add_argument("--repository", help="ECR repository name (default: dev's)")
    commands.add_argument(
        "--promote-from", metavar="STACK", help="<org>/<project>/<stack> to copy the image from"
    )
    commands.add_argument("--dir", type=Path, default=None, help="where to write the file")
    commands.add_argument("--force", action="store_true", help="replace an existing file")
    return commands


def main(argv: Sequence[str] | None = None) -> int:
    options = parser().parse_args(argv)
    try:
        path = stack_path(options.stack, options.dir)
        template = read_stack_file(TEMPLATE_STACK, PROJECT_ROOT)
    except StackFileError as error:
        return _refuse([str(error)])
    if path.exists() and not options.force:
        return _refuse([f"{path}: exists; pass --force to replace it"])
    aws: dict[str, Any] = {
        **template.aws,
        "region": options.region,
        "allowedAccountIds": [options.account],
    }
    project: dict[str, Any] = {
        **template.project,
        "pullPrincipals": options.pull_principal,
        "pushPrincipals": options.push_principal,
    }
    if options.repository is not None:
        project["repositoryName"] = options.repository
    if options.promote_from is not None:
        project["promoteFrom"] = options.promote_from
    problems = _problems(options.stack, aws, project)
    if problems:
        return _refuse(problems)
    path.write_text(render_stack_file(options.stack, aws, project), encoding="utf-8")
    sys.stdout.write(
        f"wrote {path}\nnext: python -m infra check --stack {options.stack}"
        f"{f' --dir {options.dir}' if options.dir else ''}\n"
    )
    return EXIT_OK


def _problems(stack: str, aws: dict[str, Any], project: dict[str, Any]) -> list[str]:
    problems = []
    if not _REGION.fullmatch(aws["region"]):
        problems.append(f'aws:region = "{aws["region"]}": must be an AWS region such as eu-west-1')
    try:
        parse_aws_config(aws)
    except AwsConfigError as error:
        problems.append(str(error))
    try:
        load_args(project, stack=stack)
    except ConfigError as error:
        problems.extend(error.lines)
    return problems


def _refuse(lines: list[str]) -> int:
    sys.stderr.write("".join(f"init: error: {line}\n" for line in lines))
    return EXIT_USAGE
