#!/usr/bin/env bash
# Runs the whole LiveUpdates test suite: the README's test command, and what .ci/run calls.
# Installs what the tests need when it is missing (Debian's chromium for the browser tests, redis-server for the
# Redis broker's tests, the npm workspace's locked
# packages: the JS client's dev dependencies and the Next.js sample's), builds once (the .NET solution, the client
# package), runs every .NET test project (one at a time: 2 cores; the browser tests build and start the Next.js
# sample themselves), the JS client's node tests and its React tests (vitest), builds the documentation site (DocFX,
# counted as one test), and ends with one line summing every test that ran: "tests: N passed, M failed[, K skipped]".
set -uo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# apt_install PACKAGE... : installs Debian packages that are missing (as root, or through sudo).
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing ${missing[*]}"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

started=$(date +%s)
log=$(mktemp)
tap=$(mktemp)
trap 'rm -f "$log" "$tap"' EXIT
extra_failed=0
rm -rf artifacts/browser-tests # screenshots of this run only

# The browser tests drive Debian's Chromium (never a downloaded browser); without it they fail, they do not skip.
apt_install chromium || echo "could not install chromium: the browser tests will fail"

# The Redis tests start their own redis-server (Debian's package) on free ports, the Redis Cluster tests create their
# cluster with redis-cli (redis-tools); without them they fail, never skip.
apt_install redis-server redis-tools || echo "could not install redis-server/redis-tools: the Redis tests will fail"

# Node.js runs the JS client's tests (this machine image ships Node.js 20; elsewhere Debian's nodejs is installed).
command -v node >/dev/null 2>&1 || apt_install nodejs npm || echo "could not install nodejs: the JS client's tests will fail"

# The npm workspace (package.json at the root: clients/js and samples/nextjs-dashboard), exactly as locked, then the
# client package's build (dist/: what the tests, the Next.js sample and the sample host's page use).
if command -v npm >/dev/null 2>&1; then
  js_started=$(date +%s)
  npm ci --no-audit --no-fund --loglevel=error || echo "npm ci failed: the JS tests and the Next.js browser tests will fail"
  npm run --silent build || echo "the client package did not build: the JS tests and the Next.js browser tests will fail"
  echo "npm ci + client build: $(( $(date +%s) - js_started )) s"
fi

if ! dotnet build LiveUpdates.sln -c Release 2>&1 | tee "$log" | grep -E "error|Warn|Elapsed" ; then :; fi
if ! grep -q "Build succeeded" "$log"; then
  echo "build failed"
  echo "tests: 0 passed, 1 failed"
  exit 1
fi

# -m:1 runs the test projects one after the other: the browser tests and the socket tests both need the CPU.
dotnet test LiveUpdates.sln -c Release --no-build -m:1 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Sum the per-project summaries: "Passed!  - Failed: 0, Passed: 155, Skipped: 0, Total: 155, ...".
read -r passed failed skipped projects < <(grep -E '^(Passed|Failed)!' "$log" | awk -F'[:,]' '
  { f += $2; p += $4; s += $6; n++ } END { printf "%d %d %d %d\n", p, f, s, n }')

if [ "${projects:-0}" -eq 0 ]; then
  echo "no .NET test summary found"
  extra_failed=$((extra_failed + 1))
elif [ "$status" -ne 0 ] && [ "${failed:-0}" -eq 0 ]; then
  # The runner failed without a failed test (a crash or an aborted test host): count it as a failure.
  extra_failed=$((extra_failed + 1))
fi
echo ".NET: ${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped in ${projects:-0} projects"

# The JS client's unit and type tests: node's built-in runner, human-readable here, TAP to a file for the counts.
node_passed=0 node_failed=0 node_skipped=0
if command -v node >/dev/null 2>&1; then
  node --test --test-reporter=spec --test-reporter-destination=stdout --test-reporter=tap --test-reporter-destination="$tap" clients/js/test/
  node_status=$?
  count() { grep -E "^# $1 [0-9]+$" "$tap" | tail -1 | awk '{ print $3 }'; }
  node_passed=$(count pass); node_failed=$(( $(count fail) + $(count cancelled) ))
  node_skipped=$(( $(count skipped) + $(count todo) ))
  if [ -z "$(count tests)" ] || { [ "$node_status" -ne 0 ] && [ "$node_failed" -eq 0 ]; }; then
    echo "node's test runner failed without a summary"
    node_failed=$((node_failed + 1))
  fi
else
  echo "node not found: the JS client's tests could not run"
  node_failed=1
fi
echo "node: ${node_passed} passed, ${node_failed} failed, ${node_skipped} skipped"

# The React bindings' tests (React 19 + Testing Library in jsdom, vitest); counts from its JSON report.
vitest_passed=0 vitest_failed=0 vitest_skipped=0
vitest_json=$(mktemp)
if [ -x node_modules/.bin/vitest ]; then
  (cd clients/js && ../../node_modules/.bin/vitest run --reporter=default --reporter=json --outputFile="$vitest_json")
  vitest_status=$?
  if read -r vitest_passed vitest_failed vitest_skipped < <(node -e '
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      console.log(r.numPassedTests, r.numFailedTests, r.numPendingTests + r.numTodoTests);' "$vitest_json" 2>/dev/null); then
    if [ "$vitest_status" -ne 0 ] && [ "$vitest_failed" -eq 0 ]; then vitest_failed=1; fi
  else
    echo "vitest failed without a report"
    vitest_passed=0 vitest_failed=1 vitest_skipped=0
  fi
else
  echo "vitest not found (npm ci failed?): the React tests could not run"
  vitest_failed=1
fi
rm -f "$vitest_json"
echo "vitest: ${vitest_passed} passed, ${vitest_failed} failed, ${vitest_skipped} skipped"

# The documentation site (docs/ + the API reference of every src/ project) with DocFX, every warning an error (a broken
# link or bookmark, a missing file): one test that passes or fails. The site goes to artifacts/docs-site.
docs_passed=0 docs_failed=0
docs_started=$(date +%s)
if bash docs/build.sh > "$log" 2>&1; then
  docs_passed=1
  echo "docs: the site built with no warning in $(( $(date +%s) - docs_started )) s"
else
  docs_failed=1
  grep -E "warning|error" "$log" | tail -40
  echo "docs: the site did not build (every DocFX warning is an error; bash docs/build.sh shows them all)"
fi

shots=$(ls artifacts/browser-tests/*.png 2>/dev/null | wc -l)
[ "$shots" -gt 0 ] && echo "screenshots of the dashboard page (browser tests): $(pwd)/artifacts/browser-tests/ ($shots files)"
echo "duration: $(( $(date +%s) - started )) s"

passed=$(( ${passed:-0} + node_passed + vitest_passed + docs_passed ))
failed=$(( ${failed:-0} + node_failed + vitest_failed + docs_failed + extra_failed ))
skipped=$(( ${skipped:-0} + node_skipped + vitest_skipped ))
line="tests: ${passed} passed, ${failed} failed"
[ "$skipped" -gt 0 ] && line="$line, ${skipped} skipped"
echo "$line"
[ "$failed" -eq 0 ]
