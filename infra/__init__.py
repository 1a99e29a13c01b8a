"""The retail-registry Pulumi program's building blocks.

`config` holds the one key table and reads and validates stack config; `lifecycle`,
`access_policy` and `image_tag` are pure builders; `registry_lookup` asks ECR what it already
holds; `scan_gate` judges the image's scan; `registry` holds the one ComponentResource that
wires them to AWS and Docker. `paths` is where the project's files are.
"""
