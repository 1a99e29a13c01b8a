"""Multi-platform images: one build per platform, one image index under the content tag.

With `imagePlatforms` listing two or more platforms the program builds one pulumi-docker
`Image` per platform, each pushed under its own child tag (`<tag>-<arch>`), then publishes an
image index listing the children under the tag itself; `imageRef` pins the index, and every
node (amd64 or arm64) pulls the one reference and gets its own platform's image.

- `platforms`: pure; the `imagePlatforms` parser, child tags, OCI platform objects.
- `index`: pure; the index document built from the children's manifests.
- `publish`: the index PUT through the registry HTTP API V2 (`infra.promotion.client`).
- `provider`: the Pulumi dynamic resource that publishes the index during `up`.
- `deploy`: the program side: the per-platform builds and the index resource.
"""
