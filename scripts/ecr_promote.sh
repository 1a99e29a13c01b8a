#!/usr/bin/env bash
# Manual promotion: copy a gated image from one ECR repository to another by digest, the
# copy `pulumi up` makes for a stack with promoteFrom. Run `scripts/ecr_promote.sh --help`.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/ecr_promote.sh SOURCE_IMAGE_REF DESTINATION_REPOSITORY_URL TAG
       scripts/ecr_promote.sh -h | --help

Copy SOURCE_IMAGE_REF (<registry>/<repository>@sha256:..., e.g. `pulumi stack output
imageRef --stack dev`) to DESTINATION_REPOSITORY_URL under TAG (the source's content tag,
`pulumi stack output imageTag --stack dev`), byte for byte: the destination serves the same
manifest, hence the same digest. Nothing is built.

  1. one login per registry: aws ecr get-login-password (user AWS), handed to the copier on
     standard input, never as an argument;
  2. TAG already holding that digest: success, nothing copied; holding another digest:
     refused, naming both (a tag is never moved);
  3. otherwise every blob the destination lacks is mounted (same registry) or copied, the
     manifest (and, for an index, every child) is put unchanged, and the tag read back;
  4. prints DESTINATION_REPOSITORY_URL@sha256:... on stdout.
Gate the copy afterwards (`pulumi up` on the destination stack does, or python -m
infra.scan_gate).

Environment:
  AWS_ENDPOINT_URL   optional ECR API endpoint (tests aim it at a local moto server)
  AWS_REGION, AWS_DEFAULT_REGION
                     used for a registry whose host does not name a region
  PYTHON             interpreter with the project's deps (default: .venv/bin/python, python3)
Credentials come from the usual AWS chain; none are read or stored here.
Exit status: 0 copied or already there, 1 failure or refusal, 2 bad usage.
EOF
}

die() { echo "ecr_promote: $*" >&2; exit 1; }
usage_error() { echo "ecr_promote: $* (see --help)" >&2; exit 2; }

args=()
while (( $# > 0 )); do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        -*) usage_error "unknown option '$1'" ;;
        *) args+=("$1") ;;
    esac
    shift
done
(( ${#args[@]} == 3 )) || usage_error "expected SOURCE_IMAGE_REF DESTINATION_REPOSITORY_URL TAG"
SOURCE="${args[0]}"
DESTINATION="${args[1]}"
TAG="${args[2]}"
[[ "$SOURCE" =~ ^[^/@]+/[^@]+@sha256:[0-9a-f]{64}$ ]] \
    || usage_error "SOURCE_IMAGE_REF must be <registry>/<repository>@sha256:<64 hex>, got '$SOURCE'"
[[ "$DESTINATION" =~ ^[^/@:]+(:[0-9]+)?/[^@:]+$ ]] \
    || usage_error "DESTINATION_REPOSITORY_URL must be <registry>/<repository> (no tag), got '$DESTINATION'"
[[ "$TAG" =~ ^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$ ]] || usage_error "TAG '$TAG' is not an image tag"

command -v aws >/dev/null 2>&1 || die "the aws CLI is not installed (https://aws.amazon.com/cli/)"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -n "${PYTHON:-}" ]]; then
    :
elif [[ -x "$ROOT/.venv/bin/python" ]]; then
    PYTHON="$ROOT/.venv/bin/python"
else
    PYTHON="python3"
fi

# One `host<TAB>AWS<TAB>password` line per registry; the region from an ECR host, else the env.
login_line() {
    local host="$1" region
    if [[ "$host" =~ ^[0-9]{12}\.dkr\.ecr(-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$ ]]; then
        region="${BASH_REMATCH[2]}"
    else
        region="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
    fi
    [[ -n "$region" ]] || die "cannot tell the AWS region of '$host': set AWS_REGION"
    local endpoint=()
    [[ -z "${AWS_ENDPOINT_URL:-}" ]] || endpoint=(--endpoint-url "$AWS_ENDPOINT_URL")
    local password
    password="$(aws ecr get-login-password --region "$region" "${endpoint[@]}")" \
        || die "aws ecr get-login-password for $host failed (check AWS credentials and region)"
    printf '%s\tAWS\t%s\n' "$host" "$password"
}

SOURCE_HOST="${SOURCE%%/*}"
DESTINATION_HOST="${DESTINATION%%/*}"
# Logins first, so a failed one stops here; kept in a variable, never in argv or the env.
LOGINS="$(login_line "$SOURCE_HOST")"
if [[ "$DESTINATION_HOST" != "$SOURCE_HOST" ]]; then
    LOGINS+=$'\n'"$(login_line "$DESTINATION_HOST")"
fi
printf '%s\n' "$LOGINS" | (cd "$ROOT" && "$PYTHON" -m infra.promotion "$SOURCE" "$DESTINATION" "$TAG")
