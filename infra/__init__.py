"""The retail-registry Pulumi program's building blocks.

`settings` validates stack config, `lifecycle`, `access_policy` and `image_tag` are pure
builders, and `registry` holds the one ComponentResource that wires them to AWS and Docker.
"""
