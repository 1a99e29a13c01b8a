<#
.SYNOPSIS
Manual fallback for publishing the API image when Pulumi cannot run (e.g. a locked state).

.DESCRIPTION
The same steps as scripts/ecr_push.sh:
  1. repository URL: the argument, else `pulumi stack output repositoryUrl`;
  2. `aws ecr get-login-password | docker login --username AWS --password-stdin <registry>`;
  3. build server/ for linux/amd64, tagged with the program's content tag (`sha-` + 12 hex)
     and build args, both from `python -m infra.image_tag`;
  4. push, unless that tag is already in the repository;
  5. print the pushed reference by digest (REPOSITORY_URL@sha256:...).

Environment: AWS_ENDPOINT_URL (optional ECR API endpoint), AWS_REGION / AWS_DEFAULT_REGION
(when the URL names no region), PYTHON (interpreter with the project's deps), BASE_IMAGE,
PIP_INDEX_URL and BUILD_NETWORK (optional build settings). Credentials come from the usual AWS chain.

.EXAMPLE
./scripts/ecr_push.ps1 123456789012.dkr.ecr.eu-west-2.amazonaws.com/retail-api
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [string]$RepositoryUrl
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

function Assert-LastExit([string]$What) {
    if ($LASTEXITCODE -ne 0) { Fail "$What failed (exit code $LASTEXITCODE)" }
}

if (-not (Get-Command aws -ErrorAction SilentlyContinue)) {
    Fail 'the aws CLI is not installed (https://aws.amazon.com/cli/)'
}
if (-not (Get-Command docker -ErrorAction SilentlyContinue)) {
    Fail 'docker is not installed or not on PATH'
}

$Root = Split-Path -Parent $PSScriptRoot
$Context = Join-Path $Root 'server'
$Platform = 'linux/amd64'

$Python = $env:PYTHON
if (-not $Python) {
    $candidates = @((Join-Path $Root '.venv/bin/python'), (Join-Path $Root '.venv/Scripts/python.exe'))
    $Python = $candidates | Where-Object { Test-Path $_ } | Select-Object -First 1
    if (-not $Python) { $Python = 'python' }
}

# 1. Repository URL.
if (-not $RepositoryUrl -and (Get-Command pulumi -ErrorAction SilentlyContinue)) {
    Push-Location $Root
    try { $RepositoryUrl = (& pulumi stack output repositoryUrl 2>$null) } catch { $RepositoryUrl = '' }
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
[Console]::Error.WriteLine("ecr_push: logging in to $Registry")
& aws ecr get-login-password @awsArgs | & docker login --username AWS --password-stdin $Registry | Out-Null
if ($LASTEXITCODE -ne 0) { Fail "docker login to $Registry failed (check AWS credentials and region)" }

# 3. Tag and build args from the program's own module.
Push-Location $Root
try {
    $Tag = (& $Python -m infra.image_tag --context $Context --platform $Platform)
    Assert-LastExit "$Python -m infra.image_tag"
    $planArgs = @(& $Python -m infra.image_tag --context $Context --platform $Platform --build-args)
    Assert-LastExit "$Python -m infra.image_tag --build-args"
} finally { Pop-Location }
if ($Tag -notmatch '^sha-[0-9a-f]{12}$') { Fail "unexpected tag '$Tag' from infra.image_tag" }

$buildArgs = @()
foreach ($arg in $planArgs) { if ($arg) { $buildArgs += @('--build-arg', $arg) } }
if ($env:BASE_IMAGE) { $buildArgs += @('--build-arg', "BASE_IMAGE=$($env:BASE_IMAGE)") }
if ($env:PIP_INDEX_URL) { $buildArgs += @('--build-arg', "PIP_INDEX_URL=$($env:PIP_INDEX_URL)") }
if ($env:BUILD_NETWORK) { $buildArgs += @('--network', $env:BUILD_NETWORK) }

$Ref = "${RepositoryUrl}:$Tag"
[Console]::Error.WriteLine("ecr_push: building $Ref for $Platform")
& docker build --platform $Platform @buildArgs --tag $Ref $Context | ForEach-Object { [Console]::Error.WriteLine($_) }
Assert-LastExit 'docker build'

# 4. Push, unless the content tag is already there.
$manifestArgs = @()
if ($Registry -match '^(127\.0\.0\.1|localhost)(:[0-9]+)?$') { $manifestArgs += '--insecure' }
& docker manifest inspect @manifestArgs $Ref 2>$null | Out-Null
if ($LASTEXITCODE -eq 0) {
    [Console]::Error.WriteLine("ecr_push: $Ref already exists; same content tag, nothing to push")
    & docker pull $Ref | Out-Null
    Assert-LastExit 'docker pull'
} else {
    [Console]::Error.WriteLine("ecr_push: pushing $Ref")
    & docker push $Ref | ForEach-Object { [Console]::Error.WriteLine($_) }
    Assert-LastExit 'docker push'
}

# 5. The digest the registry knows the image by.
$digests = & docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' $Ref
Assert-LastExit 'docker image inspect'
$DigestRef = $digests | Where-Object { $_ -like "$RepositoryUrl@sha256:*" } | Select-Object -First 1
if (-not $DigestRef) { Fail "pushed, but no digest for $Ref was recorded" }
Write-Output $DigestRef
