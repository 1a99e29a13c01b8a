"""Promotion: copy a gated image from another stack's repository into this one, by digest.

A promoting stack (`promoteFrom: <org>/<project>/<stack>`) builds nothing. It reads the source
stack's gated `imageRef` and `imageTag` through a `StackReference` and copies that manifest, its
children (for an index) and every blob through the OCI distribution API, putting the exact
manifest bytes under the same tag, so the digest it exports is the source's digest.

- `refs`: pure parsing of image references and ECR registry hosts.
- `client`, `auth`: the registry HTTP API V2 and its Basic / Bearer challenge.
- `copier`: the copy itself (skip present blobs, mount within a registry, verify digests).
- `provider`: the Pulumi dynamic resource that runs the copy during `up`.
- `deploy`: the program side (stack reference, lookup, conflict check, gate).
"""
