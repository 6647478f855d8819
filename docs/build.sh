#!/usr/bin/env bash
# Builds the documentation site: the pages of docs/ and the API reference of every src/ project, into artifacts/docs-site.
# DocFX is the dotnet tool pinned in .config/dotnet-tools.json. Every DocFX warning is an error (a broken link or
# bookmark, a missing file, an unresolved reference), so the build passes only when the site is whole.
# Usage: bash docs/build.sh [--serve]   (--serve previews the site on http://localhost:8080)
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet tool restore >/dev/null
rm -rf artifacts/docs-site docs/api/*.yml docs/api/.manifest
dotnet docfx docfx.json --warningsAsErrors "$@"
