"""docs/deploying.md's import file for lost state matches what the program declares.

The expected block is built from the URNs the program registers under mocks (type, name and
parent of the repository and its two policies), with each id the repository name, as
pulumi-aws documents for `aws.ecr.Repository`, `LifecyclePolicy` and `RepositoryPolicy`.
"""

from __future__ import annotations

import json
import re

from infra.paths import PROJECT_ROOT
from tests.infra.conftest import engine_config, stack_values
from tests.infra.pulumi_harness import program_run

DOC = (PROJECT_ROOT / "docs" / "deploying.md").read_text()
IMPORTED = (
    "aws:ecr/repository:Repository",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy",
)


def _documented_import_file() -> dict[str, object]:
    section = DOC.split("## Lost state: import the repository and its policies", 1)[1]
    block = re.search(r"```json\n(.*?)```", section, re.DOTALL)
    assert block is not None, "the lost-state section has no JSON import file"
    document = json.loads(block.group(1))
    assert isinstance(document, dict)
    return document


def test_the_import_file_is_the_programs_own_urns() -> None:
    with program_run("prod", engine_config("prod")) as run:
        by_urn = {r.urn: r for r in run.resources}
        children = [r for r in run.resources if r.type in IMPORTED]
        (parent,) = {r.parent for r in children}
        component = by_urn[parent]
    repository = stack_values("prod").get("repositoryName", "mlops/retail-api")
    expected = {
        "resources": [
            {"type": component.type, "name": component.name, "component": True},
            *(
                {"type": r.type, "name": r.name, "id": repository, "parent": component.name}
                for r in sorted(children, key=lambda r: IMPORTED.index(r.type))
            ),
        ]
    }
    assert _documented_import_file() == expected


def test_the_import_command_names_the_file_and_skips_code_generation() -> None:
    assert "pulumi import --stack prod --file import-prod.json --generate-code=false" in DOC
