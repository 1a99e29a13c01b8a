#!/usr/bin/env bash
# Manual fallback for publishing the API image when Pulumi cannot run (e.g. a locked state).
#
#   scripts/ecr_push.sh [REPOSITORY_URL]
#
# Steps (the same as scripts/ecr_push.ps1):
#   1. repository URL: the argument, else `pulumi stack output repositoryUrl`;
#   2. `aws ecr get-login-password | docker login --username AWS --password-stdin <registry>`;
#   3. build server/ for linux/amd64, tagged with the program's content tag (`sha-` + 12 hex),
#      computed by `python -m infra.image_tag` so the script and the program can never disagree;
#      its build args (VERSION, REVISION) come from the same module;
#   4. push, unless that tag is already in the repository (content tag => same content; ECR's
#      immutable tags would reject a second push anyway);
#   5. print the pushed reference by digest (REPOSITORY_URL@sha256:...) on stdout; for a tag
#      that was already there, the digest comes from its manifest, without pulling the image.
#
# Environment:
#   AWS_ENDPOINT_URL  optional ECR API endpoint (tests aim it at a local moto server)
#   AWS_REGION / AWS_DEFAULT_REGION  used when the URL is not an ECR URL naming a region
#   PYTHON            interpreter with the project's deps (default: .venv/bin/python, python3)
#   BASE_IMAGE        FOR OFFLINE TESTS ONLY: overrides the Dockerfile's base image (tests use a
#                     local stand-in). It is NOT part of the content tag, so an image built with
#                     it is pushed under the same sha-… tag as one on the real base. Never set it
#                     when publishing for real.
#   PIP_INDEX_URL     optional package index for the builder stage (not kept in the image)
#   BUILD_NETWORK     optional `docker build --network` value (default: Docker's default)
# Credentials come from the usual AWS chain; none are read or stored here.
set -euo pipefail

die() { echo "ecr_push: $*" >&2; exit 1; }
log() { echo "ecr_push: $*" >&2; }

command -v aws >/dev/null 2>&1 || die "the aws CLI is not installed (https://aws.amazon.com/cli/)"
command -v docker >/dev/null 2>&1 || die "docker is not installed or not on PATH"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONTEXT="$ROOT/server"
PLATFORM="linux/amd64"

if [[ -n "${PYTHON:-}" ]]; then
    :
elif [[ -x "$ROOT/.venv/bin/python" ]]; then
    PYTHON="$ROOT/.venv/bin/python"
else
    PYTHON="python3"
fi

# 1. Repository URL.
REPO="${1:-}"
if [[ -z "$REPO" ]] && command -v pulumi >/dev/null 2>&1; then
    REPO="$( (cd "$ROOT" && pulumi stack output repositoryUrl 2>/dev/null) || true)"
fi
[[ -n "$REPO" ]] || die "no repository URL: pass it as the first argument, or run where \`pulumi stack output repositoryUrl\` works"
[[ "$REPO" == */* ]] || die "repository URL '$REPO' must look like <registry>/<name>"
[[ "${REPO##*/}" != *:* && "$REPO" != *@* ]] \
    || die "repository URL '$REPO' must be given without tag or digest"
REGISTRY="${REPO%%/*}"

# ECR hosts name their region (<account>.dkr.ecr.<region>.amazonaws.com); others need the env.
if [[ "$REGISTRY" =~ \.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com ]]; then
    REGION="${BASH_REMATCH[1]}"
else
    REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
fi
[[ -n "$REGION" ]] || die "cannot tell the AWS region from '$REGISTRY': set AWS_REGION"

# 2. Login. The password only ever travels through the pipe.
aws_args=(--region "$REGION")
[[ -n "${AWS_ENDPOINT_URL:-}" ]] && aws_args+=(--endpoint-url "$AWS_ENDPOINT_URL")
log "logging in to $REGISTRY"
aws ecr get-login-password "${aws_args[@]}" \
    | docker login --username AWS --password-stdin "$REGISTRY" >/dev/null \
    || die "docker login to $REGISTRY failed (check AWS credentials and region)"

# 3. Tag and build args from the program's own module.
TAG="$(cd "$ROOT" && "$PYTHON" -m infra.image_tag --context "$CONTEXT" --platform "$PLATFORM")" \
    || die "could not compute the content tag with $PYTHON -m infra.image_tag (set PYTHON)"
[[ "$TAG" =~ ^sha-[0-9a-f]{12}$ ]] || die "unexpected tag '$TAG' from infra.image_tag"
# Captured first (not read from a process substitution, whose failure set -e never sees).
PLAN_ARGS="$(cd "$ROOT" && "$PYTHON" -m infra.image_tag --context "$CONTEXT" --platform "$PLATFORM" --build-args)" \
    || die "could not compute the build args with $PYTHON -m infra.image_tag --build-args (set PYTHON)"
build_args=()
while IFS= read -r arg; do
    if [[ -z "$arg" ]]; then
        continue
    fi
    [[ "$arg" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "unexpected build arg '$arg' from infra.image_tag"
    build_args+=(--build-arg "$arg")
done <<< "$PLAN_ARGS"
(( ${#build_args[@]} > 0 )) || die "infra.image_tag printed no build args"
if [[ -n "${BASE_IMAGE:-}" ]]; then
    log "BASE_IMAGE=$BASE_IMAGE overrides the base; the tag does not cover it (tests only)"
    build_args+=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
fi
# Only the builder stage sees the index; it never reaches the pushed image.
[[ -n "${PIP_INDEX_URL:-}" ]] && build_args+=(--build-arg "PIP_INDEX_URL=$PIP_INDEX_URL")
network_args=()
[[ -n "${BUILD_NETWORK:-}" ]] && network_args+=(--network "$BUILD_NETWORK")

log "building $REPO:$TAG for $PLATFORM"
docker build --platform "$PLATFORM" "${network_args[@]}" "${build_args[@]}" \
    --tag "$REPO:$TAG" "$CONTEXT" >&2 || die "docker build of $CONTEXT failed"

# 4. Push, unless the content tag is already there.
manifest_args=(--verbose)
# Plain HTTP is only ever allowed for a registry on this machine (the local test registry).
if [[ "$REGISTRY" =~ ^(127\.0\.0\.1|localhost)(:[0-9]+)?$ ]]; then
    manifest_args+=(--insecure)
fi
DIGEST_REF=""
if MANIFEST="$(docker manifest inspect "${manifest_args[@]}" "$REPO:$TAG" 2>/dev/null)"; then
    log "$REPO:$TAG already exists; same content tag, nothing to push"
    # For a single-platform image, `--verbose` carries the digest the registry serves it by,
    # so only the manifest (a few kB) is fetched. For a multi-platform index it lists the
    # per-platform manifests instead, and only a pull tells the index digest.
    DIGEST="$(printf '%s' "$MANIFEST" | "$PYTHON" -c \
        'import json, sys; d = json.load(sys.stdin); print(d["Descriptor"]["digest"] if isinstance(d, dict) else "")' \
        2>/dev/null || true)"
    if [[ "$DIGEST" =~ ^sha256:[0-9a-f]{64}$ ]]; then
        DIGEST_REF="$REPO@$DIGEST"
    else
        log "no single-image digest in the manifest of $REPO:$TAG (a multi-platform index?); pulling it to learn its digest"
        docker pull "$REPO:$TAG" >/dev/null || die "docker pull $REPO:$TAG failed"
    fi
else
    log "pushing $REPO:$TAG"
    docker push "$REPO:$TAG" >&2 || die "docker push $REPO:$TAG failed"
fi

# 5. The digest the registry knows the image by.
if [[ -z "$DIGEST_REF" ]]; then
    DIGEST_REF="$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$REPO:$TAG" \
        | grep -F "$REPO@sha256:" | head -n 1 || true)"
fi
[[ -n "$DIGEST_REF" ]] || die "pushed, but no digest for $REPO:$TAG was recorded"
echo "$DIGEST_REF"
