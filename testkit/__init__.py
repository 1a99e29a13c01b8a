"""Helpers shared by the container tests and the benchmarks: Docker engine, base image,
local registry, moto server and loopback networking.

It lives outside `tests/` so that `benchmarks/` never imports from the test suite. Modules:

- `testkit.net`: `free_port`, `wait_for`
- `testkit.engine`: the Docker CLI wrapper (`docker`, `inspect`, `build_image`, …)
- `testkit.buildkit`: BuildKit builds as pulumi-docker runs them, and its cache records
- `testkit.base_image`: the pinned base from the Dockerfile, or the debootstrap stand-in
- `testkit.registry`: Debian's `docker-registry` with ECR-style basic auth
- `testkit.moto_server`: moto's ECR API on loopback
- `testkit.cli`: `run_module` (a project `python -m` command in a fresh interpreter) and
  `write_input` (its input file)
"""
