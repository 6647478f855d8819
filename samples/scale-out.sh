#!/usr/bin/env bash
# Two sample hosts sharing one local Redis (docs/scale-out.md): instance A at http://127.0.0.1:3001 (WebSocket
# 3002) and instance B at http://127.0.0.1:3011 (WebSocket 3012). A change made on either page reaches both pages.
# Uses a redis-server already answering on REDIS_PORT (default 6379), or starts one without persistence and stops it
# on exit. Ctrl+C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."

port=${REDIS_PORT:-6379}
started_redis=""
if ! redis-cli -p "$port" ping >/dev/null 2>&1; then
  command -v redis-server >/dev/null || { echo "redis-server is not installed: sudo apt-get install redis-server" >&2; exit 1; }
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes >/dev/null
  started_redis=1
  until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done
fi

# One secret for both instances: a token signed for one is valid on the other (a dashboard may reconnect to either).
export REDIS_URL="redis://127.0.0.1:$port"
export AUTH_SECRET="${AUTH_SECRET:-$(head -c 32 /dev/urandom | base64)}"
dotnet build samples/LiveUpdates.SampleHost -c Release -v quiet -nologo
dll=samples/LiveUpdates.SampleHost/bin/Release/net10.0/LiveUpdates.SampleHost.dll

pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  [ -n "$started_redis" ] && redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

DOTNET_ENVIRONMENT=Development API_PORT=3001 WS_PORT=3002 dotnet "$dll" & pids+=($!)
DOTNET_ENVIRONMENT=Development API_PORT=3011 WS_PORT=3012 dotnet "$dll" & pids+=($!)
echo "instance A: http://127.0.0.1:3001   instance B: http://127.0.0.1:3011   (Redis $REDIS_URL)"
wait
