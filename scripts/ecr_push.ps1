#Requires -Version 7.2
<#
.SYNOPSIS
Manual fallback for publishing the API image when Pulumi cannot run (e.g. a locked state).

.DESCRIPTION
Publishes the API image (server/) to an ECR repository under the program's content tag,
unless the repository already holds that tag. The same steps as scripts/ecr_push.sh:
  1. repository URL: the argument, else `pulumi stack output repositoryUrl`
     (<registry>/<name>, without tag or digest);
  2. `aws ecr get-login-password | docker login --username AWS --password-stdin <registry>`;
  3. tag (sha- + 12 hex) and build args from `python -m infra.image_tag`, the module the
     Pulumi program uses, so both build on the base pinned by `ARG BASE_IMAGE=` at the top
     of server/Dockerfile and agree on the tag;
  4. tag already in the repository: success, nothing is built or pushed (immutable tags:
     ECR refuses a second push of a tag, even with the same digest);
     otherwise: build for -Platform (one image manifest: --provenance=false --sbom=false
     where the builder knows them) and push once;
  5. print REPOSITORY_URL@sha256:... (the digest the registry serves the tag by: the
     index's for several platforms).

Needs PowerShell 7.2 or later (Windows PowerShell 5.1 turns a native command's redirected
stderr into a terminating error under $ErrorActionPreference = 'Stop').

Environment: AWS_ENDPOINT_URL (optional ECR API endpoint), AWS_REGION / AWS_DEFAULT_REGION
(when the URL names no region), PYTHON (interpreter with the project's deps), PIP_INDEX_URL
and BUILD_NETWORK (optional build settings). Credentials come from the usual AWS chain.

BASE_IMAGE is FOR OFFLINE TESTS ONLY: build on this base instead of the pinned one. The tag
covers the base, so such an image gets a tag of its own and can never be pushed under the
real content tag. With several platforms it must be a multi-platform reference, as the pinned
base is.

Exit status: 0 pushed or already there, 1 failure, 2 bad usage.

.PARAMETER RepositoryUrl
<registry>/<name> of the ECR repository; default: `pulumi stack output repositoryUrl`.

.PARAMETER Platform
Build platform(s), hashed into the tag: linux/amd64 (default), linux/arm64 or
linux/arm64/v8, or a comma-separated set such as linux/amd64,linux/arm64. Pass the stack's
`imagePlatforms` (or `imagePlatform`) in its order so the tag is the one the program uses.
With two or more: one build and push per platform under <tag>-<arch>, then one image index
under the tag, published by `python -m infra.multiarch publish` exactly as `pulumi up` does.

.PARAMETER Help
Print this help and exit (also -h, --help, -?).

.EXAMPLE
./scripts/ecr_push.ps1 123456789012.dkr.ecr.eu-west-2.amazonaws.com/retail-api

.EXAMPLE
./scripts/ecr_push.ps1 -Platform linux/arm64 123456789012.dkr.ecr.eu-west-2.amazonaws.com/retail-api

.EXAMPLE
./scripts/ecr_push.ps1 -Platform linux/amd64,linux/arm64 123456789012.dkr.ecr.eu-west-2.amazonaws.com/retail-api
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [string]$RepositoryUrl,
    [string]$Platform = 'linux/amd64',
    [Alias('h')]
    [switch]$Help
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
# Native commands' exit codes are checked one by one (Assert-LastExit): the manifest probe
# below is expected to fail for a new tag, so they must not throw by themselves.
$PSNativeCommandUseErrorActionPreference = $false

function Fail([string]$Message) {
    [Console]::Error.WriteLine("ecr_push: $Message")
    exit 1
}

function Write-Log([string]$Message) {
    [Console]::Error.WriteLine("ecr_push: $Message")
}

function Assert-LastExit([string]$What) {
    if ($LASTEXITCODE -ne 0) { Fail "$What failed (exit code $LASTEXITCODE)" }
}

# Runs a native command with its stderr discarded and returns its stdout lines; the caller
# checks $LASTEXITCODE. 'Stop' is lifted for the call: some PowerShell versions turn redirected
# native stderr into a terminating error, which would abort on an expected failure such as
# "manifest unknown".
function Invoke-NativeQuiet([string]$Command, [string[]]$Arguments) {
    $saved = $ErrorActionPreference
    $ErrorActionPreference = 'Continue'
    try { & $Command @Arguments 2>$null }
    finally { $ErrorActionPreference = $saved }
}

# Arguments first: help must work on a machine without aws or docker. `--help` is not a
# PowerShell parameter token, so it arrives as the positional argument.
if ($Help -or $RepositoryUrl -in @('--help', '/?')) {
    Get-Help -Full $PSCommandPath
    exit 0
}
if ($RepositoryUrl -like '-*') {
    [Console]::Error.WriteLine("ecr_push: unknown option '$RepositoryUrl' (see -Help)")
    exit 2
}
# The platforms the program's `imagePlatform(s)` accept (infra/config/parsers.py PLATFORMS).
$Platforms = @($Platform.Split(','))
$seenArches = @()
foreach ($one in $Platforms) {
    if ($one -cnotin @('linux/amd64', 'linux/arm64', 'linux/arm64/v8')) {
        [Console]::Error.WriteLine("ecr_push: -Platform must be linux/amd64, linux/arm64 or linux/arm64/v8 (comma-separated for several), got '$one' (see -Help)")
        exit 2
    }
    $arch = $one.Split('/')[1]
    if ($arch -cin $seenArches) {
        [Console]::Error.WriteLine("ecr_push: -Platform lists $arch twice ('$Platform'); list each architecture once (see -Help)")
        exit 2
    }
    $seenArches += $arch
}

if (-not (Get-Command aws -ErrorAction SilentlyContinue)) {
    Fail 'the aws CLI is not installed (https://aws.amazon.com/cli/)'
}
if (-not (Get-Command docker -ErrorAction SilentlyContinue)) {
    Fail 'docker is not installed or not on PATH'
}

$Root = Split-Path -Parent $PSScriptRoot
$Context = Join-Path $Root 'server'

$Python = $env:PYTHON
if (-not $Python) {
    $candidates = @((Join-Path $Root '.venv/bin/python'), (Join-Path $Root '.venv/Scripts/python.exe'))
    $Python = $candidates | Where-Object { Test-Path $_ } | Select-Object -First 1
    if (-not $Python) { $Python = 'python' }
}

# 1. Repository URL.
if (-not $RepositoryUrl -and (Get-Command pulumi -ErrorAction SilentlyContinue)) {
    Push-Location $Root
    try {
        $output = @(Invoke-NativeQuiet 'pulumi' @('stack', 'output', 'repositoryUrl'))
        $RepositoryUrl = if ($LASTEXITCODE -eq 0 -and $output.Count -gt 0) { [string]$output[0] } else { '' }
    } catch { $RepositoryUrl = '' }
    finally { Pop-Location }
}
if (-not $RepositoryUrl) {
    Fail 'no repository URL: pass it as the first argument, or run where `pulumi stack output repositoryUrl` works'
}
if ($RepositoryUrl -notmatch '/') {
    Fail "repository URL '$RepositoryUrl' must look like <registry>/<name>"
}
if (($RepositoryUrl.Split('/')[-1] -match ':') -or ($RepositoryUrl -match '@')) {
    Fail "repository URL '$RepositoryUrl' must be given without tag or digest"
}
$Registry = $RepositoryUrl.Split('/')[0]

if ($Registry -match '\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com') {
    $Region = $Matches[1]
} elseif ($env:AWS_REGION) {
    $Region = $env:AWS_REGION
} else {
    $Region = $env:AWS_DEFAULT_REGION
}
if (-not $Region) { Fail "cannot tell the AWS region from '$Registry': set AWS_REGION" }

# 2. Login. The password only ever travels through the pipe.
$awsArgs = @('--region', $Region)
if ($env:AWS_ENDPOINT_URL) { $awsArgs += @('--endpoint-url', $env:AWS_ENDPOINT_URL) }
Write-Log "logging in to $Registry"
& aws ecr get-login-password @awsArgs | & docker login --username AWS --password-stdin $Registry | Out-Null
if ($LASTEXITCODE -ne 0) { Fail "docker login to $Registry failed (check AWS credentials and region)" }

# 3. Tag and build args from the program's own module; BASE_IMAGE (tests) goes into both.
if ($Platforms.Count -gt 1) {
    $tagArgs = @('-m', 'infra.multiarch', 'tag', '--context', $Context, '--platforms', $Platform)
} else {
    $tagArgs = @('-m', 'infra.image_tag', '--context', $Context, '--platform', $Platform)
}
if ($env:BASE_IMAGE) {
    Write-Log "BASE_IMAGE=$($env:BASE_IMAGE) replaces the pinned base (tests only); the tag covers it"
    $tagArgs += @('--base-image', $env:BASE_IMAGE)
}
Push-Location $Root
try {
    # Captured into variables first, so a failure is caught before anything is built.
    $Tag = (& $Python @tagArgs)
    if ($LASTEXITCODE -ne 0) {
        Fail "could not compute the content tag with $Python -m infra.image_tag (set PYTHON)"
    }
    $planArgs = @(& $Python @tagArgs --build-args)
    if ($LASTEXITCODE -ne 0) {
        Fail "could not compute the build args with $Python -m infra.image_tag --build-args (set PYTHON)"
    }
} finally { Pop-Location }
if ($Tag -notmatch '^sha-[0-9a-f]{12}$') { Fail "unexpected tag '$Tag' from infra.image_tag" }

$buildArgs = @()
foreach ($arg in $planArgs) {
    if (-not $arg) { continue }
    if ($arg -notmatch '^[A-Za-z_][A-Za-z0-9_]*=') { Fail "unexpected build arg '$arg' from infra.image_tag" }
    $buildArgs += @('--build-arg', $arg)
}
if ($buildArgs.Count -eq 0) { Fail 'infra.image_tag printed no build args' }
if ($env:PIP_INDEX_URL) { $buildArgs += @('--build-arg', "PIP_INDEX_URL=$($env:PIP_INDEX_URL)") }
if ($env:BUILD_NETWORK) { $buildArgs += @('--network', $env:BUILD_NETWORK) }

$Ref = "${RepositoryUrl}:$Tag"
$manifestArgs = @('manifest', 'inspect', '--verbose')
$publishArgs = @()
if ($Registry -match '^(127\.0\.0\.1|localhost)(:[0-9]+)?$') {
    $manifestArgs += '--insecure'
    $publishArgs += '--insecure'
}

# The digest the registry serves $Ref by, or $null when the tag is not there. A
# single-platform image's verbose manifest names its digest, so no pull is needed; for a
# multi-platform index it lists the per-platform manifests, and only a pull tells the digest.
function Get-RegistryDigest([string]$Reference = $Ref) {
    $Ref = $Reference
    $manifest = Invoke-NativeQuiet 'docker' ($manifestArgs + @($Ref))
    if ($LASTEXITCODE -ne 0) { return $null }
    $digest = ''
    try {
        $parsed = ($manifest -join "`n") | ConvertFrom-Json -NoEnumerate
        if ($parsed -isnot [array]) { $digest = [string]$parsed.Descriptor.digest }
    } catch { $digest = '' }
    if ($digest -match '^sha256:[0-9a-f]{64}$') { return $digest }
    Write-Log "no single-image digest in the manifest of $Ref (a multi-platform index?); pulling it to learn its digest"
    $pulled = @(& docker pull $Ref)
    Assert-LastExit 'docker pull'
    # The pull's own `Digest:` line is the tag's (the index's): the pulled image's
    # RepoDigests may list a child's digest first when this engine pushed that child.
    $found = $pulled | Where-Object { $_ -match '^Digest: sha256:[0-9a-f]{64}$' } | Select-Object -First 1
    if (-not $found) { Fail "pulled $Ref, but docker reported no digest" }
    return $found.Split(' ')[1]
}

# 4. The tag names its content: if the registry has it, that content is published already.
$existing = Get-RegistryDigest
if ($existing) {
    Write-Log "$Ref already exists; same content tag, nothing to build or push"
    Write-Output "$RepositoryUrl@$existing"
    exit 0
}

# One single-platform image manifest, never an index: ECR scans image manifests, not indexes,
# and a BuildKit client (buildx 0.10 and later) attaches a provenance attestation by default,
# which turns the pushed tag into an OCI index
# (https://docs.docker.com/build/metadata/attestations/#creating-attestations).
# Only a builder that knows the flags gets them; the legacy builder (Debian's docker 20.10)
# attaches nothing and refuses flags it does not know.
$buildHelp = @(Invoke-NativeQuiet 'docker' @('build', '--help')) -join "`n"
$attestationArgs = @()
if ($buildHelp.Contains('--provenance')) { $attestationArgs += '--provenance=false' }
if ($buildHelp.Contains('--sbom')) { $attestationArgs += '--sbom=false' }

# Builds ${RepositoryUrl}:$ChildTag for $Platform, pushes it once; returns the registry's digest.
function Publish-Build([string]$ChildTag, [string]$Platform) {
    $ChildRef = "${RepositoryUrl}:$ChildTag"
    Write-Log "building $ChildRef for $Platform"
    & docker build --platform $Platform @attestationArgs @buildArgs --tag $ChildRef $Context | ForEach-Object { [Console]::Error.WriteLine($_) }
    Assert-LastExit 'docker build'
    Write-Log "pushing $ChildRef"
    & docker push $ChildRef | ForEach-Object { [Console]::Error.WriteLine($_) }
    if ($LASTEXITCODE -ne 0) {
        # Someone else may have pushed the same tag meanwhile; an immutable tag then refuses ours.
        $existing = Get-RegistryDigest $ChildRef
        if (-not $existing) { Fail "docker push $ChildRef failed" }
        Write-Log "$ChildRef appeared while pushing (another push won); using the registry's digest"
        return $existing
    }
    $digests = & docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' $ChildRef
    Assert-LastExit 'docker image inspect'
    $DigestRef = $digests | Where-Object { $_ -like "$RepositoryUrl@sha256:*" } | Select-Object -First 1
    if (-not $DigestRef) { Fail "pushed, but no digest for $ChildRef was recorded" }
    return $DigestRef.Split('@')[1]
}

if ($Platforms.Count -eq 1) {
    # 5. The digest the registry knows the image by.
    $digest = Publish-Build $Tag $Platform
    Write-Output "$RepositoryUrl@$digest"
    exit 0
}

# Several platforms: each child under <tag>-<arch> (reused when the registry holds it, as after
# a run that stopped before the index), then the index of them under the tag.
# BuildKit builds them: Docker 20.10's classic builder takes a base the local store holds for
# another platform (its one image per reference) and builds on it, the wrong architecture.
$env:DOCKER_BUILDKIT = '1'
$children = @()
foreach ($one in $Platforms) {
    $childTag = "$Tag-$($one.Split('/')[1])"
    $childDigest = Get-RegistryDigest "${RepositoryUrl}:$childTag"
    if ($childDigest) {
        Write-Log "${RepositoryUrl}:$childTag already exists; reusing it for $one"
    } else {
        $childDigest = Publish-Build $childTag $one
    }
    $children += @('--child', "$one=$childDigest")
}
Write-Log "publishing the index of $($Platforms -join ' ') as $Ref"
# The password only ever travels through the pipe, as for docker login.
Push-Location $Root
try {
    $published = @(& aws ecr get-login-password @awsArgs | & $Python -m infra.multiarch publish --destination $Ref @children @publishArgs)
    Assert-LastExit 'publishing the index'
} finally { Pop-Location }
Write-Output $published[-1]
