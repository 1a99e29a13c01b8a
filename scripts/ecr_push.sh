#!/usr/bin/env bash
# Manual fallback for publishing the API image when Pulumi cannot run (e.g. a locked state).
# Run `scripts/ecr_push.sh --help` for usage; scripts/ecr_push.ps1 does the same on Windows.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/ecr_push.sh [--platform PLATFORM[,PLATFORM]] [REPOSITORY_URL]
       scripts/ecr_push.sh -h | --help

Publish the API image (server/) to an ECR repository under the program's content tag,
unless the repository already holds that tag.

Options:
  --platform PLATFORM[,PLATFORM]
                     build platform(s), hashed into the tag: linux/amd64 (default),
                     linux/arm64 or linux/arm64/v8, or a comma-separated set such as
                     linux/amd64,linux/arm64. Pass the stack's `imagePlatforms` (or
                     `imagePlatform`) in its order so the tag is the one the program uses.
                     With two or more: one build and push per platform under
                     <tag>-<arch>, then one image index under the tag, published by
                     `python -m infra.multiarch publish` exactly as `pulumi up` does
                     (same bytes, same digest). Building a foreign platform needs
                     qemu-user-static and binfmt-support (docs/image.md).

  1. REPOSITORY_URL: the argument, else `pulumi stack output repositoryUrl`
     (<registry>/<name>, without tag or digest);
  2. aws ecr get-login-password | docker login --username AWS --password-stdin <registry>;
  3. tag (sha- + 12 hex) and build args from `python -m infra.image_tag`, the module the
     Pulumi program uses, so both build on the base pinned by `ARG BASE_IMAGE=` at the top
     of server/Dockerfile and agree on the tag;
  4. tag already in the repository: success, nothing is built or pushed (immutable tags:
     ECR refuses a second push of a tag, even with the same digest);
     otherwise: build for PLATFORM (one image manifest: --provenance=false --sbom=false
     where the builder knows them) and push once;
  5. print REPOSITORY_URL@sha256:... (the digest the registry serves the tag by: the
     index's for several platforms) on stdout.

Environment:
  AWS_ENDPOINT_URL   optional ECR API endpoint (tests aim it at a local moto server)
  AWS_REGION, AWS_DEFAULT_REGION
                     used when the URL is not an ECR URL naming a region
  PYTHON             interpreter with the project's deps (default: .venv/bin/python, python3)
  BASE_IMAGE         FOR OFFLINE TESTS ONLY: build on this base instead of the pinned one.
                     The tag covers the base, so such an image gets a tag of its own and can
                     never be pushed under the real content tag. With several platforms it
                     must be a multi-platform reference, as the pinned base is.
  PIP_INDEX_URL      optional package index for the builder stage (not kept in the image)
  BUILD_NETWORK      optional `docker build --network` value
Credentials come from the usual AWS chain; none are read or stored here.
Exit status: 0 pushed or already there, 1 failure, 2 bad usage.
EOF
}

die() { echo "ecr_push: $*" >&2; exit 1; }
log() { echo "ecr_push: $*" >&2; }
usage_error() { echo "ecr_push: $* (see --help)" >&2; exit 2; }

# Arguments first: --help must work on a machine without aws or docker.
REPO=""
PLATFORM="linux/amd64"
while (( $# > 0 )); do
    arg="$1"
    shift
    case "$arg" in
        -h | --help) usage; exit 0 ;;
        --platform)
            (( $# > 0 )) || usage_error "--platform needs a value"
            PLATFORM="$1"
            shift ;;
        --platform=*) PLATFORM="${arg#--platform=}" ;;
        -*) usage_error "unknown option '$arg'" ;;
        *) [[ -z "$REPO" ]] || usage_error "one repository URL only, got '$REPO' and '$arg'"
           REPO="$arg" ;;
    esac
done
# The platforms the program's `imagePlatform(s)` accept (infra/config/parsers.py PLATFORMS).
IFS=',' read -r -a PLATFORMS <<< "$PLATFORM"
(( ${#PLATFORMS[@]} > 0 )) || usage_error "--platform needs a value"
seen_arches=" "
for one in "${PLATFORMS[@]}"; do
    case "$one" in
        linux/amd64 | linux/arm64 | linux/arm64/v8) ;;
        *) usage_error "--platform must be linux/amd64, linux/arm64 or linux/arm64/v8 (comma-separated for several), got '$one'" ;;
    esac
    arch="${one#linux/}"; arch="${arch%%/*}"
    [[ "$seen_arches" != *" $arch "* ]] || usage_error "--platform lists $arch twice ('$PLATFORM'); list each architecture once"
    seen_arches+="$arch "
done

command -v aws >/dev/null 2>&1 || die "the aws CLI is not installed (https://aws.amazon.com/cli/)"
command -v docker >/dev/null 2>&1 || die "docker is not installed or not on PATH"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONTEXT="$ROOT/server"

if [[ -n "${PYTHON:-}" ]]; then
    :
elif [[ -x "$ROOT/.venv/bin/python" ]]; then
    PYTHON="$ROOT/.venv/bin/python"
else
    PYTHON="python3"
fi

# 1. Repository URL.
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

# 3. Tag and build args from the program's own module; BASE_IMAGE (tests) goes into both.
if (( ${#PLATFORMS[@]} > 1 )); then
    tag_module=(-m infra.multiarch tag)
    tag_args=(--context "$CONTEXT" --platforms "$PLATFORM")
else
    tag_module=(-m infra.image_tag)
    tag_args=(--context "$CONTEXT" --platform "$PLATFORM")
fi
if [[ -n "${BASE_IMAGE:-}" ]]; then
    log "BASE_IMAGE=$BASE_IMAGE replaces the pinned base (tests only); the tag covers it"
    tag_args+=(--base-image "$BASE_IMAGE")
fi
TAG="$(cd "$ROOT" && "$PYTHON" "${tag_module[@]}" "${tag_args[@]}")" \
    || die "could not compute the content tag with $PYTHON ${tag_module[*]} (set PYTHON)"
[[ "$TAG" =~ ^sha-[0-9a-f]{12}$ ]] || die "unexpected tag '$TAG' from infra.image_tag"
# Captured first (not read from a process substitution, whose failure set -e never sees).
PLAN_ARGS="$(cd "$ROOT" && "$PYTHON" "${tag_module[@]}" "${tag_args[@]}" --build-args)" \
    || die "could not compute the build args with $PYTHON ${tag_module[*]} --build-args (set PYTHON)"
build_args=()
while IFS= read -r arg; do
    [[ -n "$arg" ]] || continue
    [[ "$arg" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "unexpected build arg '$arg' from infra.image_tag"
    build_args+=(--build-arg "$arg")
done <<< "$PLAN_ARGS"
(( ${#build_args[@]} > 0 )) || die "infra.image_tag printed no build args"
# Only the builder stage sees the index; it never reaches the pushed image.
[[ -n "${PIP_INDEX_URL:-}" ]] && build_args+=(--build-arg "PIP_INDEX_URL=$PIP_INDEX_URL")
network_args=()
[[ -n "${BUILD_NETWORK:-}" ]] && network_args+=(--network "$BUILD_NETWORK")

manifest_args=(--verbose)
publish_args=()
# Plain HTTP is only ever allowed for a registry on this machine (the local test registry).
if [[ "$REGISTRY" =~ ^(127\.0\.0\.1|localhost)(:[0-9]+)?$ ]]; then
    manifest_args+=(--insecure)
    publish_args+=(--insecure)
fi

# Prints the digest the registry serves REPO:TAG by. Returns 1 when the tag is not there,
# 3 when it is but its digest cannot be learnt.
# For a single-platform image, `--verbose` carries that digest, so only the manifest (a few
# kB) is fetched; for a multi-platform index it lists the per-platform manifests instead,
# and only a pull tells the index digest.
registry_digest() {
    local manifest digest pulled TAG="${1:-$TAG}"
    manifest="$(docker manifest inspect "${manifest_args[@]}" "$REPO:$TAG" 2>/dev/null)" || return 1
    digest="$(printf '%s' "$manifest" | "$PYTHON" -c \
        'import json, sys; d = json.load(sys.stdin); print(d["Descriptor"]["digest"] if isinstance(d, dict) else "")' \
        2>/dev/null || true)"
    if [[ ! "$digest" =~ ^sha256:[0-9a-f]{64}$ ]]; then
        log "no single-image digest in the manifest of $REPO:$TAG (a multi-platform index?); pulling it to learn its digest"
        pulled="$(docker pull "$REPO:$TAG")" || { log "docker pull $REPO:$TAG failed"; return 3; }
        # The pull's own `Digest:` line is the tag's (the index's): the pulled image's
        # RepoDigests may list a child's digest first when this engine pushed that child.
        digest="$(printf '%s\n' "$pulled" | grep -E '^Digest: sha256:[0-9a-f]{64}$' \
            | head -n 1 | cut -d' ' -f2 || true)"
        [[ -n "$digest" ]] || { log "pulled $REPO:$TAG, but docker reported no digest"; return 3; }
    fi
    echo "$digest"
}

# 4. The tag names its content: if the registry has it, that content is published already.
DIGEST="$(registry_digest)" && found=0 || found=$?
if (( found == 0 )); then
    log "$REPO:$TAG already exists; same content tag, nothing to build or push"
    echo "$REPO@$DIGEST"
    exit 0
fi
(( found == 1 )) || die "$REPO:$TAG exists, but its digest could not be read"

# One single-platform image manifest, never an index: ECR scans image manifests, not indexes,
# and a BuildKit client (buildx 0.10 and later) attaches a provenance attestation by default,
# which turns the pushed tag into an OCI index
# (https://docs.docker.com/build/metadata/attestations/#creating-attestations).
# Only a builder that knows the flags gets them; the legacy builder (Debian's docker 20.10)
# attaches nothing and refuses flags it does not know.
BUILD_HELP="$(docker build --help 2>/dev/null || true)"
attestation_args=()
[[ "$BUILD_HELP" == *--provenance* ]] && attestation_args+=(--provenance=false)
[[ "$BUILD_HELP" == *--sbom* ]] && attestation_args+=(--sbom=false)

# Builds REPO:$1 for platform $2 and pushes it once; prints the digest the registry holds.
build_command=(docker build)
build_and_push() {
    local tag="$1" platform="$2" digest_ref
    log "building $REPO:$tag for $platform"
    "${build_command[@]}" --platform "$platform" "${attestation_args[@]}" "${network_args[@]}" "${build_args[@]}" \
        --tag "$REPO:$tag" "$CONTEXT" >&2 || die "docker build of $CONTEXT for $platform failed"
    log "pushing $REPO:$tag"
    if ! docker push "$REPO:$tag" >&2; then
        # Someone else may have pushed the same tag meanwhile; an immutable tag then refuses ours.
        registry_digest "$tag" || die "docker push $REPO:$tag failed"
        log "$REPO:$tag appeared while pushing (another push won); using the registry's digest"
        return 0
    fi
    digest_ref="$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$REPO:$tag" \
        | grep -F "$REPO@sha256:" | head -n 1 || true)"
    [[ -n "$digest_ref" ]] || die "pushed, but no digest for $REPO:$tag was recorded"
    echo "${digest_ref#*@}"
}

if (( ${#PLATFORMS[@]} == 1 )); then
    # 5. The digest the registry knows the image by.
    # A die inside $(...) ends only the subshell: its status ends this run too.
    DIGEST="$(build_and_push "$TAG" "$PLATFORM")" || exit 1
    echo "$REPO@$DIGEST"
    exit 0
fi

# Several platforms: each child under <tag>-<arch> (reused when the registry holds it, as
# after a run that stopped before the index), then the index of them under the tag.
# BuildKit builds them: Docker 20.10's classic builder takes a base the local store holds for
# another platform (its one image per reference) and builds on it, the wrong architecture.
# buildx where installed (`--load` into the engine, which pushes it); else a pre-23 CLI's own
# BuildKit (a 23+ CLI without buildx refuses DOCKER_BUILDKIT=1 and says so).
if docker buildx version >/dev/null 2>&1; then
    build_command=(docker buildx build --load)
else
    export DOCKER_BUILDKIT=1
fi
children=()
for one in "${PLATFORMS[@]}"; do
    arch="${one#linux/}"; arch="${arch%%/*}"
    CHILD_DIGEST="$(registry_digest "$TAG-$arch")" && found=0 || found=$?
    if (( found == 0 )); then
        log "$REPO:$TAG-$arch already exists; reusing it for $one"
    elif (( found == 1 )); then
        CHILD_DIGEST="$(build_and_push "$TAG-$arch" "$one")" || exit 1
    else
        die "$REPO:$TAG-$arch exists, but its digest could not be read"
    fi
    children+=(--child "$one=$CHILD_DIGEST")
done
log "publishing the index of ${PLATFORMS[*]} as $REPO:$TAG"
# The password only ever travels through the pipe, as for docker login.
aws ecr get-login-password "${aws_args[@]}" \
    | (cd "$ROOT" && "$PYTHON" -m infra.multiarch publish --destination "$REPO:$TAG" \
        "${children[@]}" "${publish_args[@]}") \
    || die "publishing the index $REPO:$TAG failed"
