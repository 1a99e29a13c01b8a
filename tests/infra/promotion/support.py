"""Stack configs for tests about building: a committed stack file without `promoteFrom`."""

from __future__ import annotations

PROMOTE_FROM = "retail-registry:promoteFrom"


def building(config: dict[str, str]) -> dict[str, str]:
    """`config` as a building stack: prod's committed file promotes, and these tests build."""
    return {key: value for key, value in config.items() if key != PROMOTE_FROM}
