#!/usr/bin/env bash
# Runs the whole LiveUpdates test suite: the README's test command, and what .ci/run calls.
# Installs what the tests need when it is missing (nothing beyond the .NET SDK yet; later issues add
# Debian packages here, e.g. redis-server or chromium), builds once, runs every test project, and ends
# with one line: "tests: N passed, M failed[, K skipped]".
set -uo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# apt_install PACKAGE... : installs Debian packages that are missing (as root, or through sudo).
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}

log=$(mktemp)
trap 'rm -f "$log"' EXIT

if ! dotnet build LiveUpdates.sln -c Release 2>&1 | tee "$log" | grep -E "error|Warn|Elapsed" ; then :; fi
if ! grep -q "Build succeeded" "$log"; then
  echo "build failed"
  echo "tests: 0 passed, 1 failed"
  exit 1
fi

dotnet test LiveUpdates.sln -c Release --no-build 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Sum the per-project summaries: "Passed!  - Failed: 0, Passed: 155, Skipped: 0, Total: 155, ...".
read -r passed failed skipped projects < <(grep -E '^(Passed|Failed)!' "$log" | awk -F'[:,]' '
  { f += $2; p += $4; s += $6; n++ } END { printf "%d %d %d %d\n", p, f, s, n }')

if [ "${projects:-0}" -eq 0 ]; then
  echo "no test summary found"
  failed=$(( ${failed:-0} + 1 ))
elif [ "$status" -ne 0 ] && [ "${failed:-0}" -eq 0 ]; then
  # The runner failed without a failed test (a crash or an aborted test host): count it as a failure.
  failed=1
fi

line="tests: ${passed:-0} passed, ${failed:-0} failed"
[ "${skipped:-0}" -gt 0 ] && line="$line, ${skipped} skipped"
echo "$line"
[ "${failed:-0}" -eq 0 ] && [ "$status" -eq 0 ]
