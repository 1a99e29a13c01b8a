"""The deployed window: the digest `imageRef` names and the `keepDeployed` before it carry a
`deployed-…` tag, which the lifecycle policy's shield rule keeps out of reach of every rule.

- `window`: pure; which tag to add and which to remove, from the tags ECR holds.
- `tagging`: the `pulumi up` side; the tags are put and removed through the program's AWS
  session after the scan gate, and preview logs what `up` would do.
"""

from infra.deployed.window import WindowPlan, deployed_tag, plan_window

__all__ = ["WindowPlan", "deployed_tag", "plan_window"]
